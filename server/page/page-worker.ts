// One Chromium page hosting one model version: its load, its runs, its health.
//
// A run's bytes cross through page-input.ts; the call that runs them is a small `Runtime.evaluate`
// of the page's `handle` with the typed message as JSON (measured cheaper than callFunctionOn).

import type { CDPSession, Page } from 'puppeteer-core';
import { RUNTIME_GLOBAL, type CallStart, type LoadRequest, type ModelRuntimeInfo, type PageArgs, type PageOp, type PageReplies, type Reply, type RuntimeApi } from '../../browser-runtime/protocol.js';
import { log } from '../ops/log.js';
import { BridgeError, withDeadline } from './bridge-error.js';
import { Deadline } from '../pipeline/deadline.js';
import type { LaunchedBrowser } from '../chromium/browser-launch.js';
import type { SandboxState } from '../chromium/chromium-sandbox.js';
import { PageInput } from './page-input.js';
import { withNewRenderer } from '../chromium/renderer-process.js';
import type { BatchJob, BatchRun, BatchWorker } from '../pipeline/batch-scheduler.js';
import type { Tensor, TensorResult, WorkerState, WorkerStatus } from './inference-engine.js';

/** What sets a load's deadline (server.ts): named in the error of a load that runs past it. */
const LOAD_DEADLINE = 'default_response_timeout (a load may take at least 120 s)';

export class PageWorker implements BatchWorker {
  state: WorkerState = 'loading';
  runtime: ModelRuntimeInfo | null = null;
  error: string | null = null;
  readonly startedAt = new Date();
  /** The page's renderer process, where it could be told (renderer-process.ts). */
  pid: number | null = null;
  /** Chromium's sandbox as the browser this page runs in got it. */
  sandbox: SandboxState | null = null;
  private page: Page | null = null;
  private cdp: CDPSession | null = null;
  private input: PageInput | null = null;
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
  ) {}

  async start(launched: LaunchedBrowser): Promise<ModelRuntimeInfo> {
    this.sandbox = launched.sandbox;
    try {
      const { pid } = await withNewRenderer(launched.pid, () => this.open(launched));
      this.pid = pid;
      await this.page!.waitForFunction(`globalThis.${RUNTIME_GLOBAL} !== undefined`, { timeout: this.loadTimeoutMs });
      this.runtime = await this.call('load', this.request, Deadline.after(this.loadTimeoutMs, LOAD_DEADLINE), 'loading the model');
      this.state = 'ready';
      return this.runtime;
    } catch (e) {
      this.fail('model', e instanceof Error ? e.message : String(e));
      // A load past its deadline is still running in the page (a warm-up keeps every WASM
      // thread busy), and a failed one holds a renderer: only closing the page ends either.
      await this.page?.close().catch(() => undefined);
      throw e;
    }
  }

  /** A new page, its events and DevTools session, navigated to the runtime page. */
  private async open(launched: LaunchedBrowser): Promise<void> {
    const page = await launched.browser.newPage();
    this.page = page;
    // Closed (scaled down, unregistered, shut down) while the page was opening: close() saw no page.
    if (this.state === 'closed') throw new BridgeError('closed', `worker ${this.id} of ${this.key} was closed while it started`);
    page.on('error', () => this.fail('crashed', 'the page crashed'));
    page.on('close', () => this.fail('closed', 'the page closed'));
    page.on('pageerror', (e) => log.warn(`${this.key}: page error: ${e instanceof Error ? e.message : String(e)}`));
    page.on('console', (m) => {
      // onnxruntime colours its own log lines; a log file wants plain text.
      if (m.type() === 'error' || m.type() === 'warn') log.warn(`${this.key}: page console: ${m.text().replace(/\x1b\[[0-9;]*m/g, '')}`);
    });
    // A session of our own carries the runs and the Fetch domain that feeds them their bytes.
    const cdp = await page.createCDPSession();
    this.cdp = cdp;
    this.input = await PageInput.attach(cdp, launched.transport, this.site.origin);
    await page.goto(this.site.pageUrl, { waitUntil: 'load', timeout: this.loadTimeoutMs });
  }

  // Two batches in flight: the next one's bytes cross (page-input.ts: off the page's main thread)
  // while this one computes, and the WASM threads go from one run to the next with no gap.
  // Measured with npm run bench (2 cores, MobileNetV2, two runs each, interleaved): at
  // concurrency 8, 23.5 and 27.0 images/s against 20.4 and 20.4 one at a time; at 32, 20.2 and
  // 23.3 against 18.1 and 19.3, and 81 to 92 core-ms an image against 96 to 100. (With base64
  // in Runtime.evaluate, which the page's main thread had to compile and decode, two in flight
  // gained nothing.)
  readonly capacity = 2;

  get ready(): boolean {
    return this.state === 'ready';
  }

  /** One batch: its pixels cross once as raw bytes, the top k of each image come back. */
  async runBatch(jobs: BatchJob[], deadline: Deadline): Promise<BatchRun> {
    const k = Math.max(...jobs.map((j) => j.k));
    const pixels = jobs.length === 1 ? jobs[0]!.pixels : Buffer.concat(jobs.map((j) => j.pixels));
    const { r, roundTripMs, pageWaitMs } = await this.timed((input) => this.run('infer', { input, batch: jobs.length, k }, deadline, 'the prediction'), pixels);
    const classes = new Int32Array(aligned(r.classes).buffer);
    const probabilities = new Float32Array(aligned(r.probabilities).buffer);
    const inferMs = r.normaliseMs + r.runMs + r.rankMs;
    const waitMs = r.waitMs + pageWaitMs;
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
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const { r, roundTripMs, pageWaitMs } = await this.timed((input) => this.run('runTensor', { input, dims }, deadline, 'the inference'), bytes);
    const waitMs = r.waitMs + pageWaitMs;
    return { data: new Float32Array(aligned(r.output).buffer), dims: r.dims, timing: { batch: 1, queueMs: waitMs, transferMs: Math.max(0, roundTripMs - r.runMs - waitMs), inferMs: r.runMs } };
  }

  /**
   * Sends a call with its input and times it. A call sent while another is in the page waits for
   * the page's main thread, busy with that one's run, before it even starts: `pageWaitMs`, from
   * the page's start time on the wall clock both share, so it is not counted as transfer.
   */
  private async timed<T extends CallStart>(call: (id: number) => Promise<T>, bytes: Uint8Array): Promise<{ r: T; roundTripMs: number; pageWaitMs: number }> {
    if (!this.input) throw new BridgeError('closed', `the page for ${this.key} is not open`);
    const behind = this.inPage++ > 0;
    const sentAt = performance.timeOrigin + performance.now();
    const t0 = performance.now();
    try {
      const r = await this.input.with(bytes, call);
      return { r, roundTripMs: performance.now() - t0, pageWaitMs: behind ? Math.max(0, r.calledAt - sentAt) : 0 };
    } finally {
      this.inPage--;
    }
  }

  /** A run on a ready page. */
  private async run<Op extends PageOp>(op: Op, args: PageArgs[Op], deadline: Deadline, what: string): Promise<PageReplies[Op]> {
    if (this.state !== 'ready') throw new BridgeError('closed', `model ${this.key} is not ready (${this.state})`, this.error ?? undefined);
    try {
      return await this.call(op, args, deadline, what);
    } catch (e) {
      // A failed or stuck run can leave onnxruntime-web unusable in this page: retire it, so the
      // engine replaces it with a fresh one. An input the page refused says nothing of its health.
      if (e instanceof BridgeError && e.kind !== 'input') this.fail('crashed', `retired after a failed run (${e.kind}: ${e.message})`);
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
    await this.cdp?.send('Page.crash').catch(() => undefined);
  }

  async close(): Promise<void> {
    this.state = 'closed';
    await this.page?.close().catch(() => undefined);
  }

  private async call<Op extends PageOp>(op: Op, args: PageArgs[Op], deadline: Deadline, what: string): Promise<PageReplies[Op]> {
    if (!this.cdp) throw new BridgeError('closed', `the page for ${this.key} is not open`);
    const evaluation = this.cdp
      .send('Runtime.evaluate', { expression: `globalThis.${RUNTIME_GLOBAL}.${'handle' satisfies keyof RuntimeApi}(${JSON.stringify({ op, args })})`, awaitPromise: true, returnByValue: true })
      .catch((e: unknown) => {
        const closed = this.state === 'failed' ? 'crashed' : 'closed';
        throw new BridgeError(closed, `the page for ${this.key} went away`, e instanceof Error ? e.message : String(e));
      });
    const res = await withDeadline(evaluation, deadline, what);
    if (res.exceptionDetails) {
      throw new BridgeError('runtime', res.exceptionDetails.exception?.description ?? res.exceptionDetails.text);
    }
    const reply = res.result.value as Reply<PageReplies[Op]>;
    if (!reply.ok) throw new BridgeError(reply.error.kind, reply.error.message);
    return reply.value;
  }
}

/** Base64 to bytes in a fresh ArrayBuffer: a pooled Buffer's offset need not suit a typed array. */
function aligned(b64: string): Uint8Array {
  const bytes = Buffer.from(b64, 'base64');
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out;
}
