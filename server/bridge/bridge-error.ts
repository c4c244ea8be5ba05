// Failures from the browser side say their kind, so the HTTP layer can answer the right status.
//   input, model, runtime: the page answered with an error (a bug, or a model that cannot run)
//   closed, crashed: the page or the browser is gone; everything pending fails at once
//   timeout: no answer before the deadline
//   busy: the model's queue is full; the client should retry later

export type BridgeErrorKind = 'input' | 'model' | 'runtime' | 'closed' | 'crashed' | 'timeout' | 'busy';

export class BridgeError extends Error {
  constructor(
    readonly kind: BridgeErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** Rejects with a timeout BridgeError unless `work` settles within `ms`. */
export function withDeadline<T>(work: Promise<T>, ms: number, what: string, setting: string): Promise<T> {
  // Made here, not when the timer fires, so the stack points at the caller.
  const err = new BridgeError('timeout', `${what} took longer than ${Math.round(ms / 1000)} s (raise ${setting} to allow more)`);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(err), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
