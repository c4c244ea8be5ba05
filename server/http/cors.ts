import type { RequestHandler } from 'express';

export interface CorsSettings {
  origin: string;
  methods: string;
  headers: string;
}

/**
 * TorchServe's cors_allowed_* settings. Runs before token checks: a browser's preflight
 * carries no credentials. A preflight is answered here; `OPTIONS /` without one still
 * reaches the API description.
 */
export function corsHandler(s: CorsSettings): RequestHandler {
  return (req, res, next) => {
    const origin = req.headers.origin;
    if (!origin || (s.origin !== '*' && s.origin !== origin)) return next();
    res.set('Access-Control-Allow-Origin', s.origin === '*' ? '*' : origin);
    if (s.origin !== '*') res.vary('Origin');
    res.set('Access-Control-Expose-Headers', 'Server-Timing, X-Batch-Size, Retry-After');
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
      res.set({ 'Access-Control-Allow-Methods': s.methods, 'Access-Control-Allow-Headers': s.headers, 'Access-Control-Max-Age': '600' });
      res.status(204).end();
      return;
    }
    next();
  };
}
