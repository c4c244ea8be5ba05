import express from 'express';
import type { InferenceEngine } from './bridge/inference-engine.js';
import { errorHandler, resourceNotFound } from './errors.js';
import { strictApp } from './express-app.js';
import type { ModelStore } from './model-store.js';
import { managementApiDescription } from './openapi.js';
import { apiDescriptionRouter } from './routes/api-description.js';
import { modelsRouter } from './routes/models.js';
import type { WorkerLimit } from './worker-budget.js';

export function createManagementApp(store: ModelStore, engine: InferenceEngine, version: string, workers: WorkerLimit, auth?: express.RequestHandler, cors?: express.RequestHandler): express.Express {
  const app = strictApp();
  app.set('query parser', 'simple');
  if (cors) app.use(cors);
  if (auth) app.use(auth);
  app.use(apiDescriptionRouter(managementApiDescription(version), { alsoGet: false, rootMethods: ['OPTIONS'] }));
  app.use(modelsRouter(store, engine, workers));
  app.use((_req, _res, next) => next(resourceNotFound()));
  app.use(errorHandler);
  return app;
}
