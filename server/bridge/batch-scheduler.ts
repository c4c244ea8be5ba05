// Dynamic batching for one model version, with TorchServe's meaning: up to `batchSize` queued
// requests run as one batch; a free worker waits at most `maxBatchDelayMs` for a batch to fill.
// Requests that arrive while every worker is busy are batched together without any wait.
// The queue is bounded: past `queueSize` a request is refused at once.

import { BridgeError } from './bridge-error.js';

export interface BatchJob {
  pixels: Uint8Array;
  k: number;
}

export interface JobResult {
  classes: Int32Array;
  probabilities: Float32Array;
}

export interface BatchResult {
  results: JobResult[];
  /** Time the batch waited inside the worker before it ran (counted as queueing). */
  waitMs: number;
  transferMs: number;
  inferMs: number;
}

export interface BatchWorker {
  readonly ready: boolean;
  /** Batches it may hold at once: more than one lets the next batch cross the channel while one runs. */
  readonly capacity: number;
  runBatch(jobs: BatchJob[], deadlineMs: number): Promise<BatchResult>;
}

export interface ScheduledResult extends JobResult {
  batch: number;
  queueMs: number;
  transferMs: number;
  inferMs: number;
}

export interface SchedulerOptions {
  batchSize: number;
  maxBatchDelayMs: number;
  queueSize: number;
}

interface Pending extends BatchJob {
  enqueuedAt: number;
  deadlineAt: number;
  timer: NodeJS.Timeout;
  resolve(r: ScheduledResult): void;
  reject(e: Error): void;
}

export class BatchScheduler {
  private readonly queue: Pending[] = [];
  private readonly inFlight = new Map<BatchWorker, number>();
  private fillTimer: NodeJS.Timeout | null = null;
  private draining = false;

  constructor(
    private readonly workers: () => readonly BatchWorker[],
    readonly options: SchedulerOptions,
  ) {}

  get queued(): number {
    return this.queue.length;
  }

  submit(job: BatchJob, deadlineMs: number): Promise<ScheduledResult> {
    if (this.draining) return Promise.reject(new BridgeError('closed', 'this model is being unregistered'));
    if (!this.workers().some((w) => w.ready)) {
      return Promise.reject(new BridgeError('closed', 'no worker of this model is ready'));
    }
    if (this.queue.length >= this.options.queueSize) {
      return Promise.reject(new BridgeError('busy', `the queue of this model is full (job_queue_size ${this.options.queueSize})`));
    }
    return new Promise<ScheduledResult>((resolve, reject) => {
      const now = performance.now();
      const pending: Pending = {
        ...job,
        enqueuedAt: now,
        deadlineAt: now + deadlineMs,
        resolve,
        reject,
        timer: setTimeout(() => this.expire(pending), deadlineMs),
      };
      this.queue.push(pending);
      this.dispatch();
    });
  }

  /** Refuses new requests and resolves when everything queued or running has finished. */
  async drain(): Promise<void> {
    this.draining = true;
    await until(() => this.queue.length === 0 && [...this.inFlight.values()].every((n) => n === 0));
  }

  /** Resolves when `worker` has no batch in flight (it may have left the worker list already). */
  async whenIdle(worker: BatchWorker): Promise<void> {
    await until(() => (this.inFlight.get(worker) ?? 0) === 0);
  }

  /** A worker stopped being ready: fail what is queued if none is left. */
  workersChanged(): void {
    this.dispatch();
  }

  /** Fails every queued request at once, e.g. when the browser is gone. */
  failAll(error: BridgeError): void {
    for (const p of this.queue.splice(0)) {
      clearTimeout(p.timer);
      p.reject(error);
    }
  }

  private expire(p: Pending): void {
    const i = this.queue.indexOf(p);
    if (i < 0) return; // already running: the worker's own deadline covers it
    this.queue.splice(i, 1);
    p.reject(new BridgeError('timeout', `the request waited ${Math.round(performance.now() - p.enqueuedAt)} ms in the queue (raise default_response_timeout to allow more)`));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      // The least loaded ready worker with room: an idle one before a busy one.
      let worker: BatchWorker | undefined;
      for (const w of this.workers()) {
        const load = this.inFlight.get(w) ?? 0;
        if (w.ready && load < w.capacity && (!worker || load < (this.inFlight.get(worker) ?? 0))) worker = w;
      }
      if (!worker) {
        if (!this.workers().some((w) => w.ready)) this.failAll(new BridgeError('closed', 'no worker of this model is ready'));
        return;
      }
      const waited = performance.now() - this.queue[0]!.enqueuedAt;
      // A batch that is not full waits for its delay; and a worker that is already running one
      // takes a second only when it is full, so idle workers and fuller batches come first.
      const full = this.queue.length >= this.options.batchSize;
      if (!full && (this.inFlight.get(worker) ?? 0) > 0) return;
      if (!full && waited < this.options.maxBatchDelayMs) {
        this.fillTimer ??= setTimeout(() => {
          this.fillTimer = null;
          this.dispatch();
        }, this.options.maxBatchDelayMs - waited);
        return;
      }
      this.run(worker, this.queue.splice(0, this.options.batchSize));
    }
  }

  private run(worker: BatchWorker, jobs: Pending[]): void {
    const started = performance.now();
    for (const j of jobs) clearTimeout(j.timer);
    const deadline = Math.max(1, Math.min(...jobs.map((j) => j.deadlineAt)) - started);
    this.inFlight.set(worker, (this.inFlight.get(worker) ?? 0) + 1);
    worker
      .runBatch(jobs, deadline)
      .then(
        (out) =>
          jobs.forEach((j, i) =>
            j.resolve({
              ...out.results[i]!,
              batch: jobs.length,
              queueMs: started - j.enqueuedAt + out.waitMs,
              transferMs: out.transferMs,
              inferMs: out.inferMs,
            }),
          ),
        (e: Error) => jobs.forEach((j) => j.reject(e)),
      )
      .finally(() => {
        this.inFlight.set(worker, this.inFlight.get(worker)! - 1);
        this.dispatch();
      });
  }
}

/** Polls `done` every 20 ms: batches finish on their own schedule, and nothing here needs a wake-up. */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((r) => setTimeout(r, 20));
}
