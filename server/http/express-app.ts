// Every listener's Express app and routers route exactly: case-sensitive and strict about
// trailing slashes (Express matches neither way by default). Access to a route is decided by
// which route matched (inference-app.ts), so no other spelling of a path may reach it.

import express, { Router } from 'express';

export function strictApp(): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  return app;
}

export const strictRouter = (): Router => Router({ caseSensitive: true, strict: true });
