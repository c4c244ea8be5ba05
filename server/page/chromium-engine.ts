// The InferenceEngine that runs models in headless Chromium.
//
// Start-up order: launch Chromium over a pipe (no debugging port is opened) -> `workers` pages
// per model version, all loading at once -> each page picks its backend, checks WebGPU against
// WASM, warms up every batch size -> ready. A model that fails to load is reported and the
// others still serve. Requests reach the pages through one batch scheduler per model version.
//
// Recovery: a worker that fails after it has served (its page crashed, a run failed or hung)
// is replaced by a fresh page; if the browser itself is gone, it is relaunched first and every
// model reloaded. Retries back off from 1 s to 30 s. In-flight and queued requests fail at once.

import type { BackendPreference, LoadRequest, ModelRuntimeInfo, WebgpuBuild } from '../../browser-runtime/protocol.js';
import { withoutPreloadedAllocator } from '../ops/allocator.js';
import { MODEL_DEFAULTS } from '../config/config.js';
import { log } from '../ops/log.js';
import type { ModelVersion } from '../store/model-store.js';
import { initialWorkers, tooManyPages } from './worker-budget.js';
import { BatchScheduler } from '../pipeline/batch-scheduler.js';
import { BridgeError } from './bridge-error.js';
import type { Deadline } from '../ops/deadline.js';
import { launchBrowser, type LaunchedBrowser } from '../chromium/browser-launch.js';
import { chromiumFlags } from '../chromium/chromium-flags.js';
import { sandboxLaunchOptions, type SandboxSetting, type SandboxState } from '../chromium/chromium-sandbox.js';
import type { HandlerItem, ImageResult, InferenceEngine, ItemResult, ModelOverrides, ModelStatus, Tensor, TensorResult } from './inference-engine.js';
import { loadRequestFor } from './load-request.js';
import { PageWorker, type StartupTimeout } from './page-worker.js';
import { RuntimePage } from './runtime-page.js';
import { describeRuntime } from './runtime-summary.js';
import { ServedRuns, startingWasmThreads, type ThreadChoice, wasmThreadsFor } from './wasm-thread-choice.js';

export interface ChromiumEngineOptions {
  chromePath: string;
  /** The loopback server that feeds the runtime pages: its origin and the page's URL (secret included). */
  runtime: { origin: string; pageUrl: string };
  /** Chromium's sandbox (chromium-sandbox.ts), and the user to start Chromium as when the server is root. */
  sandbox: SandboxSetting;
  chromiumUser: string | null;
  /** Each of these, when set on the command line or in the server config, wins over the model's config. */
  backend: BackendPreference | null;
  batchSize: number | null;
  maxBatchDelayMs: number | null;
  /** How long a batch that is not full may wait for images of its model still decoding; 0 where not given. */
  maxBatchDecodeWaitMs?: number;
  workers: number | null;
  /** Worker pages across every model version: nothing opens more. */
  maxWorkers: number;
  jobQueueSize: number;
  chromiumArgs: string[];
  ortBuild: WebgpuBuild;
  wasmThreads: number;
  /** wasm_threads was 0: a model without its own starts on `wasmThreads` and may be reloaded on one (wasm-thread-choice.ts). */
  wasmThreadsChosen?: boolean;
  parityTolerance: number;
  loadTimeoutMs: number;
  /** Worker i of every model shares page i (with the same onnxruntime build and threads): share_pages. */
  sharePages?: boolean;
  /** WebGPU pages normalise an image classifier's pixels on the GPU, where the model's config does not say. */
  gpuPreprocess?: boolean;
  /** WebGPU pages run an image classifier's captured sessions, where the model's config does not say. */
  graphCapture?: boolean;
  /** Told of restarts and parity failures, for metrics. */
  events?: EngineEvents;
}

export interface EngineEvents {
  browserRelaunched(): void;
  workerReplaced(model: ModelVersion): void;
  parityFailed(model: ModelVersion): void;
}

interface ModelSlot {
  model: ModelVersion;
  /** What its pages load; the WASM threads may change once its runs are timed (rethinkThreads). */
  request: LoadRequest;
  /** Its runs until they settle its WASM threads; null where they were set (wasm_threads). */
  servedRuns: ServedRuns | null;
  /** The model's startup_timeout (config.json, or its registration), for every worker it starts. */
  startup: StartupTimeout | null;
  workers: PageWorker[];
  scheduler: BatchScheduler;
  /** Only a model that has loaded once is reloaded after a failure: a broken model would loop. */
  loadedOnce: boolean;
  loadedAtStartup: boolean;
}

export class ChromiumEngine implements InferenceEngine {
  private launched: LaunchedBrowser | null = null;
  private readonly slots = new Map<string, ModelSlot>();
  /** With share_pages: the page each worker number joins, by onnxruntime build, threads and number. */
  private readonly sharedPages = new Map<string, RuntimePage>();
  private closing = false;
  private recovering = false;
  private recoverAgain = false;
  private recoveryTimer: NodeJS.Timeout | null = null;
  private failedAttempts = 0;
  /** Every model given at start has loaded or failed. */
  private started = false;

  constructor(private readonly opts: ChromiumEngineOptions) {}

  async start(models: readonly ModelVersion[]): Promise<void> {
    const pages = models.reduce((n, m) => n + initialWorkers(m, this.opts.workers), 0);
    this.refuseBeyondLimit(`starting ${models.length} model version(s)`, this.pageTotal() + pages);
    // Before the launch, so the worker count is right while the browser starts.
    for (const model of models) this.slots.set(model.key, this.makeSlot(model, {}, true));
    await this.launch();
    await Promise.all([...this.slots.values()].flatMap((slot) => slot.workers.map((w) => this.startWorker(slot, w))));
    this.started = true;
  }

  /** The browser is up and its DevTools connection open. */
  private get connected(): boolean {
    return this.launched?.connection.open ?? false;
  }

  /** Chromium's sandbox as the last launch got it; null before the first. */
  get sandbox(): SandboxState | null {
    return this.launched?.sandbox ?? null;
  }

  private async launch(): Promise<void> {
    const launched = await launchBrowser({
      executablePath: this.opts.chromePath,
      // Chromium has its own allocator; the jemalloc preloaded into the gateway is not for it.
      env: withoutPreloadedAllocator(process.env),
      args: [...chromiumFlags(), ...this.opts.chromiumArgs],
      // Calls with no deadline of their own (opening and closing pages): longer than any load.
      protocolTimeout: { ms: Math.max(this.opts.loadTimeoutMs, 180_000) + 60_000, setting: 'default_response_timeout' },
      ...sandboxLaunchOptions(this.opts.sandbox, this.opts.chromiumUser),
    });
    this.launched = launched;
    // The tab Chromium opens at start would be one more renderer process holding memory for nothing.
    for (const targetId of await pageTargets(launched)) await launched.connection.browser.send('Target.closeTarget', { targetId });
    const { sandbox } = launched;
    const as = sandbox.user ? ` as user ${sandbox.user}` : '';
    log.info(`browser ${launched.version} (pid ${launched.pid ?? '?'}) launched over a pipe${as}, sandbox ${sandbox.enabled ? 'on' : `off (${sandbox.reason})`}`, {
      event: 'browser_launched',
      sandbox: sandbox.enabled,
      sandboxSetting: sandbox.setting,
      sandboxReason: sandbox.reason,
      user: sandbox.user,
    });
    launched.connection.onClose(() => {
      if (this.closing || launched !== this.launched) return;
      log.error('the browser disconnected; every model is unavailable until it is relaunched');
      for (const slot of this.slots.values()) for (const w of slot.workers) w.fail('crashed', 'the browser went away');
    });
  }

  private makeSlot(model: ModelVersion, overrides: ModelOverrides = {}, loadedAtStartup = false): ModelSlot {
    const batchSize = overrides.batchSize ?? this.opts.batchSize ?? model.config.batchSize ?? MODEL_DEFAULTS.batchSize;
    const count = initialWorkers(model, this.opts.workers, overrides.workers);
    const backend = this.opts.backend ?? model.config.backend ?? 'auto';
    // Nobody set this model's threads: its runs choose them (rethinkThreads).
    // Not in shared pages: the first model of a page sets its threads for all.
    const chosen = this.opts.wasmThreadsChosen === true && model.config.wasmThreads === null && !this.opts.sharePages;
    const slot: ModelSlot = {
      model,
      request: loadRequestFor(model, {
        modelUrl: `models/${encodeURIComponent(model.name)}/${encodeURIComponent(model.version)}/model.onnx`,
        backend,
        ortBuild: this.opts.ortBuild,
        wasmThreads: chosen ? startingWasmThreads(backend, this.opts.wasmThreads) : (model.config.wasmThreads ?? this.opts.wasmThreads),
        ...(chosen ? { timeSingleRun: true } : {}),
        parityTolerance: this.opts.parityTolerance,
        maxBatch: batchSize,
        gpuPreprocess: model.config.gpuPreprocess ?? this.opts.gpuPreprocess ?? false,
        graphCapture: model.config.graphCapture ?? this.opts.graphCapture ?? false,
      }),
      startup: model.config.startupTimeout === null ? null : { ms: model.config.startupTimeout * 1000, setting: 'startup_timeout' },
      workers: [],
      servedRuns: chosen ? new ServedRuns() : null,
      loadedOnce: false,
      loadedAtStartup,
      scheduler: new BatchScheduler(() => slot.workers, {
        batchSize,
        maxBatchDelayMs: overrides.maxBatchDelayMs ?? this.opts.maxBatchDelayMs ?? model.config.maxBatchDelayMs ?? MODEL_DEFAULTS.maxBatchDelayMs,
        queueSize: this.opts.jobQueueSize,
        decodeWaitMs: this.opts.maxBatchDecodeWaitMs ?? 0,
      }),
    };
    for (let id = 0; id < count; id++) slot.workers.push(this.makeWorker(slot, id));
    return slot;
  }

  private makeWorker(slot: ModelSlot, id: number): PageWorker {
    return new PageWorker(
      id,
      slot.model.key,
      this.pageFor(slot, id),
      slot.request,
      () => {
        slot.scheduler.workersChanged();
        if (slot.loadedOnce) this.scheduleRecovery(0);
      },
      slot.startup,
      (ms) => this.sawRun(slot, ms),
    );
  }

  /**
   * The page worker `id` of `slot` loads into: a page of its own, or with share_pages the one
   * worker `id` of other models with the same onnxruntime build and threads is in, while it lasts.
   */
  private pageFor(slot: ModelSlot, id: number): RuntimePage {
    const { ortBuild, wasmThreads } = slot.request;
    if (!this.opts.sharePages) return new RuntimePage(this.opts.runtime, this.opts.loadTimeoutMs, slot.model.key);
    const key = `${ortBuild}/${wasmThreads}/${id}`;
    let page = this.sharedPages.get(key);
    if (!page?.usable) {
      page = new RuntimePage(this.opts.runtime, this.opts.loadTimeoutMs, `shared page ${id} (${ortBuild}, ${wasmThreads} WASM thread${wasmThreads === 1 ? '' : 's'})`);
      this.sharedPages.set(key, page);
    }
    return page;
  }

  private async startWorker(slot: ModelSlot, worker: PageWorker): Promise<void> {
    const key = slot.model.key;
    try {
      const info = await worker.start(this.launched!);
      slot.loadedOnce = true;
      log.info(`model ${key} worker ${worker.id} ready: ${describeRuntime(info)}`, {
        event: 'model_loaded',
        model: slot.model.name,
        version: slot.model.version,
        worker: worker.id,
        backend: info.backend,
        adapter: info.adapter,
        fallbackReason: info.fallbackReason,
        loadMs: Math.round(info.loadMs),
        loadSteps: info.loadSteps,
      });
      if (info.parity && !info.parity.passed) this.opts.events?.parityFailed(slot.model);
      await this.rethinkThreads(slot, worker, info);
      // WASM on a machine without a GPU is expected under "auto"; WebGPU refused when asked for is not.
      if (slot.request.backend === 'webgpu' && info.backend !== 'webgpu') {
        log.warn(`model ${key} was asked to run on WebGPU but runs on ${info.backend}: ${info.fallbackReason}`);
      }
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      // Closed on purpose before it was ready (scaled down, unregistered, shutting down): no fault.
      if (worker.state === 'closed') log.info(`model ${key} worker ${worker.id} closed before it was ready: ${why}`);
      else log.error(`model ${key} worker ${worker.id} failed to load: ${why}`);
    }
  }

  /**
   * Where nobody set a model's WASM threads, what its runs cost says how many pay
   * (wasm-thread-choice.ts): its first load where that settles it (WebGPU, or runs short already),
   * else its first served runs (sawRun).
   */
  private async rethinkThreads(slot: ModelSlot, worker: PageWorker, info: ModelRuntimeInfo): Promise<void> {
    if (!slot.servedRuns || slot.servedRuns.settled) return;
    const choice = wasmThreadsFor(info, this.opts.wasmThreads);
    if (!choice || choice.threads === 1) slot.servedRuns.settled = true;
    if (choice && choice.threads !== info.wasmThreads) await this.reloadOnThreads(slot, worker, choice);
  }

  private sawRun(slot: ModelSlot, runMsPerImage: number): void {
    const median = slot.servedRuns?.add(runMsPerImage);
    if (median === null || median === undefined) return;
    const choice = wasmThreadsFor({ backend: 'wasm', singleRunMs: median }, this.opts.wasmThreads)!;
    for (const w of slot.workers) {
      if (w.state === 'ready' && w.runtime?.backend === 'wasm' && w.runtime.wasmThreads !== choice.threads) void this.reloadOnThreads(slot, w, choice);
    }
  }

  /**
   * Later pages of the model start on `choice.threads`; `worker`, on others, is replaced by a page
   * loaded on them, which serves before the first closes, so no request waits for the swap.
   */
  private async reloadOnThreads(slot: ModelSlot, worker: PageWorker, choice: ThreadChoice): Promise<void> {
    // Chosen: later pages need not time a run.
    slot.request = { ...slot.request, wasmThreads: choice.threads, timeSingleRun: false };
    const key = slot.model.key;
    log.info(`model ${key} worker ${worker.id}: loading again on ${choice.threads} WASM thread(s), not ${worker.runtime?.wasmThreads}: ${choice.why}`);
    const fresh = this.makeWorker(slot, worker.id);
    try {
      await fresh.start(this.launched!);
    } catch (e) {
      // The page loaded first keeps serving.
      log.warn(`model ${key} worker ${worker.id} did not load again on ${choice.threads} WASM thread(s): ${e instanceof Error ? e.message : String(e)}`);
      await fresh.close();
      return;
    }
    const at = slot.workers.indexOf(worker);
    // Unregistered, scaled down, failed or shutting down meanwhile: the new page has no place.
    if (this.closing || this.slots.get(key) !== slot || at < 0 || worker.state !== 'ready') {
      await fresh.close();
      return;
    }
    log.info(`model ${key} worker ${worker.id} ready again: ${describeRuntime(fresh.runtime!)}`);
    slot.workers[at] = fresh;
    slot.scheduler.workersChanged();
    void slot.scheduler.whenIdle(worker).then(() => worker.close());
  }

  private scheduleRecovery(delayMs: number): void {
    if (this.closing || this.recoveryTimer) return;
    this.recoveryTimer = setTimeout(() => {
      this.recoveryTimer = null;
      void this.recover();
    }, delayMs);
  }

  /** One pass at a time: relaunch the browser if it is gone, then replace every failed worker. */
  private async recover(): Promise<void> {
    if (this.recovering) {
      this.recoverAgain = true;
      return;
    }
    this.recovering = true;
    const t0 = performance.now();
    try {
      if (!this.connected) {
        await this.launched?.close();
        await this.launch();
        this.opts.events?.browserRelaunched();
      }
      const starts: Array<Promise<void>> = [];
      for (const slot of this.slots.values()) {
        if (!slot.loadedOnce) continue;
        slot.workers.forEach((old, i) => {
          if (old.state !== 'failed' && old.state !== 'closed') return;
          const fresh = this.makeWorker(slot, old.id);
          slot.workers[i] = fresh;
          void old.close();
          log.info(`model ${slot.model.key} worker ${old.id}: replacing it (${old.error ?? old.state})`);
          this.opts.events?.workerReplaced(slot.model);
          starts.push(this.startWorker(slot, fresh));
        });
      }
      await Promise.all(starts);
      if (starts.length > 0 && this.healthy()) log.info(`recovered in ${Math.round(performance.now() - t0)} ms`);
    } catch (e) {
      log.error(`recovery failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      this.recovering = false;
      const pending = [...this.slots.values()].some((s) => s.loadedOnce && s.workers.some((w) => w.state === 'failed' || w.state === 'closed'));
      this.failedAttempts = pending ? this.failedAttempts + 1 : 0;
      if (this.recoverAgain || pending) {
        this.recoverAgain = false;
        this.scheduleRecovery(pending ? Math.min(30_000, 1000 * 2 ** Math.max(0, this.failedAttempts - 1)) : 0);
      }
    }
  }

  /** Loads a model registered after start; resolves when its workers have loaded or failed. */
  async addModel(model: ModelVersion, overrides: ModelOverrides = {}): Promise<void> {
    if (this.slots.has(model.key)) throw new BridgeError('model', `${model.key} is already loaded`);
    const count = initialWorkers(model, this.opts.workers, overrides.workers);
    this.refuseBeyondLimit(`adding ${model.key} with ${count} workers`, this.pageTotal() + count);
    const slot = this.makeSlot(model, overrides);
    this.slots.set(model.key, slot);
    await Promise.all(slot.workers.map((w) => this.startWorker(slot, w)));
  }

  /** Unloads a model: new requests are refused at once, those queued or running finish first. */
  async removeModel(model: ModelVersion): Promise<void> {
    const slot = this.slots.get(model.key);
    if (!slot) return;
    this.slots.delete(model.key);
    await slot.scheduler.drain();
    await Promise.all(slot.workers.map((w) => w.close()));
  }

  /** Sets the number of workers: new pages load, surplus ones close once idle. */
  async scale(model: ModelVersion, count: number): Promise<void> {
    const slot = this.slots.get(model.key);
    if (!slot) throw new BridgeError('model', `${model.key} is not loaded`);
    this.refuseBeyondLimit(`scaling ${model.key} to ${count} workers`, this.pageTotal() - slot.workers.length + count);
    const added: PageWorker[] = [];
    let nextId = Math.max(-1, ...slot.workers.map((w) => w.id)) + 1;
    while (slot.workers.length < count) {
      const w = this.makeWorker(slot, nextId++);
      slot.workers.push(w);
      added.push(w);
    }
    const surplus = slot.workers.splice(count);
    await Promise.all([...added.map((w) => this.startWorker(slot, w)), ...surplus.map((w) => slot.scheduler.whenIdle(w).then(() => w.close()))]);
  }

  /** Worker pages of every model version, loading, ready or failed. */
  private pageTotal(): number {
    let n = 0;
    for (const slot of this.slots.values()) n += slot.workers.length;
    return n;
  }

  /** The backstop behind the Management API's own check, for any caller. */
  private refuseBeyondLimit(asked: string, total: number): void {
    const problem = tooManyPages(asked, total, { max: this.opts.maxWorkers, why: 'max_workers' });
    if (problem) throw new BridgeError('model', problem);
  }

  async infer(model: ModelVersion, pixels: Uint8Array, k: number, deadline: Deadline, signal?: AbortSignal): Promise<ImageResult> {
    return this.scheduler(model).submit({ pixels, k }, deadline, signal);
  }

  expect(model: ModelVersion): () => void {
    return this.slots.get(model.key)?.scheduler.expect() ?? (() => undefined);
  }

  async handle(model: ModelVersion, item: HandlerItem, deadline: Deadline, signal?: AbortSignal): Promise<ItemResult> {
    return this.scheduler(model).submitItem(item, deadline, signal);
  }

  async runTensor(model: ModelVersion, tensor: Tensor, deadline: Deadline, signal?: AbortSignal): Promise<TensorResult> {
    return this.scheduler(model).submitTensor(tensor, deadline, signal);
  }

  private scheduler(model: ModelVersion): BatchScheduler {
    const slot = this.slots.get(model.key);
    if (!slot) throw new BridgeError('closed', `model ${model.key} has no worker`);
    return slot.scheduler;
  }

  status(model: ModelVersion): ModelStatus | undefined {
    const slot = this.slots.get(model.key);
    if (!slot) return undefined;
    const workers = slot.workers.map((w) => w.status());
    const states = new Set(workers.map((w) => w.state));
    const state = workers.length === 0 ? 'stopped' : states.size === 1 ? workers[0]!.state : states.has('loading') ? 'loading' : 'failed';
    const { batchSize, maxBatchDelayMs, queueSize } = slot.scheduler.options;
    return { state, loadedAtStartup: slot.loadedAtStartup, workers, batchSize, maxBatchDelayMs, queueSize, queued: slot.scheduler.queued, batchesInFlight: slot.scheduler.batchesInFlight };
  }

  /**
   * The server's health, not one model's: the browser is up, the models given at start have
   * loaded or failed, and every model that has served has a worker ready (one that crashed is
   * being replaced meanwhile). A model that never loaded, or has no worker, is shown failed or
   * stopped in its description and leaves the others, and the server, serving.
   */
  healthy(): boolean {
    if (!this.connected || !this.started) return false;
    return [...this.slots.values()].every((s) => !s.loadedOnce || s.workers.length === 0 || s.workers.some((w) => w.ready));
  }

  /** Fault injection for tests: crashes one worker's page. */
  async crashWorker(modelKey: string, id = 0): Promise<void> {
    await this.slots
      .get(modelKey)
      ?.workers.find((w) => w.id === id)
      ?.crash();
  }

  /** Pages the browser holds: one per worker that has a page; more would be a page left behind. */
  async pageCount(): Promise<number> {
    return this.connected ? (await pageTargets(this.launched!)).length : 0;
  }

  /** The Chromium browser process, for operators and for tests that kill it. */
  browserPid(): number | undefined {
    return this.launched?.pid;
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.recoveryTimer) clearTimeout(this.recoveryTimer);
    for (const slot of this.slots.values()) slot.scheduler.failAll(new BridgeError('closed', 'the server is shutting down'));
    await Promise.all([...this.slots.values()].flatMap((s) => s.workers.map((w) => w.close())));
    await this.launched?.close();
  }
}

/** The browser's pages (tabs), by target id. */
async function pageTargets(launched: LaunchedBrowser): Promise<string[]> {
  const { targetInfos } = await launched.connection.browser.send<{ targetInfos: Array<{ targetId: string; type: string }> }>('Target.getTargets');
  return targetInfos.filter((t) => t.type === 'page').map((t) => t.targetId);
}
