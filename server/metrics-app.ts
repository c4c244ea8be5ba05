import express from 'express';
import { errorHandler, resourceNotFound } from './errors.js';
import { strictApp, strictRouter } from './express-app.js';
import type { Metrics } from './metrics.js';
import { rejectOtherMethods } from './routes/method-guard.js';

/** The metrics listener: GET /metrics in Prometheus text format. */
export function createMetricsApp(metrics: Metrics, auth?: express.RequestHandler): express.Express {
  const app = strictApp();
  if (auth) app.use(auth);
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  const router = strictRouter();
  rejectOtherMethods(router, '/metrics', ['GET']);
  app.use(router);
  app.use((_req, _res, next) => next(resourceNotFound()));
  app.use(errorHandler);
  return app;
}
