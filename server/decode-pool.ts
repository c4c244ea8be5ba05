// Image decodes run on libuv's thread pool, which they share with file reads (the demo page,
// model files). At most `slots` run at once. Heavy ones (large or many-pass images) may take at
// most `slots - 1` of them when there are two or more, so an ordinary photo never waits behind
// them. The rest wait in a line that is answered 503 when full; a request leaves the line when
// its deadline passes or its client goes, before any of its work is done.
//
// A decode cannot be stopped once libjpeg is in it. Past its deadline the request is answered
// 504 at once, but its slot stays taken until the decode really ends: the pool never has more
// decodes running than it has slots, and readiness turns false while such decodes hold them all.

import type { Deadline } from './deadline.js';
import { ApiError } from './errors.js';
import type { DecodeGate } from './preprocess.js';

export interface DecodeRequest {
  heavy: boolean;
  deadline: Deadline;
  /** Aborted when the client has gone. */
  signal?: AbortSignal;
}

interface Waiter extends DecodeRequest {
  since: number;
  start: () => void;
}

interface Running {
  heavy: boolean;
  deadline: Deadline;
}

/** How long an ordinary image may wait for a slot before the server calls itself not ready. */
const STALL_MS = 5000;

export class DecodePool {
  private readonly running = new Set<Running>();
  private readonly line: Waiter[] = [];

  constructor(
    readonly slots: number,
    readonly maxWaiting: number,
  ) {}

  /** Runs `work` in a slot once one is free for it; rejects with 503, 504 or the abort reason. */
  async run<T>(request: DecodeRequest, work: () => Promise<T>): Promise<T> {
    const entry = await this.acquire(request);
    const release = () => {
      this.running.delete(entry);
      this.next();
    };
    if (request.signal?.aborted) {
      release();
      throw request.signal.reason;
    }
    const done = work().finally(release);
    done.catch(() => undefined);
    // The client gets its answer at the deadline even if the decode goes on.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(request.deadline.exceeded('decoding the image')), request.deadline.remainingMs());
    });
    try {
      return await Promise.race([done, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The gate one request's decodes go through: its deadline, and its client going away. */
  gate(deadline: Deadline, signal?: AbortSignal): DecodeGate {
    return {
      run: (heavy, work) => this.run({ heavy, deadline, ...(signal ? { signal } : {}) }, () => work(Math.max(1, Math.ceil(deadline.remainingMs() / 1000)))),
    };
  }

  get stats(): { running: number; heavy: number; waiting: number; overdue: number } {
    const all = [...this.running];
    return { running: all.length, heavy: all.filter((r) => r.heavy).length, waiting: this.line.length, overdue: all.filter((r) => r.deadline.expired()).length };
  }

  /** Why an ordinary image could not be decoded promptly now, or null when it could. */
  blocked(): string | null {
    const { overdue, waiting } = this.stats;
    if (overdue >= this.slots) return `every image decode slot (${this.slots}) is held by a decode past its deadline`;
    if (waiting >= this.maxWaiting) return `the image decode line is full (${this.maxWaiting})`;
    const oldest = this.line.find((w) => !w.heavy);
    if (oldest && performance.now() - oldest.since > STALL_MS) return `an image has waited over ${STALL_MS / 1000} s to be decoded`;
    return null;
  }

  private heavyCap(): number {
    return Math.max(1, this.slots - 1);
  }

  private canStart(heavy: boolean): boolean {
    if (this.running.size >= this.slots) return false;
    return !heavy || [...this.running].filter((r) => r.heavy).length < this.heavyCap();
  }

  /** A slot, counted as running from the moment it is granted. */
  private acquire(request: DecodeRequest): Promise<Running> {
    request.signal?.throwIfAborted();
    if (request.deadline.expired()) return Promise.reject(request.deadline.exceeded('waiting for the image to arrive'));
    return new Promise<Running>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const stopWaiting = () => {
        clearTimeout(timer);
        request.signal?.removeEventListener('abort', onAbort);
      };
      const leave = (e: unknown) => {
        const i = this.line.indexOf(waiter);
        if (i >= 0) this.line.splice(i, 1);
        stopWaiting();
        reject(e);
      };
      const onAbort = () => leave(request.signal!.reason);
      const waiter: Waiter = {
        ...request,
        since: performance.now(),
        start: () => {
          stopWaiting();
          resolve(this.take(request));
        },
      };
      this.line.push(waiter);
      this.next();
      if (!this.line.includes(waiter)) return; // started at once
      if (this.line.length > this.maxWaiting) {
        leave(new ApiError(503, 'ServiceUnavailableException', `The server is decoding as many images as it can and ${this.maxWaiting} more are waiting; retry later.`, { 'Retry-After': '1' }));
        return;
      }
      timer = setTimeout(() => leave(request.deadline.exceeded('waiting to decode the image')), request.deadline.remainingMs());
      request.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private take(request: DecodeRequest): Running {
    const entry: Running = { heavy: request.heavy, deadline: request.deadline };
    this.running.add(entry);
    return entry;
  }

  /** A slot came free: start the first waiters allowed to run, ordinary ones past heavy ones. */
  private next(): void {
    for (let i = 0; i < this.line.length && this.running.size < this.slots; ) {
      const w = this.line[i]!;
      if (this.canStart(w.heavy)) {
        this.line.splice(i, 1);
        w.start();
      } else {
        i++;
      }
    }
  }
}
