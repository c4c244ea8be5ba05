import express from 'express';
import type { InferenceEngine } from './bridge/inference-engine.js';
import { errorHandler, resourceNotFound } from './errors.js';
import { strictApp } from './express-app.js';
import { log } from './log.js';
import type { Metrics } from './metrics.js';
import type { ModelStore } from './model-store.js';
import { inferenceApiDescription } from './openapi.js';
import { apiDescriptionRouter } from './routes/api-description.js';
import { demoModelsRouter, demoPageRouter, type DemoFiles, type DemoSettings } from './routes/demo.js';
import { healthRouter } from './routes/health.js';
import { kserveHealthRouter, kserveRouter } from './routes/kserve.js';
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
  const app = strictApp();
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
  // Who may call is decided by the route that matched, never by reading the path: the open
  // routes come first and answer only the exact paths they name (routing is case-sensitive and
  // strict); anything they do not answer meets the key check before any other route.
  // Open: the health probes, the API's public description (before the demo page: a router
  // answers OPTIONS for its own paths when nothing else does), the demo page's own files.
  app.use(healthRouter(isHealthy));
  app.use(kserveHealthRouter(isHealthy));
  app.use(apiDescriptionRouter(inferenceApiDescription(version), { alsoGet: true, rootMethods: demo ? ['GET', 'OPTIONS'] : ['OPTIONS'] }));
  if (demo) app.use(demoPageRouter(demo.files));
  if (auth) app.use(auth);
  if (demo) app.use(demoModelsRouter(store, engine, demo.settings));
  app.use(predictionsRouter(store, engine, guards, metrics));
  app.use(kserveRouter(store, engine, { version, guards }));
  app.use((_req, _res, next) => next(resourceNotFound()));
  app.use(errorHandler);
  return app;
}
