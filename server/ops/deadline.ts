// One request's deadline, an instant on one clock from its arrival: reading the body, decoding,
// queueing and the run all spend the same budget, each layer down to the page's call reads the
// same instant, and whoever runs out names the setting that sets it.

import { timeout } from '../errors.js';
import type { ApiError } from '../errors.js';
import { systemClock, type Clock } from './clock.js';

export class Deadline {
  private constructor(
    /** The clock's time (Clock.now()) at which the request is late. */
    readonly at: number,
    readonly totalMs: number,
    /** The setting an operator raises to allow more, for the 504's message. */
    readonly setting: string,
    /** The clock `at` is on; its timers are the ones that wait for it. */
    readonly clock: Clock,
  ) {}

  /** `ms` from now, set by `setting` (e.g. `default_response_timeout`, `response_timeout in m's config.json`). */
  static after(ms: number, setting: string, clock: Clock = systemClock): Deadline {
    return new Deadline(clock.now() + ms, ms, setting, clock);
  }

  remainingMs(): number {
    return Math.max(0, this.at - this.clock.now());
  }

  expired(): boolean {
    // Timers run on a millisecond clock and may fire a fraction of a millisecond early.
    return this.clock.now() >= this.at - 1;
  }

  /** The sooner of two deadlines; the first where they fall together. */
  soonest(other: Deadline): Deadline {
    return other.at < this.at ? other : this;
  }

  /** The 504 for a request that ran out of time while `what`. */
  exceeded(what: string): ApiError {
    return timeout(`The prediction timed out: ${what} took it past ${seconds(this.totalMs)} s (raise ${this.setting} to allow more).`);
  }
}

/** A deadline as a message states it: tenths of a second below 10 s, whole seconds above. */
export const seconds = (ms: number): string => (ms / 1000).toFixed(ms < 10_000 ? 1 : 0);
