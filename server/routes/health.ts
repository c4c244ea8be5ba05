import type { Router } from 'express';
import { rejectOtherMethods } from './method-guard.js';
import { strictRouter } from '../express-app.js';

/** TorchServe's /ping: the old `health` key and the current `status` key, for every client. */
export function healthRouter(isHealthy: () => boolean): Router {
  const router = strictRouter();
  router.get('/ping', (_req, res) => {
    if (isHealthy()) res.json({ health: 'healthy!', status: 'Healthy' });
    else res.status(500).json({ health: 'unhealthy!', status: 'Unhealthy' });
  });
  rejectOtherMethods(router, '/ping', ['GET']);
  return router;
}
