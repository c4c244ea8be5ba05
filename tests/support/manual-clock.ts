// A clock that moves only when the test says so: timers fire, in order, inside advance(). Code
// that takes a Clock (server/ops/clock.ts) is then tested at exact instants, on any machine.

import type { Clock } from '../../server/ops/clock.js';

interface Timer {
  at: number;
  fn: () => void;
}

export class ManualClock implements Clock {
  private time = 0;
  private readonly timers = new Set<Timer>();

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    // As Node's timers: a delay below 1 ms is 1 ms.
    const timer = { at: this.time + Math.max(1, ms), fn };
    this.timers.add(timer);
    return timer;
  }

  clearTimeout(timer: unknown): void {
    this.timers.delete(timer as Timer);
  }

  /** Moves time on by `ms`, firing each timer due by then at its own instant, earliest first. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let next: Timer | null = null;
      for (const t of this.timers) if (t.at <= end && (!next || t.at < next.at)) next = t;
      if (!next) break;
      this.timers.delete(next);
      this.time = next.at;
      next.fn();
    }
    this.time = end;
  }

  /** Timers set and not yet fired or cleared. */
  get pending(): number {
    return this.timers.size;
  }
}
