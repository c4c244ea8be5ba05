import type express from 'express';
import type { InferenceEngine } from '../page/inference-engine.js';
import { errorHandler, resourceNotFound } from '../errors.js';
import { strictApp, strictRouter } from './express-app.js';
import { log } from '../ops/log.js';
import type { Metrics } from '../ops/metrics.js';
import type { ModelStore } from '../store/model-store.js';
import { mount, openApiDocument, type Operation } from './operation.js';
import { apiDescriptionOperations } from './routes/api-description.js';
import { demoIsolation, demoModelOperations, demoPageOperations, type DemoFiles, type DemoSettings } from './routes/demo.js';
import { healthOperations } from './routes/health.js';
import { kserveHealthOperations, kserveOperations } from './routes/kserve.js';
import { kserveV1Operations } from './routes/kserve-v1.js';
import type { InferenceGuards } from '../pipeline/inference-core.js';
import { predictionOperations } from './routes/predictions.js';

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

/** The inference listener's operations: those open to anyone, and those behind the inference key. */
export function inferenceOperations({ store, engine, guards, isHealthy, version, metrics, demo }: InferenceAppDeps): { open: Operation[]; guarded: Operation[]; document: object } {
  const open = [...healthOperations(isHealthy), ...kserveHealthOperations(isHealthy), ...apiDescriptionOperations(() => document, true), ...(demo ? demoPageOperations(demo.files) : [])];
  const guarded = [
    ...(demo ? demoModelOperations(store, engine, demo.settings) : []),
    ...predictionOperations(store, engine, guards, metrics),
    ...kserveOperations(store, engine, { version, guards, metrics }),
    ...kserveV1Operations(store, engine, guards, metrics),
  ];
  const info = { title: 'Inference API', description: 'TorchServe-compatible Inference API and KServe v2, models run by onnxruntime-web in headless Chromium', version };
  const document = openApiDocument(info, [...open, ...guarded]);
  return { open, guarded, document };
}

export function createInferenceApp(deps: InferenceAppDeps): express.Express {
  const { auth, metrics, cors, demo } = deps;
  const { open, guarded } = inferenceOperations(deps);
  const table = [...open, ...guarded];
  const app = strictApp();
  app.set('query parser', 'simple');
  if (cors) app.use(cors);
  app.use((req, res, next) => {
    const t0 = performance.now();
    res.on('finish', () => log.access({ protocol: 'http', method: req.method, path: req.path, status: res.statusCode, ms: Number((performance.now() - t0).toFixed(1)), ...res.locals['access'] }));
    next();
  });
  if (metrics) {
    app.use((_req, res, next) => {
      res.on('finish', () => metrics.observeHttp(res.statusCode));
      next();
    });
  }
  // Who may call is decided by the route that matched, never by reading the path: the open
  // operations come first and answer only the exact paths they name (routing is case-sensitive
  // and strict); anything they do not answer meets the key check before any other route.
  if (demo) app.use(demoIsolation());
  app.use(mount(strictRouter(), open, table));
  if (auth) app.use(auth);
  app.use(mount(strictRouter(), guarded, table));
  app.use((_req, _res, next) => next(resourceNotFound()));
  app.use(errorHandler);
  return app;
}
