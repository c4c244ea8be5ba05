// Image decodes run in a few long-lived processes, one per slot (decode-process.ts), so at most
// `slots` run at once. Heavy ones (large or many-pass images) may take at most `slots - 1` of
// them when there are two or more, so an ordinary photo never waits behind them. The rest wait
// in a line that is answered 503 when full; a request leaves the line when its deadline passes
// or its client goes, before any of its work is done.
//
// A decode still running at its request's deadline is given up: the request is answered 504 and
// the decode's process killed and replaced, so the slot is free again at once (a decode that began
// less than MIN_RUN_MS before the deadline is let run that long first). A running decode whose
// client goes is let finish: killing it would cost a process start, more than most decodes, and
// any client could ask for that at will.

import type { Deadline } from '../ops/deadline.js';
import type { DecodeJob, ImageHeader, JobResult } from './decode-messages.js';
import { ApiError } from '../errors.js';
import type { DecodeGate } from './preprocess.js';
import { systemClock, type Clock } from '../ops/clock.js';

/** Where a slot's jobs run: decode-process.ts, or a fake in tests. */
export interface DecodeRunner {
  run(job: DecodeJob): Promise<ImageHeader | Uint8Array>;
  /** Fails the job in hand with `reason` at once, and is ready for the next without waiting for the decode to end. */
  abandon(reason: Error): void;
  /** Why the runner cannot take jobs now, or null. */
  unavailable(): string | null;
  start?(): void;
  close?(): Promise<void>;
  /** The id of the process that runs its jobs now. */
  readonly pid?: number | undefined;
  /** Resolves once every process it killed has ended. */
  reaped?(): Promise<void>;
}

/** What the pool reads of a request's deadline: when it is, and the 504 that says it passed. */
export type PoolDeadline = Pick<Deadline, 'at' | 'exceeded'>;

export interface DecodeRequest {
  heavy: boolean;
  deadline: PoolDeadline;
  /** Aborted when the client has gone. */
  signal?: AbortSignal;
}

interface Waiter extends DecodeRequest {
  since: number;
  start: (slot: Running) => void;
}

interface Running {
  heavy: boolean;
  runner: DecodeRunner;
}

/** How long an ordinary image may wait for a slot before the server calls itself not ready. */
const STALL_MS = 5000;

/**
 * A decode is given up (its process killed) no sooner than this after it began, about what
 * starting another process costs: otherwise a client whose deadline falls just after its decode
 * begins (a gRPC deadline of a few ms) would make the server start a process for every request,
 * at many times the cost of the decode it saved. A decode that began earlier is given up at its
 * deadline exactly.
 */
export const MIN_RUN_MS = 250;

export class DecodePool {
  private readonly idle: DecodeRunner[];
  private readonly running = new Set<Running>();
  private readonly line: Waiter[] = [];
  private started = 0;
  private abandoned = 0;

  constructor(
    private readonly runners: readonly DecodeRunner[],
    readonly maxWaiting: number,
    private readonly clock: Clock = systemClock,
  ) {
    this.idle = [...runners];
  }

  get slots(): number {
    return this.runners.length;
  }

  /** Starts every slot's process now rather than at its first job. */
  start(): void {
    for (const r of this.runners) r.start?.();
  }

  async close(): Promise<void> {
    await Promise.all(this.runners.map((r) => r.close?.()));
  }

  /** The ids of the decode processes running now. */
  pids(): number[] {
    return this.runners.flatMap((r) => (r.pid === undefined ? [] : [r.pid]));
  }

  /** Resolves once every decode process killed so far has ended. */
  async reaped(): Promise<void> {
    await Promise.all(this.runners.map((r) => r.reaped?.()));
  }

  /** Runs `job` in a slot once one is free for it; rejects with 503, 504 or the abort reason. */
  async run<J extends DecodeJob>(request: DecodeRequest, job: J): Promise<JobResult<J>> {
    const slot = await this.acquire(request);
    const release = () => {
      this.running.delete(slot);
      this.idle.push(slot.runner);
      this.next();
    };
    if (request.signal?.aborted) {
      release();
      throw request.signal.reason;
    }
    this.started++;
    const late = () => request.deadline.exceeded('decoding the image');
    const killAt = Math.max(request.deadline.at, this.clock.now() + MIN_RUN_MS);
    const kill = this.clock.setTimeout(() => {
      this.abandoned++;
      slot.runner.abandon(late());
    }, killAt - this.clock.now());
    const work = slot.runner.run(job).finally(() => {
      this.clock.clearTimeout(kill);
      release();
    });
    // Given up at the deadline, the decode fails with the 504 itself. One that began too late to
    // be given up then still leaves its request at the deadline.
    if (killAt <= request.deadline.at) return (await work) as JobResult<J>;
    work.catch(() => undefined);
    let answer: unknown;
    try {
      const deadline = new Promise<never>((_, reject) => (answer = this.clock.setTimeout(() => reject(late()), this.remainingMs(request.deadline))));
      return (await Promise.race([work, deadline])) as JobResult<J>;
    } finally {
      this.clock.clearTimeout(answer);
    }
  }

  /** The gate one request's decodes go through: its deadline, and its client going away. */
  gate(deadline: PoolDeadline, signal?: AbortSignal): DecodeGate {
    return { run: (heavy, job) => this.run({ heavy, deadline, ...(signal ? { signal } : {}) }, job) };
  }

  /** Decodes running and waiting now; how many were started, and given up at their deadline, so far. */
  get stats(): { running: number; heavy: number; waiting: number; started: number; abandoned: number } {
    const all = [...this.running];
    return { running: all.length, heavy: all.filter((r) => r.heavy).length, waiting: this.line.length, started: this.started, abandoned: this.abandoned };
  }

  /** Why an ordinary image could not be decoded promptly now, or null when it could. */
  blocked(): string | null {
    const unavailable = this.runners.map((r) => r.unavailable());
    if (unavailable.every((why) => why !== null)) return unavailable[0]!;
    if (this.line.length >= this.maxWaiting) return `the image decode line is full (${this.maxWaiting})`;
    const oldest = this.line.find((w) => !w.heavy);
    if (oldest && this.clock.now() - oldest.since > STALL_MS) return `an image has waited over ${STALL_MS / 1000} s to be decoded`;
    return null;
  }

  private remainingMs(deadline: PoolDeadline): number {
    return Math.max(0, deadline.at - this.clock.now());
  }

  private heavyCap(): number {
    return Math.max(1, this.slots - 1);
  }

  private canStart(heavy: boolean): boolean {
    if (this.idle.length === 0) return false;
    return !heavy || [...this.running].filter((r) => r.heavy).length < this.heavyCap();
  }

  /** A slot, counted as running from the moment it is granted. */
  private acquire(request: DecodeRequest): Promise<Running> {
    request.signal?.throwIfAborted();
    if (this.remainingMs(request.deadline) <= 1) return Promise.reject(request.deadline.exceeded('waiting for the image to arrive'));
    return new Promise<Running>((resolve, reject) => {
      let timer: unknown;
      const stopWaiting = () => {
        this.clock.clearTimeout(timer);
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
        since: this.clock.now(),
        start: (slot) => {
          stopWaiting();
          resolve(slot);
        },
      };
      this.line.push(waiter);
      this.next();
      if (!this.line.includes(waiter)) return; // started at once
      if (this.line.length > this.maxWaiting) {
        leave(new ApiError(503, 'ServiceUnavailableException', `The server is decoding as many images as it can and ${this.maxWaiting} more are waiting; retry later.`, { 'Retry-After': '1' }));
        return;
      }
      timer = this.clock.setTimeout(() => leave(request.deadline.exceeded('waiting to decode the image')), this.remainingMs(request.deadline));
      request.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** A slot came free: start the first waiters allowed to run, ordinary ones past heavy ones. */
  private next(): void {
    for (let i = 0; i < this.line.length && this.idle.length > 0; ) {
      const w = this.line[i]!;
      if (this.canStart(w.heavy)) {
        this.line.splice(i, 1);
        const slot: Running = { heavy: w.heavy, runner: this.idle.pop()! };
        this.running.add(slot);
        w.start(slot);
      } else {
        i++;
      }
    }
  }
}
