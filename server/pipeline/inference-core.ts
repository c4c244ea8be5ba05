// What every inference request goes through, whatever carried it (HTTP /predictions, KServe v1
// or v2, gRPC): refused while the server shuts down, its one deadline started (the model's
// response timeout, or the client's own gRPC deadline where that is sooner), a ticket from
// admission (admission.ts) that bounds the model's queue and the bytes held, shutdown told so that
// it waits for it. The protocol says how the request came (InferenceCall); the pipeline for its
// input (image-pipeline.ts, infer-tensor.ts) does the rest.

import type { Admission, Ticket } from './admission.js';
import type { InferenceEngine } from '../page/inference-engine.js';
import { Deadline } from '../ops/deadline.js';
import type { DecodePool } from '../image/decode-pool.js';
import { payloadTooLarge, serviceUnavailable } from '../errors.js';
import type { Metrics } from '../ops/metrics.js';
import type { ModelVersion } from '../store/model-store.js';
import type { Uploads } from '../http/uploads/uploads.js';

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

/** What the pipelines run on: the engine, the guards, and the metrics each served request counts in. */
export interface Pipeline {
  engine: InferenceEngine;
  guards: InferenceGuards;
  metrics?: Metrics | undefined;
}

/** How a protocol carried one inference request: what the pipeline asks of it, nothing of its wire format. */
export interface InferenceCall {
  /** performance.now() when the request arrived: its stages count from there. */
  readonly arrivedAt: number;
  /** Bytes the client says it sends, checked before any is read; 0 when it does not say. */
  readonly declaredBytes: number;
  /** The message came whole with the call (gRPC): the request has no read stage. */
  readonly arrivedWhole: boolean;
  /** What is left of the client's own deadline, in ms, where it set one (gRPC). */
  clientRemainingMs?(): number;
  /**
   * The request is admitted. The protocol calls `finish` once the request is over for it (HTTP:
   * its response has closed; gRPC: its answer is made), and answers the signal that aborts when
   * its client goes.
   */
  admitted(finish: () => void): AbortSignal;
  /** What a refusal at admission becomes (HTTP closes the connection, its body unread). */
  refused(error: unknown): unknown;
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
  /** Aborted when the client goes. */
  signal: AbortSignal;
}

/**
 * Admits `call` to `model` before a byte of its body is read, or throws the 413 or 503 (or their
 * gRPC equivalents) that says why not, as the protocol dresses it.
 */
export function admit(guards: InferenceGuards, model: ModelVersion, call: InferenceCall): Admitted {
  let deadline: Deadline;
  let ticket: Ticket;
  try {
    if (call.declaredBytes > guards.maxRequestSize) throw payloadTooLarge(guards.maxRequestSize);
    if (guards.isClosing()) throw shuttingDown();
    deadline = deadlineFor(model, guards.defaultResponseTimeoutMs, call.clientRemainingMs?.());
    ticket = guards.admission.arrive(model.key, call.declaredBytes);
  } catch (e) {
    throw call.refused(e);
  }
  const untrack = guards.track();
  let done = false;
  const signal = call.admitted(() => {
    if (done) return;
    done = true;
    ticket.release();
    untrack();
  });
  return { deadline, ticket, signal };
}

/** A request admitted, its body in and its place in the model's queue taken. */
export interface Received {
  deadline: Deadline;
  /** When the body was in: the read stage ends here. */
  tRead: number;
  /** The body, or the parts a protocol makes of it (KServe v1's instances). */
  parts: Buffer[];
  /** Aborts when the client goes, or when `fail` is called: one part failed, the others stop. */
  signal: AbortSignal;
  fail(): void;
}

/**
 * What every pipeline does first: the request admitted before a byte of it is read (413, 503), its
 * body read, its place taken (503 when the model's queue is full), and its parts made.
 */
export async function receive(
  guards: InferenceGuards,
  model: ModelVersion,
  call: InferenceCall,
  read: (ticket: Ticket) => Promise<Buffer>,
  split?: (body: Buffer, ticket: Ticket) => Buffer[],
): Promise<Received> {
  const { deadline, ticket, signal: gone } = admit(guards, model, call);
  const body = await read(ticket);
  const tRead = call.arrivedWhole ? call.arrivedAt : performance.now();
  ticket.place();
  const parts = split ? split(body, ticket) : [body];
  const failed = new AbortController();
  return { deadline, tRead, parts, signal: AbortSignal.any([gone, failed.signal]), fail: () => failed.abort(new Error('another instance of the request failed')) };
}

/** Every part's run, or the first failure, after which the others are told to stop. */
export async function allParts<T>(runs: Array<Promise<T>>, received: Received): Promise<T[]> {
  try {
    return await Promise.all(runs);
  } catch (e) {
    received.fail();
    throw e;
  }
}
