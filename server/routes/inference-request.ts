// What every inference request goes through first, whatever its protocol (TorchServe's
// /predictions, KServe v2 infer): refused while the server shuts down, its deadline starts, it
// is refused with 503 before a byte of its body is read when its model's queue or the server's
// byte budget is full (admission.ts), shutdown waits for it, and it learns when its client goes.

import type { Request, Response } from 'express';
import type { Admission, Ticket } from '../admission.js';
import { Deadline } from '../deadline.js';
import type { DecodePool } from '../decode-pool.js';
import { ApiError, payloadTooLarge, serviceUnavailable } from '../errors.js';
import { lingerOnClose } from '../lingering-close.js';
import type { Metrics } from '../metrics.js';
import type { ModelVersion } from '../model-store.js';

export interface InferenceGuards {
  admission: Admission;
  decodes: DecodePool;
  maxRequestSize: number;
  maxImagePixels: number;
  maxJpegScans: number;
  defaultResponseTimeoutMs: number;
  /** True once shutdown has begun: new requests are refused. */
  isClosing: () => boolean;
  /** Told of every admitted request, so that shutdown waits for those in flight. */
  track: (res: Response) => void;
}

export interface InferenceRequest {
  deadline: Deadline;
  ticket: Ticket;
  /** Aborted when the client closes the connection before its answer is sent. */
  signal: AbortSignal;
}

export function deadlineFor(model: ModelVersion, defaultMs: number): Deadline {
  return model.config.responseTimeout !== null
    ? Deadline.after(model.config.responseTimeout * 1000, `response_timeout in ${model.name}'s config.json`)
    : Deadline.after(defaultMs, 'default_response_timeout');
}

export function startInference(guards: InferenceGuards, model: ModelVersion, req: Request, res: Response): InferenceRequest {
  if (guards.isClosing()) throw serviceUnavailable('The server is shutting down.').closing();
  const deadline = deadlineFor(model, guards.defaultResponseTimeoutMs);
  const declared = Number(req.headers['content-length']);
  let ticket: Ticket;
  try {
    if (declared > guards.maxRequestSize) throw payloadTooLarge(guards.maxRequestSize);
    ticket = guards.admission.arrive(model.key, Number.isFinite(declared) ? declared : 0);
  } catch (e) {
    // Refused with its body unread: the connection closes after the answer.
    lingerOnClose(req.socket);
    throw e instanceof ApiError ? e.closing() : e;
  }
  guards.track(res);
  const gone = new AbortController();
  res.on('close', () => {
    ticket.release();
    if (!res.writableFinished) gone.abort(new Error('the client closed the connection before its answer'));
  });
  return { deadline, ticket, signal: gone.signal };
}

/** How a model's images are decoded and cut, whichever protocol carried them. */
export const imageOptions = (model: ModelVersion, guards: InferenceGuards) => ({
  resize: model.config.resize,
  crop: model.config.normalisation.size,
  maxPixels: guards.maxImagePixels,
  maxJpegScans: guards.maxJpegScans,
  resampling: model.config.resampling,
});

/** Where one request's time went, in ms: the same stages for every protocol. */
export interface Stages {
  read: number;
  /** Decoding the image, or parsing the tensor. */
  decode: number;
  queue: number;
  transfer: number;
  infer: number;
  /** Ranking and labelling, or writing the tensor out. */
  post: number;
  total: number;
}

/** The `Server-Timing` header for a request's stages, in ms. */
export const serverTiming = (stages: Record<string, number>): string =>
  Object.entries(stages)
    .map(([name, ms]) => `${name};dur=${ms.toFixed(1)}`)
    .join(', ');

/** One set of stage times for the answer's headers, the access log and the metrics, whatever the protocol. */
export function recordInference(res: Response, model: ModelVersion, batch: number, stages: Stages, metrics?: Metrics): void {
  res.set('Server-Timing', serverTiming({ ...stages }));
  res.set('X-Batch-Size', String(batch));
  res.locals['access'] = {
    model: model.name,
    version: model.version,
    batch,
    stages: Object.fromEntries(Object.entries(stages).map(([name, d]) => [name, Number(d.toFixed(1))])),
  };
  metrics?.observePrediction(model, { queueMs: stages.queue, transferMs: stages.transfer, inferMs: stages.infer, batch }, { decode: stages.decode, post: stages.post }, stages.total);
}
