// Time as the code that waits reads it: the monotonic clock and its timers in one object, so a
// test can hand such code a clock of its own and move it on by hand (tests/support/manual-clock.ts)
// instead of racing real time.

export interface Clock {
  /** Milliseconds on a monotonic clock, as performance.now(). */
  now(): number;
  /**
   * Calls `fn` once, `ms` from now; what it returns is only for clearTimeout. An `unref` timer
   * does not keep the process alive by itself.
   */
  setTimeout(fn: () => void, ms: number, options?: { unref?: boolean }): unknown;
  clearTimeout(timer: unknown): void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms, options) => {
    const timer = setTimeout(fn, ms);
    if (options?.unref) timer.unref();
    return timer;
  },
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};
