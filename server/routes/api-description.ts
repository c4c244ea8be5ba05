import type { Router } from 'express';
import { rejectOtherMethods } from './method-guard.js';
import { strictRouter } from '../express-app.js';

export interface ApiDescriptionOptions {
  /** Also answer `GET /api-description`. */
  alsoGet: boolean;
  /** Methods `/` answers (other routers serve those but OPTIONS), for the 405's Allow header. */
  rootMethods: readonly string[];
}

/** `OPTIONS /` answers the OpenAPI document, as TorchServe does; `GET /api-description` too. */
export function apiDescriptionRouter(document: object, { alsoGet, rootMethods }: ApiDescriptionOptions): Router {
  const router = strictRouter();
  router.options('/', (_req, res) => {
    res.json(document);
  });
  if (alsoGet) {
    router.get('/api-description', (_req, res) => {
      res.json(document);
    });
    rejectOtherMethods(router, '/api-description', ['GET']);
  }
  rejectOtherMethods(router, '/', rootMethods);
  return router;
}
