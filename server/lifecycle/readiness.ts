// Ready means a new request would be served: not while shutting down, loading, or while the
// request budget or the decode slots are exhausted by work taken in (a balancer should send
// work elsewhere). Bodies still arriving do not count: a client that stalls its uploads would
// otherwise take the replica out of rotation for everyone; it meets its own bound instead.
// Overload comes and goes on its own, so its start and end are logged.

import type { Admission } from '../pipeline/admission.js';
import type { Uploads } from '../http/uploads/uploads.js';
import type { DecodePool } from '../image/decode-pool.js';
import type { InferenceEngine } from '../page/inference-engine.js';
import { log } from '../ops/log.js';

export interface ReadinessInputs {
  /** True once shutdown has begun. */
  leaving: () => boolean;
  engine: Pick<InferenceEngine, 'healthy'>;
  admission: Pick<Admission, 'blocked'>;
  uploads: Pick<Uploads, 'bytesArriving'>;
  decodes: Pick<DecodePool, 'blocked'>;
}

/** The check /ping, KServe's ready routes and gRPC health answer from. */
export function readinessCheck({ leaving, engine, admission, uploads, decodes }: ReadinessInputs): () => boolean {
  let overload: string | null = null;
  return () => {
    if (leaving() || !engine.healthy()) return false;
    const now = admission.blocked(uploads.bytesArriving) ?? decodes.blocked();
    if (now !== overload) {
      if (now) log.warn(`not ready: ${now}`);
      else log.info('ready again');
      overload = now;
    }
    return now === null;
  };
}
