// Failures from the browser side say their kind, so the HTTP layer can answer the right status.
//   input, model, runtime: the page answered with an error (a bug, or a model that cannot run)
//   handler: a model's own handler.js threw; its message is the client's
//   closed, crashed: the page or the browser is gone; everything pending fails at once
//   timeout: no answer before the deadline
//   busy: the model's queue is full; the client should retry later

import { seconds, type Deadline } from '../ops/deadline.js';

export type BridgeErrorKind = 'input' | 'model' | 'runtime' | 'handler' | 'closed' | 'crashed' | 'timeout' | 'busy';

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

/**
 * Rejects with a timeout BridgeError unless `work` settles by `deadline`. The message states the
 * time that was left when the call was made, and the setting that set it.
 */
export function withDeadline<T>(work: Promise<T>, deadline: Deadline, what: string): Promise<T> {
  const { clock, setting } = deadline;
  const ms = deadline.remainingMs();
  // Made when the timer fires, not here: capturing a stack on every call cost the gateway more
  // than the rest of the call's bookkeeping (a CPU profile under load), for a stack that a
  // timeout's message makes unneeded.
  let timer: unknown;
  const late = new Promise<never>((_, reject) => {
    timer = clock.setTimeout(() => reject(new BridgeError('timeout', `${what} took longer than ${seconds(ms)} s (raise ${setting} to allow more)`)), ms);
  });
  return Promise.race([work, late]).finally(() => clock.clearTimeout(timer));
}
