// Where a path in the model store really leads. Any part of a model (its folder, config.json,
// the labels, a version folder, model.onnx) may be a symbolic link, and a link can point
// anywhere on disk: the store would then read and serve whatever it points at. Links that stay
// inside the store (a Kubernetes volume's `..data` links) are followed; any other is refused.

import { realpath } from 'node:fs/promises';
import path from 'node:path';

/** A part of a model that leads outside the store. The message names the part, never the target. */
export class OutsideStoreError extends Error {
  constructor(
    /** The part, relative to the store: `m/1.0/model.onnx`. */
    readonly part: string,
    /** Where it leads: for the server's log only. */
    readonly target: string,
  ) {
    super(`${part} leads outside the model store`);
  }
}

/**
 * The real path of `file`, which must lie inside `realRoot` (itself a real path). Errors from
 * the file system (ENOENT, ELOOP, ...) are thrown as they are.
 */
export async function realPathInside(realRoot: string, file: string, part: string): Promise<string> {
  const real = await realpath(file);
  const rel = path.relative(realRoot, real);
  if (rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) throw new OutsideStoreError(part, real);
  return real;
}

/** Codes for a path that does not lead to anything readable: not a model part, no refusal either. */
export const isMissing = (e: unknown): boolean => ['ENOENT', 'ENOTDIR', 'ELOOP'].includes((e as NodeJS.ErrnoException).code ?? '');
