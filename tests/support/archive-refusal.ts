// What every archive test asserts of a refusal: an ArchiveRefused (the store's 400) whose message
// says why, for assert.throws and assert.rejects alike.

import { ArchiveRefused } from '../../server/store/archive/archive-refused.js';

export const archiveRefusal =
  (pattern: RegExp) =>
  (e: unknown): boolean =>
    e instanceof ArchiveRefused && pattern.test(e.message);
