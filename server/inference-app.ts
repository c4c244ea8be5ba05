import express from 'express';
import type { InferenceEngine } from './bridge/inference-engine.js';
import { errorHandler, resourceNotFound } from './errors.js';
import { log } from './log.js';
import type { Metrics } from './metrics.js';
import type { ModelStore } from './model-store.js';
import { inferenceApiDescription } from './openapi.js';
import { apiDescriptionRouter } from './routes/api-description.js';
import { demoRouter, type DemoFiles, type DemoSettings } from './routes/demo.js';
import { healthRouter } from './routes/health.js';
import { kserveRouter } from './routes/kserve.js';
import type { InferenceGuards } from './routes/inference-request.js';
import { predictionsRouter } from './routes/predictions.js';

export interface InferenceAppDeps {
  store: ModelStore;
  engine: InferenceEngine;
  /** What every inference request, of either protocol, goes through. */
  guards: InferenceGuards;
  /** Ready to take requests: /ping and /v2/health/ready. */
  isHealthy: () => boolean;
  version: string;
  /** Token check, when authorization is on. */
  auth?: express.RequestHandler;
  metrics?: Metrics;
  /** CORS headers and preflight answers, when configured. */
  cors?: express.RequestHandler;
  /** The demo page at `/` and what it loads; none when absent. */
  demo?: { files: DemoFiles; settings: DemoSettings };
}

export function createInferenceApp({ store, engine, guards, isHealthy, version, auth, metrics, cors, demo }: InferenceAppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  if (cors) app.use(cors);
  app.use((req, res, next) => {
    const t0 = performance.now();
    res.on('finish', () => log.access({ method: req.method, path: req.path, status: res.statusCode, ms: Number((performance.now() - t0).toFixed(1)), ...res.locals['access'] }));
    next();
  });
  if (metrics) {
    app.use((_req, res, next) => {
      res.on('finish', () => metrics.observeHttp(res.statusCode));
      next();
    });
  }
  if (auth) app.use(auth);
  // The API description first: a router answers OPTIONS for its own paths when nothing else does.
  app.use(apiDescriptionRouter(inferenceApiDescription(version), { alsoGet: true, rootMethods: demo ? ['GET', 'OPTIONS'] : ['OPTIONS'] }));
  if (demo) app.use(demoRouter(demo.files, store, engine, demo.settings));
  app.use(healthRouter(isHealthy));
  app.use(predictionsRouter(store, engine, guards, metrics));
  app.use(kserveRouter(store, engine, { version, isReady: isHealthy, guards }));
  app.use((_req, _res, next) => next(resourceNotFound()));
  app.use(errorHandler);
  return app;
}
