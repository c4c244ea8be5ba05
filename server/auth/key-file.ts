// TorchServe's key_file.json, so its tooling reads ours. The keys are written to a new file
// that only its owner may read and that nothing else can have opened, which then replaces the
// old one: writing in place would keep an old file's wider mode, and would write through a
// symbolic link to wherever it points.

import { randomBytes } from 'node:crypto';
import { closeSync, constants, lstatSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { ApiKeys } from './auth.js';
import { log } from '../ops/log.js';

/** The key file cannot be written safely: a setting to fix, told in one line at start. */
export class KeyFileError extends Error {}

export function writeKeyFile(file: string, keys: ApiKeys): void {
  const body = { management: { key: keys.management }, inference: { key: keys.inference } };
  const old = lstatSync(file, { throwIfNoEntry: false });
  if (old?.isSymbolicLink()) throw new KeyFileError(`key_file ${file} is a symbolic link; the API keys are not written through it (point key_file at a regular file)`);
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | null = null;
  let created = false;
  try {
    // O_EXCL and O_NOFOLLOW: a name someone else made in the meantime is never opened.
    fd = openSync(temp, constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | constants.O_WRONLY, 0o600);
    created = true;
    writeSync(fd, `${JSON.stringify(body, null, 2)}\n`);
    closeSync(fd);
    fd = null;
    // rename() replaces the name itself, never what a link there points at.
    renameSync(temp, file);
  } catch (e) {
    if (fd !== null) closeSync(fd);
    // Only a file this call made: a name that was already there is someone else's.
    if (created) rmSync(temp, { force: true });
    throw new KeyFileError(`cannot write key_file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (old && (old.mode & 0o077) !== 0) {
    log.warn(`key_file ${file} had mode ${(old.mode & 0o777).toString(8)}; replaced by one readable by its owner only (600)`);
  }
  log.info(`token authorization on: keys written to ${file} (send "Authorization: Bearer <key>")`);
}
