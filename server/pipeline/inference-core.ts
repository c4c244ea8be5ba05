// What every inference request goes through, whatever carried it (HTTP /predictions, KServe v1
// or v2, gRPC): refused while the server shuts down, its one deadline started (the model's
// response timeout, or the client's own gRPC deadline where that is sooner), a ticket from
// admission (admission.ts) that bounds the model's queue and the bytes held, shutdown told so that
// it waits for it; then the same decode, queue, run and ranking, timed in the same stages.

import type { Admission, Ticket } from './admission.js';
import type { InferenceEngine } from '../page/inference-engine.js';
import { Deadline } from './deadline.js';
import type { DecodePool } from '../image/decode-pool.js';
import { serviceUnavailable } from '../errors.js';
import type { Metrics } from '../ops/metrics.js';
import type { ModelVersion } from '../store/model-store.js';
import type { Uploads } from '../http/uploads/uploads.js';
import { formatRanked } from './postprocess.js';
import { preprocess } from '../image/preprocess.js';

export interface InferenceGuards {
  admission: Admission;
  decodes: DecodePool;
  /** HTTP bodies while they arrive: each client's bound and the minimum pace. */
  uploads: Uploads;
  maxRequestSize: number;
  maxImagePixels: number;
  maxJpegScans: number;
  defaultResponseTimeoutMs: number;
  /** True once shutdown has begun: new requests are refused. */
  isClosing: () => boolean;
  /** Told of every admitted request, so that shutdown waits for those in flight; call what it returns once the request is over. */
  track: () => () => void;
}

/** The shutdown refusal: UNAVAILABLE over gRPC, 503 over HTTP. */
export const shuttingDown = () => serviceUnavailable('The server is shutting down.');

/**
 * The request's deadline: the model's response timeout, or `clientMs` (a gRPC client's own
 * deadline) where that comes first, each named as the setting that sets it.
 */
export function deadlineFor(model: ModelVersion, defaultMs: number, clientMs = Number.POSITIVE_INFINITY): Deadline {
  const [ms, setting] = model.config.responseTimeout !== null ? [model.config.responseTimeout * 1000, `response_timeout in ${model.name}'s config.json`] : [defaultMs, 'default_response_timeout'];
  return clientMs < ms ? Deadline.after(Math.max(0, clientMs), "the client's gRPC deadline") : Deadline.after(ms, setting);
}

export interface Admitted {
  deadline: Deadline;
  ticket: Ticket;
  /** Gives the ticket back and tells shutdown the request is over; once, however often called. */
  finish: () => void;
}

/** Admits a request of `declaredBytes` to `model`, or throws the 503 (or its gRPC equivalent) that says why not. */
export function admit(guards: InferenceGuards, model: ModelVersion, declaredBytes: number, clientDeadlineMs?: number): Admitted {
  if (guards.isClosing()) throw shuttingDown();
  const deadline = deadlineFor(model, guards.defaultResponseTimeoutMs, clientDeadlineMs);
  const ticket = guards.admission.arrive(model.key, declaredBytes);
  const untrack = guards.track();
  let done = false;
  return {
    deadline,
    ticket,
    finish: () => {
      if (done) return;
      done = true;
      ticket.release();
      untrack();
    },
  };
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

/** The `Server-Timing` header (and gRPC trailer) for a request's stages, in ms. */
export const serverTiming = (stages: Record<string, number>): string =>
  Object.entries(stages)
    .map(([name, ms]) => `${name};dur=${ms.toFixed(1)}`)
    .join(', ');

/** The stages and the batch as HTTP headers, and as gRPC trailers (which take the same names, lower-cased). */
export const timingHeaders = (batch: number, stages: Stages): Record<string, string> => ({ 'Server-Timing': serverTiming({ ...stages }), 'X-Batch-Size': String(batch) });

/** Counts a served request in the model's metrics and gives the access log's fields for it. */
export function observeInference(model: ModelVersion, batch: number, stages: Stages, metrics?: Metrics): Record<string, unknown> {
  metrics?.observePrediction(model, { queueMs: stages.queue, transferMs: stages.transfer, inferMs: stages.infer, batch }, { decode: stages.decode, post: stages.post }, stages.total);
  return {
    model: model.name,
    version: model.version,
    batch,
    stages: Object.fromEntries(Object.entries(stages).map(([name, d]) => [name, Number(d.toFixed(1))])),
  };
}

export interface Classified {
  /** The JSON answer, as /predictions sends it. */
  answer: string;
  batch: number;
  stages: Stages;
}

/**
 * One image, whose bytes are in and counted against the ticket: its model's place, the decode,
 * the run and the ranking. `t0` is the request's arrival, `tRead` when its body was in.
 */
export async function classifyImage(
  engine: InferenceEngine,
  guards: InferenceGuards,
  model: ModelVersion,
  image: Buffer,
  k: number,
  call: { deadline: Deadline; ticket: Ticket; signal: AbortSignal; t0: number; tRead: number },
): Promise<Classified> {
  const { deadline, ticket, signal, t0, tRead } = call;
  ticket.place();
  const pixels = await preprocess(image, imageOptions(model, guards), guards.decodes.gate(deadline, signal));
  const tDecode = performance.now();
  if (deadline.expired()) throw deadline.exceeded('decoding the image');
  const out = await engine.infer(model, pixels, k, deadline.limit(), signal);
  const tInfer = performance.now();
  const answer = formatRanked(out.classes, out.probabilities, model.labels, model.config.outputFormat);
  const tPost = performance.now();
  return {
    answer,
    batch: out.batch,
    stages: { read: tRead - t0, decode: tDecode - tRead, queue: out.queueMs, transfer: out.transferMs, infer: out.inferMs, post: tPost - tInfer, total: tPost - t0 },
  };
}
