// The InferenceEngine that runs models in headless Chromium. The only place puppeteer is used.
//
// Start-up order: launch Chromium over a pipe (no debugging port is opened) -> `workers` pages
// per model version, all loading at once -> each page picks its backend, checks WebGPU against
// WASM, warms up every batch size -> ready. A model that fails to load is reported and the
// others still serve. Requests reach the pages through one batch scheduler per model version.

import puppeteer, { type Browser } from 'puppeteer-core';
import type { BackendPreference, LoadRequest, OrtBuild } from '../../browser-runtime/protocol.js';
import { MODEL_DEFAULTS } from '../config.js';
import { log } from '../log.js';
import type { ModelVersion } from '../model-store.js';
import { BatchScheduler } from './batch-scheduler.js';
import { BridgeError } from './bridge-error.js';
import { chromiumFlags } from './chromium-flags.js';
import type { InferenceEngine, InferOutput, ModelStatus } from './inference-engine.js';
import { PageWorker } from './page-worker.js';
import { describeRuntime } from './runtime-summary.js';

export interface ChromiumEngineOptions {
  chromePath: string;
  /** Origin of the loopback server that feeds the runtime pages. */
  runtimeOrigin: string;
  /** Each of these, when set on the command line or in the server config, wins over the model's config. */
  backend: BackendPreference | null;
  batchSize: number | null;
  maxBatchDelayMs: number | null;
  workers: number | null;
  jobQueueSize: number;
  chromiumArgs: string[];
  ortBuild: OrtBuild;
  wasmThreads: number;
  parityTolerance: number;
  loadTimeoutMs: number;
}

interface ModelSlot {
  workers: PageWorker[];
  scheduler: BatchScheduler;
}

export class ChromiumEngine implements InferenceEngine {
  private browser: Browser | null = null;
  private readonly slots = new Map<string, ModelSlot>();
  private closing = false;

  constructor(private readonly opts: ChromiumEngineOptions) {}

  async start(models: readonly ModelVersion[]): Promise<void> {
    this.browser = await puppeteer.launch({
      executablePath: this.opts.chromePath,
      headless: true,
      pipe: true,
      args: [...chromiumFlags(), ...this.opts.chromiumArgs],
      // The gateway decides when the browser goes, on its own signal handling.
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
      protocolTimeout: Math.max(this.opts.loadTimeoutMs, 180_000) + 60_000,
    });
    // The tab Chromium opens at start would be one more renderer process holding memory for nothing.
    for (const blank of await this.browser.pages()) await blank.close();
    const version = await this.browser.version();
    log.info(`browser ${version} (pid ${this.browser.process()?.pid ?? '?'}) launched over a pipe`);
    this.browser.on('disconnected', () => {
      if (this.closing) return;
      log.error('the browser disconnected; every model is unavailable');
      for (const slot of this.slots.values()) for (const w of slot.workers) w.fail('crashed', 'the browser went away');
    });
    await Promise.all(models.map((m) => this.startModel(m)));
  }

  private async startModel(model: ModelVersion): Promise<void> {
    const batchSize = this.opts.batchSize ?? model.config.batchSize ?? MODEL_DEFAULTS.batchSize;
    const request = this.loadRequest(model, batchSize);
    const count = this.opts.workers ?? model.config.workers ?? MODEL_DEFAULTS.workers;
    const workers: PageWorker[] = [];
    const scheduler = new BatchScheduler(() => workers, {
      batchSize,
      maxBatchDelayMs: this.opts.maxBatchDelayMs ?? model.config.maxBatchDelayMs ?? MODEL_DEFAULTS.maxBatchDelayMs,
      queueSize: this.opts.jobQueueSize,
    });
    for (let id = 0; id < count; id++) {
      workers.push(new PageWorker(id, model.key, this.opts.runtimeOrigin, request, this.opts.loadTimeoutMs, () => scheduler.workersChanged()));
    }
    this.slots.set(model.key, { workers, scheduler });
    await Promise.all(
      workers.map(async (worker) => {
        try {
          const info = await worker.start(this.browser!);
          log.info(`model ${model.key} worker ${worker.id} ready: ${describeRuntime(info)}`);
          // WASM on a machine without a GPU is expected under "auto"; WebGPU refused when asked for is not.
          if (request.backend === 'webgpu' && info.backend !== 'webgpu') {
            log.warn(`model ${model.key} was asked to run on WebGPU but runs on ${info.backend}: ${info.fallbackReason}`);
          }
        } catch (e) {
          log.error(`model ${model.key} worker ${worker.id} failed to load: ${e instanceof Error ? e.message : String(e)}`);
        }
      }),
    );
  }

  private loadRequest(model: ModelVersion, maxBatch: number): LoadRequest {
    return {
      model: model.name,
      version: model.version,
      modelUrl: `/models/${encodeURIComponent(model.name)}/${encodeURIComponent(model.version)}/model.onnx`,
      inputName: model.config.inputName,
      outputName: model.config.outputName,
      backend: this.opts.backend ?? model.config.backend ?? 'auto',
      ortBuild: this.opts.ortBuild,
      wasmThreads: this.opts.wasmThreads,
      normalisation: model.config.normalisation,
      parityTolerance: this.opts.parityTolerance,
      output: model.config.output,
      maxBatch,
    };
  }

  async infer(model: ModelVersion, pixels: Uint8Array, k: number, deadlineMs: number): Promise<InferOutput> {
    const slot = this.slots.get(model.key);
    if (!slot) throw new BridgeError('closed', `model ${model.key} has no worker`);
    return slot.scheduler.submit({ pixels, k }, deadlineMs);
  }

  status(model: ModelVersion): ModelStatus | undefined {
    const slot = this.slots.get(model.key);
    if (!slot) return undefined;
    const workers = slot.workers.map((w) => w.status());
    const states = new Set(workers.map((w) => w.state));
    const state = states.size === 1 ? workers[0]!.state : states.has('loading') ? 'loading' : 'failed';
    const { batchSize, maxBatchDelayMs, queueSize } = slot.scheduler.options;
    return { state, workers, batchSize, maxBatchDelayMs, queueSize, queued: slot.scheduler.queued };
  }

  healthy(): boolean {
    if (!this.browser?.connected || this.slots.size === 0) return false;
    return [...this.slots.values()].every((s) => s.workers.every((w) => w.ready));
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const slot of this.slots.values()) slot.scheduler.failAll(new BridgeError('closed', 'the server is shutting down'));
    await Promise.all([...this.slots.values()].flatMap((s) => s.workers.map((w) => w.close())));
    await this.browser?.close().catch(() => undefined);
  }
}
