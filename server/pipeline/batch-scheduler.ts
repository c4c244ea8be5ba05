// Dynamic batching for one model version, with TorchServe's meaning: up to `batchSize` queued
// images run as one batch; a free worker waits at most `maxBatchDelayMs` for a batch to fill.
// Requests that arrive while every worker is busy are batched together without any wait.
// TorchServe decodes in its handler, inside the batch, so a batch holds every request received
// by the time it starts. Here images are decoded before they queue, and two photos sent together
// would reach the queue a decode apart and run alone: so a batch that is not full also waits for
// images of its model already received and still decoding (`expect`), when they are more than
// the idle workers could each take alone, for at most `decodeWaitMs` (max_batch_decode_wait). A
// request alone never waits.
// Already-preprocessed tensors (KServe v2) share the same queue, bound and deadlines, and batch
// with each other the same way when their shapes past the batch dimension agree: their rows
// are joined into one tensor of at most `batchSize` rows, and its output split back.
// The queue is bounded: past `queueSize` a request is refused at once. A request whose client
// has gone leaves the queue before it costs a run.

import { systemClock, type Clock } from '../ops/clock.js';
import { BridgeError } from '../page/bridge-error.js';
import type { HandlerItem, ImageResult, ItemResult, RunTiming, Tensor, TensorResult, TopK } from '../page/inference-engine.js';
import type { Deadline } from '../ops/deadline.js';

export interface BatchJob {
  pixels: Uint8Array;
  k: number;
}

/** A worker's answer to a batch of images: each one's top k, in order, and the run's timing. */
export interface BatchRun {
  results: TopK[];
  timing: RunTiming;
}

/**
 * A worker answers with the timing of its own run: its `queueMs` is the wait inside the worker
 * before the run; the scheduler adds the wait in its queue, and counts the requests in the batch.
 */
export interface BatchWorker {
  readonly ready: boolean;
  /** Batches it may hold at once: more than one lets the next batch cross the channel while one runs. */
  readonly capacity: number;
  runBatch(jobs: BatchJob[], deadline: Deadline): Promise<BatchRun>;
  runTensor(tensor: Tensor, deadline: Deadline): Promise<TensorResult>;
  /** A batch of items for the model's handler: each one's answer, in order, and the run's timing. */
  runItems(items: HandlerItem[], deadline: Deadline): Promise<{ answers: string[]; timing: RunTiming }>;
}

export interface SchedulerOptions {
  batchSize: number;
  maxBatchDelayMs: number;
  queueSize: number;
  /**
   * The longest a batch that is not full waits for images of its model still decoding. An
   * ordinary photo decodes in a few ms; a large one may take far longer, and the batch does not
   * wait for it past this.
   */
  decodeWaitMs?: number;
}

type Work =
  | { kind: 'image'; job: BatchJob; resolve(r: ImageResult): void }
  | { kind: 'tensor'; job: Tensor; resolve(r: TensorResult): void }
  | { kind: 'item'; job: HandlerItem; resolve(r: ItemResult): void };

type Pending = Work & {
  enqueuedAt: number;
  deadline: Deadline;
  timer: unknown;
  reject(e: Error): void;
  /** Stops listening for the client going away. */
  forget(): void;
};

export class BatchScheduler {
  private readonly queue: Pending[] = [];
  private readonly inFlight = new Map<BatchWorker, number>();
  private fillTimer: unknown = null;
  /** When `fillTimer` fires, on the clock. */
  private fillDue = Number.POSITIVE_INFINITY;
  /** Images of this model received and still decoding (`expect`). */
  private decoding = 0;
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

  /** Batches handed to workers and not answered yet, over every worker. */
  get batchesInFlight(): number {
    let n = 0;
    for (const count of this.inFlight.values()) n += count;
    return n;
  }

  /**
   * An image for this model has been received and is being decoded: batches that are not full
   * may wait for it. Call what this returns when it has failed, or just before it is submitted:
   * the batches are looked at again only once the turn ends, so it joins the batch rather than
   * following it. A second call counts for nothing.
   */
  expect(): () => void {
    this.decoding++;
    let arrived = false;
    return () => {
      if (arrived) return;
      arrived = true;
      this.decoding--;
      queueMicrotask(() => this.dispatch());
    };
  }

  /** One image; answers its top k. */
  submit(job: BatchJob, deadline: Deadline, signal?: AbortSignal): Promise<ImageResult> {
    return new Promise((resolve, reject) => this.enqueue({ kind: 'image', job, resolve }, reject, deadline, signal));
  }

  /** One tensor in the model's input layout; answers its rows of the raw output. */
  submitTensor(tensor: Tensor, deadline: Deadline, signal?: AbortSignal): Promise<TensorResult> {
    return new Promise((resolve, reject) => this.enqueue({ kind: 'tensor', job: tensor, resolve }, reject, deadline, signal));
  }

  /** One item for the model's handler; answers what the handler writes. Items batch with items. */
  submitItem(item: HandlerItem, deadline: Deadline, signal?: AbortSignal): Promise<ItemResult> {
    return new Promise((resolve, reject) => this.enqueue({ kind: 'item', job: item, resolve }, reject, deadline, signal));
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

  private enqueue(work: Work, reject: (e: Error) => void, deadline: Deadline, signal?: AbortSignal): void {
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
      deadline,
      timer: this.clock.setTimeout(
        () => this.leave(pending, new BridgeError('timeout', `the request waited ${Math.round(this.clock.now() - now)} ms in the queue (raise ${deadline.setting} to allow more)`)),
        deadline.remainingMs(),
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
      const hold = Math.max(this.options.maxBatchDelayMs, this.awaitsDecodes(count) ? (this.options.decodeWaitMs ?? 0) : 0);
      if (!full && waited < hold) {
        this.wakeAt(head.enqueuedAt + hold);
        return;
      }
      this.run(worker, this.queue.splice(0, count));
    }
  }

  /** Images still decoding are more than the idle workers could each take alone: a batch waits for them. */
  private awaitsDecodes(count: number): boolean {
    if (this.decoding === 0) return false;
    const idle = this.workers().filter((w) => w.ready && (this.inFlight.get(w) ?? 0) === 0).length;
    return count + this.decoding > idle;
  }

  /** Dispatches again at `due` on the clock, unless a wake-up is already set for no later. */
  private wakeAt(due: number): void {
    if (this.fillTimer !== null) {
      if (this.fillDue <= due) return;
      this.clock.clearTimeout(this.fillTimer);
    }
    this.fillDue = due;
    this.fillTimer = this.clock.setTimeout(() => {
      this.fillTimer = null;
      this.fillDue = Number.POSITIVE_INFINITY;
      this.dispatch();
    }, due - this.clock.now());
  }

  /**
   * How many queued requests from the head run together, and their rows: images one row each,
   * tensors their first dimension, only beside tensors whose other dimensions are the same; at
   * most `batchSize` rows, except a head tensor that has more by itself.
   */
  private batchAt(head: Pending): { count: number; rows: number } {
    const rowsOf = (p: Pending) => (p.kind === 'tensor' ? p.job.dims[0]! : 1);
    const shape = (p: Pending) => (p.kind === 'tensor' ? p.job.dims.slice(1).join('x') : p.kind);
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
    const deadline = jobs.map((j) => j.deadline).reduce((a, b) => a.soonest(b));
    this.inFlight.set(worker, (this.inFlight.get(worker) ?? 0) + 1);
    // Each request's own wait in the queue, before the worker's; the batch counted in requests.
    const timing = (j: Pending, run: RunTiming): RunTiming => ({ ...run, batch: jobs.length, queueMs: started - j.enqueuedAt + run.queueMs });
    const kind = jobs[0]!.kind;
    const running: Promise<void> =
      kind === 'tensor'
        ? runTensors(worker, jobs as TensorPending[], deadline).then((parts) => (jobs as TensorPending[]).forEach((j, i) => j.resolve({ ...parts[i]!, timing: timing(j, parts[i]!.timing) })))
        : kind === 'item'
          ? worker
              .runItems(
                jobs.map((j) => j.job as HandlerItem),
                deadline,
              )
              .then((out) => (jobs as ItemPending[]).forEach((j, i) => j.resolve({ answer: out.answers[i]!, timing: timing(j, out.timing) })))
          : worker
              .runBatch(
                jobs.map((j) => j.job as BatchJob),
                deadline,
              )
              .then((out) => (jobs as ImagePending[]).forEach((j, i) => j.resolve({ ...out.results[i]!, timing: timing(j, out.timing) })));
    running
      .catch((e: Error) => jobs.forEach((j) => j.reject(e)))
      .finally(() => {
        this.inFlight.set(worker, this.inFlight.get(worker)! - 1);
        this.dispatch();
      });
  }
}

type ImagePending = Extract<Pending, { kind: 'image' }>;
type TensorPending = Extract<Pending, { kind: 'tensor' }>;
type ItemPending = Extract<Pending, { kind: 'item' }>;

/** The tensors' rows joined into one run, and each one's rows of the output, with the run's timing. */
async function runTensors(worker: BatchWorker, jobs: TensorPending[], deadline: Deadline): Promise<TensorResult[]> {
  if (jobs.length === 1) return [await worker.runTensor(jobs[0]!.job, deadline)];
  const rows = jobs.map((j) => j.job.dims[0]!);
  const data = new Float32Array(jobs.reduce((n, j) => n + j.job.data.length, 0));
  let at = 0;
  for (const j of jobs) {
    data.set(j.job.data, at);
    at += j.job.data.length;
  }
  const total = rows.reduce((a, b) => a + b, 0);
  const out = await worker.runTensor({ data, dims: [total, ...jobs[0]!.job.dims.slice(1)] }, deadline);
  const perRow = out.data.length / total;
  let row = 0;
  return rows.map((n) => {
    const part = { data: out.data.slice(row * perRow, (row + n) * perRow), dims: [n, ...out.dims.slice(1)], timing: out.timing };
    row += n;
    return part;
  });
}

/** Polls `done` every 20 ms: batches finish on their own schedule, and nothing here needs a wake-up. */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((r) => setTimeout(r, 20));
}
