// One Chromium page hosting one model version: its load, its runs, its health.
//
// A call and its bytes cross through page-channel.ts, the page's reply comes back the same way;
// DevTools failures (devtools-failure.ts) become BridgeErrors of the matching kind.

import type { GatewayArgs, GatewayCall, LoadRequest, ModelRuntimeInfo, PageOp, PageReplies } from '../../browser-runtime/protocol.js';
import type { DevToolsSession } from '../devtools/session.js';
import { log } from '../ops/log.js';
import { BridgeError, withDeadline } from './bridge-error.js';
import { Deadline, seconds } from '../ops/deadline.js';
import type { LaunchedBrowser } from '../chromium/browser-launch.js';
import type { SandboxState } from '../chromium/chromium-sandbox.js';
import { asBridgeError } from './devtools-failure.js';
import { PageChannel } from './page-channel.js';
import { withNewRenderer } from '../chromium/renderer-process.js';
import type { BatchJob, BatchRun, BatchWorker } from '../pipeline/batch-scheduler.js';
import type { HandlerItem, RunTiming, Tensor, TensorResult, WorkerState, WorkerStatus } from './inference-engine.js';

/** What sets a load's deadline (lifecycle/engine-options.ts): named in the error of a load that runs past it. */
const LOAD_DEADLINE = 'default_response_timeout (a load may take at least 120 s)';

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
  /** The page's renderer process, where it could be told (renderer-process.ts). */
  pid: number | null = null;
  /** Chromium's sandbox as the browser this page runs in got it. */
  sandbox: SandboxState | null = null;
  private launched: LaunchedBrowser | null = null;
  private targetId: string | null = null;
  private session: DevToolsSession | null = null;
  private channel: PageChannel | null = null;
  /** Closing this worker's page, once asked. */
  private closing: Promise<void> | null = null;
  /** Calls sent to the page and not answered yet (at most `capacity`). */
  private inPage = 0;

  constructor(
    readonly id: number,
    readonly key: string,
    /** The runtime listener's origin and the page's URL on it (server/page/runtime-assets.ts). */
    private readonly site: { origin: string; pageUrl: string },
    private readonly request: LoadRequest,
    private readonly loadTimeoutMs: number,
    /** Told when this worker stops being ready, so queued requests do not wait for it. */
    private readonly onFailure: () => void = () => {},
    /** The model's startup_timeout; without one, the load deadline. */
    private readonly startup: StartupTimeout | null = null,
    /** Told of each run's session.run time per image, as the page measured it. */
    private readonly onRun: (runMsPerImage: number) => void = () => {},
  ) {}

  async start(launched: LaunchedBrowser): Promise<ModelRuntimeInfo> {
    this.sandbox = launched.sandbox;
    try {
      // One deadline for opening the page and loading the model, from when this page's turn to
      // open comes (withNewRenderer opens one page at a time).
      let limit!: Deadline;
      const { pid } = await withNewRenderer(launched.pid, () => {
        limit = this.startup ? Deadline.after(this.startup.ms, this.startup.setting) : Deadline.after(this.loadTimeoutMs, LOAD_DEADLINE);
        return this.open(launched, limit);
      });
      this.pid = pid;
      this.runtime = await this.call('load', this.request, limit, 'loading the model');
      this.state = 'ready';
      return this.runtime;
    } catch (e) {
      this.fail('model', e instanceof Error ? e.message : String(e));
      // A load past its deadline is still running in the page (a warm-up keeps every WASM
      // thread busy), and a failed one holds a renderer: only closing the page ends either.
      await this.closePage();
      throw e;
    }
  }

  /** A new page, its DevTools session and events, navigated to the runtime page within `limit`. */
  private async open(launched: LaunchedBrowser, limit: Deadline): Promise<void> {
    this.launched = launched;
    const browser = launched.connection.browser;
    // Given the load deadline, however short `limit` is: a page made after its call had given up
    // would be one nobody knows of, and nobody closes.
    const { targetId } = await browser.send<{ targetId: string }>('Target.createTarget', { url: 'about:blank' }, Deadline.after(this.loadTimeoutMs, LOAD_DEADLINE));
    this.targetId = targetId;
    // Closed (scaled down, unregistered, shut down) while the page was opening: close() saw no page.
    if (this.state === 'closed') throw new BridgeError('closed', `worker ${this.id} of ${this.key} was closed while it started`);
    if (limit.expired()) throw new BridgeError('timeout', `worker ${this.id} of ${this.key} did not start within ${seconds(limit.totalMs)} s (raise ${limit.setting} to allow more)`);
    const session = await launched.connection.attach(targetId);
    this.session = session;
    session.onEnd((kind, reason) => this.fail(kind === 'crashed' ? 'crashed' : 'closed', reason));
    session.on('Runtime.exceptionThrown', (e) => {
      const d = e['exceptionDetails'] as { text: string; exception?: { description?: string } };
      log.warn(`${this.key}: page error: ${d.exception?.description ?? d.text}`);
    });
    session.on('Runtime.consoleAPICalled', (e) => {
      if (e['type'] !== 'error' && e['type'] !== 'warning') return;
      const text = (e['args'] as Array<{ value?: unknown; description?: string }>).map((a) => (a.value !== undefined ? String(a.value) : (a.description ?? ''))).join(' ');
      // onnxruntime colours its own log lines; a log file wants plain text.
      log.warn(`${this.key}: page console: ${text.replace(/\x1b\[[0-9;]*m/g, '')}`);
    });
    // Inspector for targetCrashed; the channel's Fetch patterns before the page asks for anything.
    await Promise.all([session.send('Inspector.enable', {}, limit), session.send('Runtime.enable', {}, limit), session.send('Page.enable', {}, limit)]);
    this.channel = await PageChannel.attach(session, this.site.origin);
    let loaded!: () => void;
    const load = new Promise<void>((resolve) => (loaded = resolve));
    const stop = session.on('Page.loadEventFired', () => loaded());
    try {
      const { errorText } = await session.send<{ errorText?: string }>('Page.navigate', { url: this.site.pageUrl }, limit);
      if (errorText) throw new BridgeError('model', `the runtime page did not load: ${errorText}`);
      // A page closed meanwhile (unregistered while it loads) fires no load event: its end ends the wait.
      const ended = new Promise<never>((_, reject) =>
        session.onEnd((kind, reason) => reject(new BridgeError(kind === 'crashed' ? 'crashed' : 'closed', `the runtime page ended while it loaded: ${reason}`))),
      );
      ended.catch(() => undefined);
      await withDeadline(Promise.race([load, ended]), limit, 'loading the runtime page');
    } finally {
      stop();
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
      if (e instanceof BridgeError && e.kind !== 'input' && e.kind !== 'handler') this.fail('crashed', `retired after a failed run (${e.kind}: ${e.message})`);
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
  async crash(): Promise<void> {
    // Never answered: the renderer is gone before it could be, and the call fails as crashed.
    await this.session?.send('Page.crash').catch(() => undefined);
  }

  async close(): Promise<void> {
    this.state = 'closed';
    await this.closePage();
  }

  /**
   * Closing the target ends its renderer's work; one already gone (crashed, closed) is no fault.
   * Chromium answers Target.closeTarget before the page is gone from its targets: this waits for
   * Target.targetDestroyed, so that whoever closed it (a failed load, a scale-down) answers only
   * once the page no longer counts.
   */
  private closePage(): Promise<void> {
    // Once: a start that fails because its worker was closed meanwhile closes the same page again.
    if (this.targetId !== null) this.closing ??= this.closeTarget();
    return this.closing ?? Promise.resolve();
  }

  private async closeTarget(): Promise<void> {
    if (this.targetId === null || !this.launched?.connection.open) return;
    const { browser } = this.launched.connection;
    const targetId = this.targetId;
    const stops: Array<() => void> = [];
    const destroyed = new Promise<void>((resolve) => {
      stops.push(
        browser.on('Target.targetDestroyed', (e) => {
          if (e['targetId'] === targetId) resolve();
        }),
        // Each page closed adds one: removed below, so a long-lived browser does not gather them.
        this.launched!.connection.onClose(() => resolve()),
      );
    });
    try {
      await browser.send('Target.closeTarget', { targetId });
      await withDeadline(destroyed, Deadline.after(this.loadTimeoutMs, LOAD_DEADLINE), 'closing the page');
    } catch {
      // Gone already, or the browser with it.
    } finally {
      for (const stop of stops) stop();
    }
  }

  private async call<Op extends PageOp>(op: Op, args: GatewayArgs[Op], deadline: Deadline, what: string): Promise<PageReplies[Op]> {
    if (!this.channel) throw new BridgeError('closed', `the page for ${this.key} is not open`);
    const reply = await this.channel.call({ op, args } as GatewayCall<Op>, deadline, what).catch((e: unknown) => {
      throw asBridgeError(e, `the page for ${this.key}`);
    });
    if (!reply.ok) throw new BridgeError(reply.error.kind, reply.error.message);
    return reply.value;
  }
}
