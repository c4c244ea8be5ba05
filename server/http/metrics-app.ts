import type express from 'express';
import { Type } from '@sinclair/typebox';
import { errorHandler, resourceNotFound } from '../errors.js';
import { strictApp, strictRouter } from './express-app.js';
import type { Metrics } from '../ops/metrics.js';
import { mount, openApiDocument, type Operation } from './operation.js';
import { apiDescriptionOperations } from './routes/api-description.js';

export function metricsOperations(metrics: Metrics, version: string): { table: Operation[]; document: object } {
  const table: Operation[] = [
    ...apiDescriptionOperations(() => document, false),
    {
      id: 'metrics',
      method: 'get',
      path: '/metrics',
      summary: 'Prometheus metrics',
      params: [
        {
          name: 'name[]',
          in: 'query',
          schema: Type.Array(Type.String()),
          description: "Only these metric families (TorchServe's metrics API: `?name[]=Requests2XX&name[]=ts_inference_requests_total`); a name no family has adds nothing. Without it, every family.",
        },
      ],
      responses: { 200: { description: 'Prometheus text format; empty when no family asked for exists', content: { 'text/plain': Type.String() } } },
      handler: async (req, res) => {
        res.type(metrics.registry.contentType).send(await metrics.text(askedNames(req.query)));
      },
    },
  ];
  const document = openApiDocument({ title: 'Metrics API', description: 'Prometheus metrics in the text format', version }, table);
  return { table, document };
}

/**
 * The families `?name[]=` asks for, or undefined when it asks for none in particular. The
 * 'simple' query parser keeps the key as sent: one `name[]` is a string, several an array.
 */
export function askedNames(query: Record<string, unknown>): string[] | undefined {
  const asked = query['name[]'];
  if (asked === undefined) return undefined;
  return (Array.isArray(asked) ? asked : [asked]).filter((n): n is string => typeof n === 'string');
}

/** The metrics listener: GET /metrics in Prometheus text format. */
export function createMetricsApp(metrics: Metrics, version: string, auth?: express.RequestHandler): express.Express {
  const app = strictApp();
  // Named, not left to Express's default: askedNames reads `name[]` as this parser gives it.
  app.set('query parser', 'simple');
  if (auth) app.use(auth);
  app.use(mount(strictRouter(), metricsOperations(metrics, version).table));
  app.use((_req, _res, next) => next(resourceNotFound()));
  app.use(errorHandler);
  return app;
}
