// One model version's worker: its load, its runs, its health, in a runtime page (runtime-page.ts)
// of its own or, where the server shares pages, one it shares with worker i of other models.
//
// A call and its bytes cross through the page's channel (page-channel.ts), the page's reply comes
// back the same way; DevTools failures (devtools-failure.ts) become BridgeErrors of the matching kind.

import type { GatewayArgs, LoadRequest, ModelRuntimeInfo, PageOp, PageReplies } from '../../browser-runtime/protocol.js';
import { log } from '../ops/log.js';
import { BridgeError } from './bridge-error.js';
import { Deadline } from '../ops/deadline.js';
import type { LaunchedBrowser } from '../chromium/browser-launch.js';
import type { SandboxState } from '../chromium/chromium-sandbox.js';
import type { RuntimePage } from './runtime-page.js';
import type { BatchJob, BatchRun, BatchWorker } from '../pipeline/batch-scheduler.js';
import type { HandlerItem, RunTiming, Tensor, TensorResult, WorkerState, WorkerStatus } from './inference-engine.js';

/** The time a worker has to start, opening its page and loading the model, and the setting that gives it. */
export interface StartupTimeout {
  ms: number;
  setting: string;
}

export class PageWorker implements BatchWorker {
  state: WorkerState = 'loading';
  runtime: ModelRuntimeInfo | null = null;
  error: string | null = null;
  readonly startedAt = new Date();
  /** Chromium's sandbox as the browser this page runs in got it. */
  sandbox: SandboxState | null = null;
  /** This worker's place in its page: what its calls name. */
  private readonly tenant: number;
  /** Leaving the page, once asked. */
  private leaving: Promise<void> | null = null;
  /** Calls sent to the page and not answered yet (at most `capacity`). */
  private inPage = 0;

  constructor(
    readonly id: number,
    readonly key: string,
    /** The page it loads its model into: its own, or one it shares (runtime-page.ts). */
    private readonly page: RuntimePage,
    private readonly request: LoadRequest,
    /** Told when this worker stops being ready, so queued requests do not wait for it. */
    private readonly onFailure: () => void = () => {},
    /** The model's startup_timeout; without one, the load deadline. */
    private readonly startup: StartupTimeout | null = null,
    /** Told of each run's session.run time per image, as the page measured it. */
    private readonly onRun: (runMsPerImage: number) => void = () => {},
  ) {
    this.tenant = page.join(this);
  }

  /** The page's renderer process, where it could be told (renderer-process.ts). */
  get pid(): number | null {
    return this.page.pid;
  }

  async start(launched: LaunchedBrowser): Promise<ModelRuntimeInfo> {
    this.sandbox = launched.sandbox;
    try {
      // One deadline for opening the page and loading the model, from when this page's turn to
      // open comes (one page opens at a time); a worker joining a page already open starts its
      // clock once the page is.
      let limit: Deadline | null = null;
      const limitNow = () => (limit ??= this.startup ? Deadline.after(this.startup.ms, this.startup.setting) : this.page.loadDeadline());
      await this.page.open(launched, limitNow, `worker ${this.id} of ${this.key}`);
      // Closed (scaled down, unregistered, shut down) while the page opened.
      if (this.state === 'closed') throw new BridgeError('closed', `worker ${this.id} of ${this.key} was closed while it started`);
      this.runtime = await this.call('load', this.request, limitNow(), 'loading the model').catch(async (e: unknown) => {
        // Past its deadline, the load is still somewhere in the page: the error says where.
        if (e instanceof BridgeError && e.kind === 'timeout') throw new BridgeError('timeout', `${e.message}; the page: ${await this.page.progress()}`);
        throw e;
      });
      this.state = 'ready';
      return this.runtime;
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      this.fail('model', why);
      // A load past its deadline is still running in the page (a warm-up keeps every WASM
      // thread busy), and a failed one holds a renderer: only closing the page ends either. A
      // page other models share closes for the first (they load again elsewhere), not the second.
      if (e instanceof BridgeError && e.kind === 'timeout' && this.page.tenantCount > 1) await this.page.retire(`${this.key} worker ${this.id} did not load in time: ${why}`);
      await this.leavePage();
      throw e;
    }
  }

  // Two batches in flight: the next one's bytes cross (page-channel.ts: the network service
  // receives them, off the page's main thread) while this one computes, and the WASM threads go
  // from one run to the next with no gap. BENCHMARKS.md has the figures that chose two.
  readonly capacity = 2;

  get ready(): boolean {
    return this.state === 'ready';
  }

  /** One batch: its pixels cross once as raw bytes, the top k of each image come back. */
  async runBatch(jobs: BatchJob[], deadline: Deadline): Promise<BatchRun> {
    const k = Math.max(...jobs.map((j) => j.k));
    const pixels = jobs.map((j) => j.pixels);
    const { r, roundTripMs, pageWaitMs } = await this.timed(() => this.run('infer', { batch: jobs.length, k, pixels }, deadline, 'the prediction'));
    const { classes, probabilities } = r;
    const inferMs = r.normaliseMs + r.runMs + r.rankMs;
    const waitMs = r.waitMs + pageWaitMs;
    this.onRun(r.runMs / jobs.length);
    return {
      results: jobs.map((j, i) => ({
        classes: classes.subarray(i * r.k, i * r.k + Math.min(j.k, r.k)),
        probabilities: probabilities.subarray(i * r.k, i * r.k + Math.min(j.k, r.k)),
      })),
      timing: { batch: jobs.length, queueMs: waitMs, transferMs: Math.max(0, roundTripMs - inferMs - waitMs), inferMs },
    };
  }

  /** An already preprocessed float32 tensor, run as it is (KServe v2); answers the raw output. */
  async runTensor({ data, dims }: Tensor, deadline: Deadline): Promise<TensorResult> {
    const { r, roundTripMs, pageWaitMs } = await this.timed(() => this.run('runTensor', { dims, data }, deadline, 'the inference'));
    const waitMs = r.waitMs + pageWaitMs;
    return { data: r.output, dims: r.dims, timing: { batch: 1, queueMs: waitMs, transferMs: Math.max(0, roundTripMs - r.runMs - waitMs), inferMs: r.runMs } };
  }

  /** A batch of items for the model's handler: they cross once as raw bytes, each one's answer comes back as the page wrote it. */
  async runItems(items: HandlerItem[], deadline: Deadline): Promise<{ answers: string[]; timing: RunTiming }> {
    const metaWidth = Math.max(0, ...items.map((i) => i.meta.length));
    const meta = new Float32Array(items.length * metaWidth);
    items.forEach((item, i) => meta.set(item.meta, i * metaWidth));
    const args = { items: items.map((i) => i.bytes), metaWidth, meta };
    const { r, roundTripMs, pageWaitMs } = await this.timed(() => this.run('handle', args, deadline, 'the prediction'));
    const inferMs = r.prepareMs + r.runMs + r.answerMs;
    const waitMs = r.waitMs + pageWaitMs;
    if (r.answers.length !== items.length) throw new BridgeError('model', `the handler answered ${r.answers.length} of ${items.length} items`);
    this.onRun(r.runMs / items.length);
    return { answers: r.answers, timing: { batch: items.length, queueMs: waitMs, transferMs: Math.max(0, roundTripMs - inferMs - waitMs), inferMs } };
  }

  /**
   * Sends a call with its input and times it. A call sent while another is in the page waits for
   * the page's main thread, busy with that one's run, before it even starts: `pageWaitMs`, from
   * the page's start time on the wall clock both share, so it is not counted as transfer.
   */
  private async timed<T extends { calledAt: number }>(call: () => Promise<T>): Promise<{ r: T; roundTripMs: number; pageWaitMs: number }> {
    const behind = this.inPage++ > 0;
    const sentAt = performance.timeOrigin + performance.now();
    const t0 = performance.now();
    try {
      const r = await call();
      return { r, roundTripMs: performance.now() - t0, pageWaitMs: behind ? Math.max(0, r.calledAt - sentAt) : 0 };
    } finally {
      this.inPage--;
    }
  }

  /** A run on a ready page. */
  private async run<Op extends PageOp>(op: Op, args: GatewayArgs[Op], deadline: Deadline, what: string): Promise<PageReplies[Op]> {
    if (this.state !== 'ready') throw new BridgeError('closed', `model ${this.key} is not ready (${this.state})`, this.error ?? undefined);
    try {
      return await this.call(op, args, deadline, what);
    } catch (e) {
      // A failed or stuck run can leave onnxruntime-web unusable in this page: retire it, so the
      // engine replaces it with a fresh one. An input the page refused, or a throw of a model's own
      // handler code, says nothing of its health.
      if (e instanceof BridgeError && e.kind !== 'input' && e.kind !== 'handler') {
        const why = `retired after a failed run (${e.kind}: ${e.message})`;
        this.fail('crashed', why);
        // The page's other models share its onnxruntime: they are loaded again with this one.
        if (this.page.tenantCount > 1) void this.page.retire(`${this.key} worker ${this.id} ${why}`);
      }
      throw e;
    }
  }

  status(): WorkerStatus {
    return { id: this.id, state: this.state, runtime: this.runtime, error: this.error, startedAt: this.startedAt, pid: this.pid, sandbox: this.sandbox };
  }

  fail(kind: 'crashed' | 'closed' | 'model', message: string): void {
    if (this.state === 'failed' || this.state === 'closed') return;
    this.state = kind === 'closed' ? 'closed' : 'failed';
    this.error = message;
    log.error(`${this.key} worker ${this.id}: ${message}`);
    this.onFailure();
  }

  /** Fault injection for tests: crashes this page's renderer as a real crash would. */
  crash(): Promise<void> {
    return this.page.crash();
  }

  async close(): Promise<void> {
    this.state = 'closed';
    await this.leavePage();
  }

  /** Once: a start that fails because its worker was closed meanwhile leaves the same page again. */
  private leavePage(): Promise<void> {
    this.leaving ??= this.page.leave(this.tenant, this.runtime !== null);
    return this.leaving;
  }

  private call<Op extends PageOp>(op: Op, args: GatewayArgs[Op], deadline: Deadline, what: string): Promise<PageReplies[Op]> {
    return this.page.call(this.tenant, op, args, deadline, what);
  }
}
