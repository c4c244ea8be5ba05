// Dynamic batching for one model version, with TorchServe's meaning: up to `batchSize` queued
// images run as one batch; a free worker waits at most `maxBatchDelayMs` for a batch to fill.
// Requests that arrive while every worker is busy are batched together without any wait.
// Already-preprocessed tensors (KServe v2) share the same queue, bound and deadlines, and batch
// with each other the same way when their shapes past the batch dimension agree: their rows
// are joined into one tensor of at most `batchSize` rows, and its output split back.
// The queue is bounded: past `queueSize` a request is refused at once. A request whose client
// has gone leaves the queue before it costs a run.

import { systemClock, type Clock } from '../ops/clock.js';
import { BridgeError, type TimeLimit } from '../page/bridge-error.js';

export interface BatchJob {
  pixels: Uint8Array;
  k: number;
}

export interface TensorJob {
  data: Float32Array;
  dims: number[];
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

export interface TensorResult {
  data: Float32Array;
  dims: number[];
  /** Waiting in the page for the run before this one. */
  waitMs: number;
  transferMs: number;
  inferMs: number;
}

export interface BatchWorker {
  readonly ready: boolean;
  /** Batches it may hold at once: more than one lets the next batch cross the channel while one runs. */
  readonly capacity: number;
  runBatch(jobs: BatchJob[], limit: TimeLimit): Promise<BatchResult>;
  runTensor(job: TensorJob, limit: TimeLimit): Promise<TensorResult>;
}

export interface ScheduledResult extends JobResult {
  batch: number;
  queueMs: number;
  transferMs: number;
  inferMs: number;
}

export interface ScheduledTensor extends Omit<TensorResult, 'waitMs'> {
  /** In the gateway's queue, then in the page behind the run before. */
  queueMs: number;
  /** How many requests ran in the same session.run. */
  batch: number;
}

export interface SchedulerOptions {
  batchSize: number;
  maxBatchDelayMs: number;
  queueSize: number;
}

type Work = { kind: 'image'; job: BatchJob; resolve(r: ScheduledResult): void } | { kind: 'tensor'; job: TensorJob; resolve(r: ScheduledTensor): void };

type Pending = Work & {
  enqueuedAt: number;
  deadlineAt: number;
  /** The setting that set the deadline, for the 504. */
  setting: string;
  timer: unknown;
  reject(e: Error): void;
  /** Stops listening for the client going away. */
  forget(): void;
};

export class BatchScheduler {
  private readonly queue: Pending[] = [];
  private readonly inFlight = new Map<BatchWorker, number>();
  private fillTimer: unknown = null;
  private draining = false;

  constructor(
    private readonly workers: () => readonly BatchWorker[],
    readonly options: SchedulerOptions,
    /** Delays and deadlines run on it; a test passes one it moves by hand. */
    private readonly clock: Clock = systemClock,
  ) {}

  get queued(): number {
    return this.queue.length;
  }

  /** One image; answers its top k. */
  submit(job: BatchJob, limit: TimeLimit, signal?: AbortSignal): Promise<ScheduledResult> {
    return new Promise((resolve, reject) => this.enqueue({ kind: 'image', job, resolve }, reject, limit, signal));
  }

  /** One tensor in the model's input layout; answers its rows of the raw output. */
  submitTensor(job: TensorJob, limit: TimeLimit, signal?: AbortSignal): Promise<ScheduledTensor> {
    return new Promise((resolve, reject) => this.enqueue({ kind: 'tensor', job, resolve }, reject, limit, signal));
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
    for (const p of this.queue.splice(0)) this.settle(p, () => p.reject(error));
  }

  private enqueue(work: Work, reject: (e: Error) => void, { ms: deadlineMs, setting }: TimeLimit, signal?: AbortSignal): void {
    if (this.draining) return reject(new BridgeError('closed', 'this model is being unregistered'));
    if (!this.workers().some((w) => w.ready)) return reject(this.noWorker());
    if (this.queue.length >= this.options.queueSize) {
      return reject(new BridgeError('busy', `the queue of this model is full (job_queue_size ${this.options.queueSize})`));
    }
    if (signal?.aborted) return reject(signal.reason);
    const now = this.clock.now();
    const onAbort = () => this.leave(pending, signal!.reason);
    const pending: Pending = {
      ...work,
      reject,
      enqueuedAt: now,
      deadlineAt: now + deadlineMs,
      setting,
      timer: this.clock.setTimeout(
        () => this.leave(pending, new BridgeError('timeout', `the request waited ${Math.round(this.clock.now() - now)} ms in the queue (raise ${setting} to allow more)`)),
        deadlineMs,
      ),
      forget: () => signal?.removeEventListener('abort', onAbort),
    } as Pending;
    signal?.addEventListener('abort', onAbort, { once: true });
    this.queue.push(pending);
    this.dispatch();
  }

  private noWorker(): BridgeError {
    return new BridgeError('closed', this.workers().length === 0 ? 'it has no worker to serve inference requests; use the scale workers API to add workers' : 'no worker of this model is ready');
  }

  /** Takes a request out of the queue unanswered; one already running finishes as it is. */
  private leave(p: Pending, error: Error): void {
    const i = this.queue.indexOf(p);
    if (i < 0) return;
    this.queue.splice(i, 1);
    this.settle(p, () => p.reject(error));
  }

  private settle(p: Pending, answer: () => void): void {
    this.clock.clearTimeout(p.timer);
    p.forget();
    answer();
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
        if (!this.workers().some((w) => w.ready)) this.failAll(this.noWorker());
        return;
      }
      const head = this.queue[0]!;
      const { count, rows } = this.batchAt(head);
      const waited = this.clock.now() - head.enqueuedAt;
      // A batch that is not full waits for its delay; and a worker that is already running one
      // takes a second only when it is full, so idle workers and fuller batches come first.
      // A request queued behind that cannot join the batch ends it: it may not wait for company.
      const full = rows >= this.options.batchSize || count < this.queue.length;
      if (!full && (this.inFlight.get(worker) ?? 0) > 0) return;
      if (!full && waited < this.options.maxBatchDelayMs) {
        this.fillTimer ??= this.clock.setTimeout(() => {
          this.fillTimer = null;
          this.dispatch();
        }, this.options.maxBatchDelayMs - waited);
        return;
      }
      this.run(worker, this.queue.splice(0, count));
    }
  }

  /**
   * How many queued requests from the head run together, and their rows: images one row each,
   * tensors their first dimension, only beside tensors whose other dimensions are the same; at
   * most `batchSize` rows, except a head tensor that has more by itself.
   */
  private batchAt(head: Pending): { count: number; rows: number } {
    const rowsOf = (p: Pending) => (p.kind === 'tensor' ? p.job.dims[0]! : 1);
    const shape = (p: Pending) => (p.kind === 'tensor' ? p.job.dims.slice(1).join('x') : 'image');
    let count = 1;
    let rows = rowsOf(head);
    for (const p of this.queue.slice(1)) {
      if (p.kind !== head.kind || shape(p) !== shape(head) || rows + rowsOf(p) > this.options.batchSize) break;
      count++;
      rows += rowsOf(p);
    }
    return { count, rows };
  }

  private run(worker: BatchWorker, jobs: Pending[]): void {
    const started = this.clock.now();
    for (const j of jobs) {
      this.clock.clearTimeout(j.timer);
      j.forget();
    }
    // The batch answers by its earliest deadline, and names that request's setting.
    const soonest = jobs.reduce((a, b) => (b.deadlineAt < a.deadlineAt ? b : a));
    const limit = { ms: Math.max(1, soonest.deadlineAt - started), setting: soonest.setting };
    this.inFlight.set(worker, (this.inFlight.get(worker) ?? 0) + 1);
    const queueMs = (j: Pending) => started - j.enqueuedAt;
    const first = jobs[0]!;
    const running: Promise<void> =
      first.kind === 'tensor'
        ? runTensors(worker, jobs as TensorPending[], limit).then(({ out, parts }) =>
            (jobs as TensorPending[]).forEach((j, i) => j.resolve({ ...parts[i]!, transferMs: out.transferMs, inferMs: out.inferMs, queueMs: queueMs(j) + out.waitMs, batch: jobs.length })),
          )
        : worker
            .runBatch(
              jobs.map((j) => j.job as BatchJob),
              limit,
            )
            .then((out) =>
              jobs.forEach((j, i) =>
                (j as Extract<Pending, { kind: 'image' }>).resolve({
                  ...out.results[i]!,
                  batch: jobs.length,
                  queueMs: queueMs(j) + out.waitMs,
                  transferMs: out.transferMs,
                  inferMs: out.inferMs,
                }),
              ),
            );
    running
      .catch((e: Error) => jobs.forEach((j) => j.reject(e)))
      .finally(() => {
        this.inFlight.set(worker, this.inFlight.get(worker)! - 1);
        this.dispatch();
      });
  }
}

type TensorPending = Extract<Pending, { kind: 'tensor' }>;

/** The tensors' rows joined into one run, and each one's rows of the output. */
async function runTensors(worker: BatchWorker, jobs: TensorPending[], limit: TimeLimit) {
  if (jobs.length === 1) {
    const out = await worker.runTensor(jobs[0]!.job, limit);
    return { out, parts: [{ data: out.data, dims: out.dims }] };
  }
  const rows = jobs.map((j) => j.job.dims[0]!);
  const data = new Float32Array(jobs.reduce((n, j) => n + j.job.data.length, 0));
  let at = 0;
  for (const j of jobs) {
    data.set(j.job.data, at);
    at += j.job.data.length;
  }
  const total = rows.reduce((a, b) => a + b, 0);
  const out = await worker.runTensor({ data, dims: [total, ...jobs[0]!.job.dims.slice(1)] }, limit);
  const perRow = out.data.length / total;
  let row = 0;
  const parts = rows.map((n) => {
    const part = { data: out.data.slice(row * perRow, (row + n) * perRow), dims: [n, ...out.dims.slice(1)] };
    row += n;
    return part;
  });
  return { out, parts };
}

/** Polls `done` every 20 ms: batches finish on their own schedule, and nothing here needs a wake-up. */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((r) => setTimeout(r, 20));
}
