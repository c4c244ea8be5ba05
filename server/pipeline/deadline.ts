// One request's deadline, from its arrival: reading the body, decoding, queueing and the run
// all spend the same budget, and whoever runs out names the setting that sets it.

import { timeout } from '../errors.js';
import type { ApiError } from '../errors.js';
import { seconds, type TimeLimit } from '../page/bridge-error.js';

export class Deadline {
  private constructor(
    /** performance.now() at which the request is late. */
    readonly at: number,
    readonly totalMs: number,
    /** The setting an operator raises to allow more, for the 504's message. */
    readonly setting: string,
  ) {}

  static after(ms: number, setting: string): Deadline {
    return new Deadline(performance.now() + ms, ms, setting);
  }

  /** What is left, for the engine: its queue and its page name the same setting. */
  limit(): TimeLimit {
    return { ms: this.remainingMs(), setting: this.setting };
  }

  remainingMs(): number {
    return Math.max(0, this.at - performance.now());
  }

  expired(): boolean {
    // Timers run on a millisecond clock and may fire a fraction of a millisecond early.
    return performance.now() >= this.at - 1;
  }

  /** The 504 for a request that ran out of time while `what`. */
  exceeded(what: string): ApiError {
    return timeout(`The prediction timed out: ${what} took it past ${seconds(this.totalMs)} s (raise ${this.setting} to allow more).`);
  }
}
