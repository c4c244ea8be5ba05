import type express from 'express';
import { Type } from '@sinclair/typebox';
import { errorHandler, resourceNotFound } from './errors.js';
import { strictApp, strictRouter } from './express-app.js';
import type { Metrics } from './metrics.js';
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
      responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': Type.String() } } },
      handler: async (_req, res) => {
        res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
      },
    },
  ];
  const document = openApiDocument({ title: 'Metrics API', description: 'Prometheus metrics in the text format', version }, table);
  return { table, document };
}

/** The metrics listener: GET /metrics in Prometheus text format. */
export function createMetricsApp(metrics: Metrics, version: string, auth?: express.RequestHandler): express.Express {
  const app = strictApp();
  if (auth) app.use(auth);
  app.use(mount(strictRouter(), metricsOperations(metrics, version).table));
  app.use((_req, _res, next) => next(resourceNotFound()));
  app.use(errorHandler);
  return app;
}
