// How gRPC carries an inference request to the pipeline (server/pipeline/): the whole message
// came with the call, so there is no body to read; the client's own deadline bounds the
// request's; a refusal is answered as its status; and the request is over for admission and
// shutdown once its answer is made, or it has failed.

import type { InferenceCall } from '../pipeline/inference-core.js';
import type { CallInfo, Served } from './calls.js';
import type { Answered } from '../pipeline/served.js';

/** Runs `work` on the call `info`, which arrived at `arrivedAt` with `bytes` of input in its message. */
export async function overGrpc<T>(info: CallInfo, arrivedAt: number, bytes: number, work: (call: InferenceCall) => Promise<T>): Promise<T> {
  let finish = () => {};
  try {
    return await work({
      arrivedAt,
      declaredBytes: bytes,
      arrivedWhole: true,
      clientRemainingMs: info.remainingMs,
      admitted: (f) => {
        finish = f;
        return info.signal;
      },
      refused: (e) => e,
    });
  } finally {
    finish();
  }
}

/** A served request's answer as gRPC sends it: its run's fields in the access log, its headers as trailers. */
export const servedOverGrpc = <R>(served: Answered<unknown>, reply: R): Served<R> => ({ reply, access: served.access, trailers: served.headers });
