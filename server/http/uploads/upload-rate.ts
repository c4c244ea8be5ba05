// The pace a request body must keep, as web servers and proxies hold uploads to one (Kestrel's
// MinRequestBodyDataRate, nginx's client_body_timeout): over every window from the start of the
// body, at least `minBytesPerSecond × window` bytes must arrive, else the body has stalled. The
// first window is the grace period. Without this, a body that stops one byte short of its end
// holds its bytes, and a place, until the response deadline.
//
// A window is judged one turn of the event loop after it ends: after a loop busy for longer than
// a window, the bytes the kernel received meanwhile are read before the verdict, not after it.

export interface UploadRate {
  /** Bytes per second a body must arrive at, averaged over each window; 0: no minimum. */
  minBytesPerSecond: number;
  windowMs: number;
}

/** How the watch waits: real timers in the server, a hand-driven clock in tests. */
export interface WindowClock {
  /** Calls `fn` once, `ms` from now; returns what cancels it. */
  after(ms: number, fn: () => void): () => void;
}

export const realWindowClock: WindowClock = {
  after(ms, fn) {
    let verdict: NodeJS.Immediate | null = null;
    const timer = setTimeout(() => {
      verdict = setImmediate(fn);
    }, ms);
    timer.unref();
    return () => {
      clearTimeout(timer);
      if (verdict) clearImmediate(verdict);
    };
  },
};

export interface RateWatch {
  /** `n` more bytes of the body arrived. */
  received(n: number): void;
  /** The body is in, or given up: no more verdicts. */
  stop(): void;
}

/** Watches one body from now; `onStalled` is called once, with the bytes of the window that fell short. */
export function watchUploadRate(rate: UploadRate, onStalled: (bytesInWindow: number) => void, clock: WindowClock = realWindowClock): RateWatch {
  if (rate.minBytesPerSecond <= 0) return { received() {}, stop() {} };
  const needed = (rate.minBytesPerSecond * rate.windowMs) / 1000;
  let inWindow = 0;
  let cancel: (() => void) | null = null;
  const judge = () => {
    if (inWindow < needed) {
      cancel = null;
      onStalled(inWindow);
      return;
    }
    inWindow = 0;
    cancel = clock.after(rate.windowMs, judge);
  };
  cancel = clock.after(rate.windowMs, judge);
  return {
    received(n) {
      inWindow += n;
    },
    stop() {
      cancel?.();
      cancel = null;
    },
  };
}
