// Where one served request's time went, told the same way whatever carried it: the
// `Server-Timing` and `X-Batch-Size` headers (gRPC trailers of the same names, lower-cased), the
// model's metrics, and the access log's fields.

import type { RunTiming } from '../page/inference-engine.js';
import type { ModelVersion } from '../store/model-store.js';
import type { Pipeline } from './inference-core.js';

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

/** A request's answer in its protocol's form, and what it tells of its run. */
export interface Answered<T> {
  answer: T;
  /** Server-Timing and X-Batch-Size: HTTP headers, or gRPC trailers. */
  headers: Record<string, string>;
  /** The access log's fields for the request. */
  access: Record<string, unknown>;
}

/** The `Server-Timing` header (and gRPC trailer) for a request's stages, in ms. */
const serverTiming = (stages: Record<string, number>): string =>
  Object.entries(stages)
    .map(([name, ms]) => `${name};dur=${ms.toFixed(1)}`)
    .join(', ');

/**
 * The request's stages from its instants (performance.now()): arrival, body in, decoded or
 * parsed, run, answer written; the queue, transfer and infer stages are the run's own.
 */
export function stagesOf(t: { arrived: number; read: number; decoded: number; ran: number; written: number }, run: RunTiming): Stages {
  return { read: t.read - t.arrived, decode: t.decoded - t.read, queue: run.queueMs, transfer: run.transferMs, infer: run.inferMs, post: t.written - t.ran, total: t.written - t.arrived };
}

/** Counts a served request in the model's metrics, and gives its headers and access-log fields. */
export function served<T>(pipeline: Pipeline, model: ModelVersion, answer: T, run: RunTiming, stages: Stages): Answered<T> {
  pipeline.metrics?.observePrediction(model, run, { decode: stages.decode, post: stages.post }, stages.total);
  return {
    answer,
    headers: { 'Server-Timing': serverTiming({ ...stages }), 'X-Batch-Size': String(run.batch) },
    access: {
      model: model.name,
      version: model.version,
      batch: run.batch,
      stages: Object.fromEntries(Object.entries(stages).map(([name, d]) => [name, Number(d.toFixed(1))])),
    },
  };
}
