import { Router } from 'express';
import { rejectOtherMethods } from './method-guard.js';

/** `OPTIONS /` answers the OpenAPI document, as TorchServe does; `GET /api-description` too. */
export function apiDescriptionRouter(document: object, alsoGet: boolean): Router {
  const router = Router();
  router.options('/', (_req, res) => {
    res.json(document);
  });
  if (alsoGet) {
    router.get('/api-description', (_req, res) => {
      res.json(document);
    });
    rejectOtherMethods(router, '/api-description', ['GET']);
  }
  rejectOtherMethods(router, '/', ['OPTIONS']);
  return router;
}
