// The InferenceEngine that runs models in headless Chromium. The only place puppeteer is used.
//
// Start-up order: launch Chromium over a pipe (no debugging port is opened) -> one page per
// model version, all loading at once -> each page picks its backend, checks WebGPU against
// WASM, warms up -> ready. A model that fails to load is reported and the others still serve.

import puppeteer, { type Browser } from 'puppeteer-core';
import type { BackendPreference, LoadRequest, OrtBuild } from '../../browser-runtime/protocol.js';
import { log } from '../log.js';
import type { ModelVersion } from '../model-store.js';
import { BridgeError } from './bridge-error.js';
import { chromiumFlags } from './chromium-flags.js';
import type { InferenceEngine, InferOutput, WorkerStatus } from './inference-engine.js';
import { PageWorker } from './page-worker.js';
import { describeRuntime } from './runtime-summary.js';

export interface ChromiumEngineOptions {
  chromePath: string;
  /** Origin of the loopback server that feeds the runtime pages. */
  runtimeOrigin: string;
  /** Set on the command line or in the server config: wins over the model's config. */
  backend: BackendPreference | null;
  ortBuild: OrtBuild;
  wasmThreads: number;
  parityTolerance: number;
  loadTimeoutMs: number;
}

export class ChromiumEngine implements InferenceEngine {
  private browser: Browser | null = null;
  private readonly workers = new Map<string, PageWorker>();
  private closing = false;

  constructor(private readonly opts: ChromiumEngineOptions) {}

  async start(models: readonly ModelVersion[]): Promise<void> {
    this.browser = await puppeteer.launch({
      executablePath: this.opts.chromePath,
      headless: true,
      pipe: true,
      args: chromiumFlags(),
      // The gateway decides when the browser goes, on its own signal handling.
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
      protocolTimeout: Math.max(this.opts.loadTimeoutMs, 180_000) + 60_000,
    });
    const version = await this.browser.version();
    log.info(`browser ${version} (pid ${this.browser.process()?.pid ?? '?'}) launched over a pipe`);
    this.browser.on('disconnected', () => {
      if (this.closing) return;
      log.error('the browser disconnected; every model is unavailable');
      for (const w of this.workers.values()) w.fail('crashed', 'the browser went away');
    });
    await Promise.all(models.map((m) => this.startWorker(m)));
  }

  private async startWorker(model: ModelVersion): Promise<void> {
    const request = this.loadRequest(model);
    const worker = new PageWorker(model.key, this.opts.runtimeOrigin, request, this.opts.loadTimeoutMs);
    this.workers.set(model.key, worker);
    try {
      const info = await worker.start(this.browser!);
      log.info(`model ${model.key} ready: ${describeRuntime(info)}`);
      // WASM on a machine without a GPU is expected under "auto"; WebGPU refused when asked for is not.
      if (request.backend === 'webgpu' && info.backend !== 'webgpu') log.warn(`model ${model.key} was asked to run on WebGPU but runs on ${info.backend}: ${info.fallbackReason}`);
    } catch (e) {
      log.error(`model ${model.key} failed to load: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private loadRequest(model: ModelVersion): LoadRequest {
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
    };
  }

  infer(model: ModelVersion, pixels: Uint8Array, batch: number, deadlineMs: number): Promise<InferOutput> {
    const worker = this.workers.get(model.key);
    if (!worker) return Promise.reject(new BridgeError('closed', `model ${model.key} has no worker`));
    return worker.infer(pixels, batch, deadlineMs);
  }

  status(model: ModelVersion): WorkerStatus | undefined {
    return this.workers.get(model.key)?.status();
  }

  healthy(): boolean {
    if (!this.browser?.connected || this.workers.size === 0) return false;
    return [...this.workers.values()].every((w) => w.state === 'ready');
  }

  browserPid(): number | undefined {
    return this.browser?.process()?.pid;
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.workers.values()].map((w) => w.close()));
    await this.browser?.close().catch(() => undefined);
  }
}
