// The Management API's query parameters as the management operations take them
// (store/management-params.ts). TorchServe reads them leniently: one that is empty, repeated or
// not an integer (or, for synchronous, not true or false) counts as absent, and so does a
// startup_timeout of -1, TorchServe's own mark for "not given". Out of bounds is for the
// operations to refuse, quoting the query's own text.

import { RANGES, type Range } from '../config/limits.js';
import type { ListParams, RegisterParams, ScaleParams, Spelling } from '../store/management-params.js';

type Query = Record<string, unknown>;

const integer = (q: unknown): number | undefined => (typeof q === 'string' && /^-?\d{1,400}$/.test(q) ? Number(q) : undefined);

const decimal = (q: unknown): number | undefined => (typeof q === 'string' && /^-?\d{1,400}(\.\d{1,400})?$/.test(q) ? Number(q) : undefined);

/** A number of the kind `range` holds: an integer, or a decimal. */
const numberIn = (q: unknown, range: Range): number | undefined => (range.integer ? integer(q) : decimal(q));

/** An integer, where -1 is TorchServe's default (RegisterModelRequest reads it so). */
const integerOrDefault = (q: unknown): number | undefined => {
  const n = integer(q);
  return n === -1 ? undefined : n;
};

const text = (q: unknown): string | undefined => (typeof q === 'string' ? q : undefined);

const flag = (q: unknown): boolean | undefined => (typeof q === 'string' && /^(true|false)$/i.test(q) ? q.toLowerCase() === 'true' : undefined);

export const listQuery = (q: Query): ListParams => ({ limit: integer(q['limit']), nextPageToken: integer(q['next_page_token']) });

export const registerQuery = (q: Query): RegisterParams => ({
  url: text(q['url']),
  modelName: text(q['model_name']),
  runtime: text(q['runtime']),
  batchSize: numberIn(q['batch_size'], RANGES.batchSize),
  maxBatchDelayMs: numberIn(q['max_batch_delay'], RANGES.maxBatchDelayMs),
  initialWorkers: integer(q['initial_workers']),
  responseTimeout: numberIn(q['response_timeout'], RANGES.responseTimeoutS),
  startupTimeout: integerOrDefault(q['startup_timeout']),
  synchronous: flag(q['synchronous']),
});

export const scaleQuery = (q: Query): ScaleParams => ({ minWorker: integer(q['min_worker']), maxWorker: integer(q['max_worker']), synchronous: flag(q['synchronous']) });

/** A refused number as the query wrote it. */
export const querySpelling =
  (q: Query): Spelling =>
  (param) =>
    String(q[param]);
