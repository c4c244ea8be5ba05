import type { Router } from 'express';
import { methodNotAllowed } from '../errors.js';

/** Any method a path does not serve answers 405 with the Allow header, as TorchServe does. */
export function rejectOtherMethods(router: Router, path: string, allowed: readonly string[]): void {
  router.all(path, (_req, _res, next) => next(methodNotAllowed(allowed)));
}
