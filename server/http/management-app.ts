import type express from 'express';
import type { InferenceEngine } from '../page/inference-engine.js';
import { errorHandler, resourceNotFound } from '../errors.js';
import { strictApp, strictRouter } from './express-app.js';
import type { ModelStore } from '../store/model-store.js';
import { mount, openApiDocument, type Operation } from './operation.js';
import { apiDescriptionOperations } from './routes/api-description.js';
import { modelOperations } from './routes/models.js';
import type { WorkerLimit } from '../page/worker-budget.js';

export function managementOperations(store: ModelStore, engine: InferenceEngine, version: string, workers: WorkerLimit, defaultResponseTimeout: number): { table: Operation[]; document: object } {
  const table = [...apiDescriptionOperations(() => document, false), ...modelOperations(store, engine, workers, defaultResponseTimeout)];
  const document = openApiDocument({ title: 'Management API', description: 'TorchServe-compatible model registration, scaling and description', version }, table);
  return { table, document };
}

export function createManagementApp(
  store: ModelStore,
  engine: InferenceEngine,
  version: string,
  workers: WorkerLimit,
  defaultResponseTimeout: number,
  auth?: express.RequestHandler,
  cors?: express.RequestHandler,
): express.Express {
  const app = strictApp();
  app.set('query parser', 'simple');
  if (cors) app.use(cors);
  if (auth) app.use(auth);
  app.use(mount(strictRouter(), managementOperations(store, engine, version, workers, defaultResponseTimeout).table));
  app.use((_req, _res, next) => next(resourceNotFound()));
  app.use(errorHandler);
  return app;
}
