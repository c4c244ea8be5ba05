// Failures from the browser side say their kind, so the HTTP layer can answer the right status.
//   input, model, runtime: the page answered with an error (a bug, or a model that cannot run)
//   closed, crashed: the page or the browser is gone; everything pending fails at once
//   timeout: no answer before the deadline
//   busy: the model's queue is full; the client should retry later

import { systemClock, type Clock } from '../ops/clock.js';

export type BridgeErrorKind = 'input' | 'model' | 'runtime' | 'closed' | 'crashed' | 'timeout' | 'busy';

/**
 * `message` is ours and may reach the client (errors.ts); `detail`, what Chromium or
 * onnxruntime said, goes to the log only: it can hold paths and internals.
 */
export class BridgeError extends Error {
  constructor(
    readonly kind: BridgeErrorKind,
    message: string,
    readonly detail?: string,
  ) {
    super(message);
  }
}

/** What is left of a request's time, and the setting that set it, which a 504 names. */
export interface TimeLimit {
  ms: number;
  /** e.g. `default_response_timeout`, `response_timeout in m's config.json`. */
  setting: string;
}

/** Rejects with a timeout BridgeError unless `work` settles within `limit`. */
export function withDeadline<T>(work: Promise<T>, limit: TimeLimit, what: string, clock: Clock = systemClock): Promise<T> {
  const { ms, setting } = limit;
  // Made here, not when the timer fires, so the stack points at the caller.
  const err = new BridgeError('timeout', `${what} took longer than ${seconds(ms)} s (raise ${setting} to allow more)`);
  let timer: unknown;
  const deadline = new Promise<never>((_, reject) => {
    timer = clock.setTimeout(() => reject(err), ms);
  });
  return Promise.race([work, deadline]).finally(() => clock.clearTimeout(timer));
}

/** A deadline as a message states it: tenths of a second below 10 s, whole seconds above. */
export const seconds = (ms: number): string => (ms / 1000).toFixed(ms < 10_000 ? 1 : 0);
