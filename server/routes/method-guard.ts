import type { Router } from 'express';
import { methodNotAllowed } from '../errors.js';

/**
 * Any method a path does not serve answers 405 with the Allow header, as TorchServe does.
 * Allowed methods pass on, to a router mounted later that serves them (GET / is the demo page).
 */
export function rejectOtherMethods(router: Router, path: string, allowed: readonly string[]): void {
  router.all(path, (req, _res, next) => {
    if (allowed.includes(req.method) || (req.method === 'HEAD' && allowed.includes('GET'))) next();
    else next(methodNotAllowed(allowed));
  });
}
