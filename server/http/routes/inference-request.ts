// The HTTP side of inference-core.ts: a request is admitted before a byte of its body is read
// (refused ones close their connection, so an endless upload is not read), shutdown waits for
// its answer, and it learns when its client goes; its stages become headers.

import type { Request, Response } from 'express';
import { ApiError, payloadTooLarge } from '../../errors.js';
import { admit, observeInference, timingHeaders, type InferenceGuards, type Stages } from '../../pipeline/inference-core.js';
import { lingerOnClose } from '../uploads/lingering-close.js';
import type { Metrics } from '../../ops/metrics.js';
import type { ModelVersion } from '../../store/model-store.js';
import type { Deadline } from '../../pipeline/deadline.js';
import type { Ticket } from '../../pipeline/admission.js';

export { imageOptions, type InferenceGuards, type Stages } from '../../pipeline/inference-core.js';

export interface InferenceRequest {
  deadline: Deadline;
  ticket: Ticket;
  /** Aborted when the client closes the connection before its answer is sent. */
  signal: AbortSignal;
}

export function startInference(guards: InferenceGuards, model: ModelVersion, req: Request, res: Response): InferenceRequest {
  const declared = Number(req.headers['content-length']);
  let admitted: ReturnType<typeof admit>;
  try {
    if (declared > guards.maxRequestSize) throw payloadTooLarge(guards.maxRequestSize);
    admitted = admit(guards, model, Number.isFinite(declared) ? declared : 0);
  } catch (e) {
    // Refused with its body unread: the connection closes after the answer.
    lingerOnClose(req.socket);
    throw e instanceof ApiError ? e.closing() : e;
  }
  const gone = new AbortController();
  res.on('close', () => {
    admitted.finish();
    if (!res.writableFinished) gone.abort(new Error('the client closed the connection before its answer'));
  });
  return { deadline: admitted.deadline, ticket: admitted.ticket, signal: gone.signal };
}

/** One set of stage times for the answer's headers, the access log and the metrics, whatever the protocol. */
export function recordInference(res: Response, model: ModelVersion, batch: number, stages: Stages, metrics?: Metrics): void {
  res.set(timingHeaders(batch, stages));
  res.locals['access'] = observeInference(model, batch, stages, metrics);
}
