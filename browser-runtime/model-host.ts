// One model version loaded in a page, from fetching its file to ranked answers. The gateway's
// runtime page (main.ts) holds one and drives it over the DevTools protocol; the demo page
// holds one per model the visitor picks and runs it in the visitor's own browser.
//
// Load order: onnxruntime-web build -> the handler (a model's own handler.js imported) -> model
// bytes -> WebGPU adapter -> WASM session (always: it is the fallback and the parity reference)
// -> the handler's initialize -> WebGPU session (and, with graph_capture, a captured one per
// batch size) -> parity check -> warm-up (every batch size past 1 on WebGPU, the largest on WASM).
// The WASM session stays alive as long as the host: in the JSEP build, releasing a WASM
// session broke a live WebGPU session in the same page.

import type * as Ort from 'onnxruntime-web';
import { findAdapter } from './adapter.js';
import { chooseBackend } from './backend-choice.js';
import { batchSizesFor, ModelRunner } from './model-runner.js';
import { loadOrt, type OrtModule, webgpuProvider } from './ort-loader.js';
import { compareOutputs } from './parity.js';
import { GpuNormaliser } from './gpu-normalise.js';
import { CapturedSessions } from './graph-capture.js';
import { type LoadProbe, probeFor } from './load-probe.js';
import { orNull } from './optional.js';
import { loadStep } from './progress.js';
import { softmaxInto, topK } from './top-k.js';
import { handlerFor } from './handlers/handler-for.js';
import { HandlerError, type ItemMeta, type PageHandler } from './handlers/page-handler.js';
import type { Backend, ErrorKind, HandleReply, LoadRequest, ModelRuntimeInfo, ParityReport, RunFacts } from './protocol.js';

export class RuntimeError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** A handler's answers to a batch, and where the page's time went: the reply, less when the call came. */
export type HandledOutput = Omit<HandleReply, 'calledAt'>;

export interface RankedOutput extends RunFacts {
  /** The top k classes of each image, highest first, batch x k. */
  classes: Int32Array;
  probabilities: Float32Array;
}

async function fetchModel(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new RuntimeError('model', `fetching ${url} answered ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** The milliseconds of each start-up step, as describe-model's loadSteps reports them. */
class StepTimer {
  readonly start = performance.now();
  readonly steps: Record<string, number> = {};
  private last = this.start;

  done(name: string): void {
    const now = performance.now();
    this.steps[name] = Math.round(now - this.last);
    this.last = now;
    loadStep(name, this.steps[name]);
  }
}

type MakeSession = (provider: Ort.InferenceSession.ExecutionProviderConfig, options?: Ort.InferenceSession.SessionOptions) => Promise<Ort.InferenceSession>;
type MakeRunner = (provider: Ort.InferenceSession.ExecutionProviderConfig, options?: Ort.InferenceSession.SessionOptions) => Promise<ModelRunner>;

function sessionMaker(ort: OrtModule, bytes: Uint8Array): MakeSession {
  return (provider, options) =>
    ort.InferenceSession.create(bytes, {
      executionProviders: [provider],
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
      // No `session.intra_op.allow_spinning`: onnxruntime-web runs every session on one global
      // thread pool, which ignores the session's setting, and its threads spin after each run
      // (BENCHMARKS.md, "onnxruntime-web's threads spin").
      ...options,
    });
}

function runnerMaker(ort: OrtModule, makeSession: MakeSession, req: LoadRequest): MakeRunner {
  return async (provider, options) => new ModelRunner(ort, await makeSession(provider, options), req.inputName, req.outputName, req.normalisation);
}

/**
 * WASM always loads: it is the fallback and the parity reference. Answers it, the parity input
 * (the probe) and its output there. The handler learns the session's names first: a model's own
 * handler builds the probe's inputs by them.
 */
async function startWasm(makeRunner: MakeRunner, handler: PageHandler | null, probe: LoadProbe, timer: StepTimer): Promise<{ wasm: ModelRunner; expected: Float32Array }> {
  const wasm = await makeRunner('wasm').catch((e: unknown) => {
    throw new RuntimeError('model', `the model does not load on WASM: ${e instanceof Error ? e.message : String(e)}`);
  });
  timer.done('WASM session');
  if (handler?.initialize) {
    await handler.initialize({ inputNames: wasm.session.inputNames, outputNames: wasm.session.outputNames }).catch((e: unknown) => {
      throw new RuntimeError('model', e instanceof Error ? e.message : String(e));
    });
    timer.done('handler initialize');
  }
  const expected = await probe.run(wasm, 1);
  timer.done('WASM first run');
  return { wasm, expected };
}

/** WebGPU's outcome: its runner and device where it agrees with WASM, else why the model stays on WASM. */
interface WebgpuAttempt {
  runner: ModelRunner | null;
  device: GPUDevice | undefined;
  parity: ParityReport | null;
  fallbackReason: string | null;
}

async function tryWebgpu(
  ort: OrtModule,
  req: LoadRequest,
  adapter: GPUAdapter,
  makeSession: MakeSession,
  handler: PageHandler | null,
  probe: LoadProbe,
  expected: Float32Array,
  timer: StepTimer,
): Promise<WebgpuAttempt> {
  let gpu: ModelRunner | null = null;
  let parity: ParityReport | null = null;
  let fallbackReason: string;
  try {
    const provider = await webgpuProvider(ort, req.ortBuild, adapter);
    // Outputs the handler reduces on the GPU stay there (image-segmenter.ts).
    const kept = handler?.gpuOutputs?.() ?? [];
    gpu = await runnerMaker(ort, makeSession, req)(provider, kept.length ? { preferredOutputLocation: Object.fromEntries(kept.map((name) => [name, 'gpu-buffer'])) } : undefined);
    const device = (typeof provider === 'object' && 'device' in provider ? provider.device : ort.env.webgpu.device) as GPUDevice | undefined;
    gpu.device = device ?? null;
    // Before the parity run, so that the parity input takes this path too. A device that cannot
    // run it leaves the model on WebGPU, normalised in JavaScript (its description says which).
    if (req.gpuPreprocess && !req.handler && device) {
      gpu.gpuInput = await orNull(GpuNormaliser.create(device, ort, req.normalisation), `gpu_preprocess is off for ${req.model}`);
    }
    gpu.batchSizes = plannedBatchSizes(gpu, 'webgpu', req.maxBatch);
    // A captured session for each batch size (graph_capture). A model that cannot be captured (a
    // node onnxruntime places off the GPU) stays on WebGPU uncaptured, as its description says.
    // The parity run below is the batch-1 session's capture: a capture that fails or answers
    // wrong leaves the model on WASM, as any WebGPU failure does.
    if (req.graphCapture && !req.handler && device) {
      const sessionFor = (options: Ort.InferenceSession.SessionOptions) => makeSession(provider, options);
      gpu.captured = await orNull(CapturedSessions.create(ort, device, sessionFor, gpu.batchSizes, req.outputName), `graph_capture is off for ${req.model}`);
    }
    timer.done('WebGPU session');
    parity = compareOutputs(await probe.run(gpu, 1), expected, req.parityTolerance);
    timer.done('WebGPU parity run');
    if (parity.passed) return { runner: gpu, device, parity, fallbackReason: null };
    fallbackReason =
      `WebGPU output differs from WASM on the parity input: max |diff| ${parity.maxAbsDiff.toPrecision(3)}, ` + `relative ${parity.relativeDiff.toPrecision(3)} > tolerance ${parity.tolerance}`;
  } catch (e) {
    fallbackReason = `WebGPU failed: ${e instanceof Error ? e.message : String(e)}`;
  }
  await gpu?.release().catch(() => undefined);
  return { runner: null, device: undefined, parity, fallbackReason };
}

/**
 * On WebGPU every batch size the session will run, once: a new input shape there means new
 * shader pipelines, which no request should wait for. On WASM a new shape costs little; what a
 * warm-up waits for is V8 optimising onnxruntime's code, which it finishes in the background
 * anyway. So WASM runs the largest batch once, and the model is ready sooner (`npm run bench`
 * reports the start to healthy: BENCHMARKS.md). Batch 1 has run on the active session already
 * (WASM's first run, or WebGPU's parity run): it is not run again.
 */
async function warmUp(active: ModelRunner, backend: Backend, maxBatch: number, probe: LoadProbe): Promise<void> {
  active.batchSizes = plannedBatchSizes(active, backend, maxBatch);
  const sizes = backend === 'wasm' ? [Math.max(...active.batchSizes)] : active.batchSizes;
  for (const size of sizes.filter((n) => n > 1)) await probe.run(active, size);
}

/** A model whose file fixes its batch runs that batch only; a larger one runs as several. */
function plannedBatchSizes(runner: ModelRunner, backend: Backend, maxBatch: number): number[] {
  const fixed = runner.fixedBatch();
  return fixed ? [fixed] : batchSizesFor(backend, Math.max(1, maxBatch));
}

/**
 * The shortest of up to three runs of one image: one where it is clearly long (a model that keeps
 * every thread busy costs one run more at load), more where it may be short, since the first runs
 * after a load can still be slowed by V8 compiling.
 */
async function shortestRunMs(active: ModelRunner, probe: LoadProbe): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await probe.run(active, 1);
    best = Math.min(best, performance.now() - t0);
    if (best >= 20) break;
  }
  return best;
}

export class ModelHost {
  // Set when the WebGPU device is lost: every later run fails, and the host is to be replaced.
  private deviceLost: string | null = null;

  private constructor(
    private readonly active: ModelRunner,
    // Kept only so it is never released (see the note at the top).
    readonly reference: ModelRunner | null,
    private readonly output: LoadRequest['output'],
    readonly info: ModelRuntimeInfo,
    private readonly handler: PageHandler | null,
  ) {}

  /** The steps in the order the note at the top gives. */
  static async load(req: LoadRequest): Promise<ModelHost> {
    const timer = new StepTimer();
    const ort = await loadOrt(req.ortBuild, req.wasmThreads);
    timer.done('import onnxruntime-web');
    let handler: PageHandler | null;
    try {
      handler = await handlerFor(ort, req);
    } catch (e) {
      throw new RuntimeError('model', e instanceof Error ? e.message : String(e));
    }
    timer.done('handler');
    const bytes = await fetchModel(req.modelUrl);
    timer.done('fetch model');
    const lookup = req.backend === 'wasm' ? { adapter: null, info: null, error: null } : await findAdapter();
    timer.done('find adapter');
    const choice = chooseBackend(req.backend, lookup.info, lookup.error);
    const makeSession = sessionMaker(ort, bytes);
    const probe = probeFor(handler, req);
    const { wasm, expected } = await startWasm(runnerMaker(ort, makeSession, req), handler, probe, timer);
    const gpu = choice.backend === 'webgpu' && lookup.adapter ? await tryWebgpu(ort, req, lookup.adapter, makeSession, handler, probe, expected, timer) : null;
    const active = gpu?.runner ?? wasm;
    const backend = gpu && !gpu.runner ? 'wasm' : choice.backend;
    await warmUp(active, backend, req.maxBatch, probe);
    timer.done('warm-up');
    const singleRunMs = backend === 'wasm' && req.timeSingleRun ? await shortestRunMs(active, probe) : null;
    if (singleRunMs !== null) timer.done('timing a run');
    const host = new ModelHost(
      active,
      gpu?.runner ? wasm : null,
      req.output,
      {
        backend,
        ortBuild: req.ortBuild,
        adapter: lookup.info,
        fallbackReason: gpu?.fallbackReason ?? choice.reason,
        parity: gpu?.parity ?? null,
        wasmThreads: ort.env.wasm.numThreads ?? 1,
        gpuPreprocess: active.gpuInput !== null,
        graphCapture: active.captured !== null,
        singleRunMs,
        crossOriginIsolated: globalThis.crossOriginIsolated,
        batchSizes: active.batchSizes,
        loadMs: performance.now() - timer.start,
        loadSteps: timer.steps,
      },
      handler,
    );
    void gpu?.device?.lost.then((lost) => {
      host.deviceLost = `${lost.reason}: ${lost.message}`;
    });
    return host;
  }

  /** pixels: `batch` uint8 HWC RGB images back to back. Answers the top k of each. */
  async infer(pixels: Uint8Array, batch: number, k: number): Promise<RankedOutput> {
    this.checkDevice();
    let out: Awaited<ReturnType<ModelRunner['run']>>;
    try {
      out = await this.active.run(pixels, batch);
    } catch (e) {
      throw new RuntimeError(e instanceof RangeError ? 'input' : 'runtime', e instanceof Error ? e.message : String(e));
    }
    const t0 = performance.now();
    const keep = Math.min(k, out.width);
    const classes = new Int32Array(batch * keep);
    const probabilities = new Float32Array(batch * keep);
    const row = new Float64Array(out.width);
    for (let b = 0; b < batch; b++) {
      const raw = out.data.subarray(b * out.width, (b + 1) * out.width);
      if (this.output === 'logits') softmaxInto(raw, row);
      else row.set(raw);
      topK(row, keep).forEach((c, r) => {
        classes[b * keep + r] = c;
        probabilities[b * keep + r] = row[c]!;
      });
    }
    return {
      classes,
      probabilities,
      k: keep,
      ranBatch: out.ranBatch,
      normaliseMs: out.normaliseMs,
      waitMs: out.waitMs,
      runMs: out.runMs,
      rankMs: performance.now() - t0,
    };
  }

  /**
   * Items for the model's handler; answers each one's JSON. A batch larger than the session runs
   * (a model whose file fixes its batch at 1) runs as several, one after another.
   */
  async handle(items: readonly Uint8Array[], meta: ItemMeta): Promise<HandledOutput> {
    this.checkDevice();
    const handler = this.handler;
    if (!handler) throw new RuntimeError('input', 'this model is an image classifier: it answers the infer call, not handle');
    const sizes = this.active.batchSizes;
    const largest = Math.max(...sizes);
    const out: HandledOutput = { answers: [], ranBatch: 0, prepareMs: 0, waitMs: 0, runMs: 0, answerMs: 0 };
    for (let at = 0; at < items.length; at += largest) {
      const chunk = items.slice(at, at + largest);
      const ranBatch = sizes.find((s) => s >= chunk.length) ?? largest;
      const t0 = performance.now();
      let feeds: Record<string, Ort.Tensor>;
      try {
        feeds = await handler.inputs(chunk, ranBatch, { width: meta.width, values: meta.values.subarray(at * meta.width) });
      } catch (e) {
        throw new RuntimeError(e instanceof HandlerError ? 'handler' : 'input', e instanceof Error ? e.message : String(e));
      }
      out.prepareMs += performance.now() - t0;
      let ran: Awaited<ReturnType<ModelRunner['runFeeds']>>;
      try {
        ran = await this.active.runFeeds(feeds);
      } catch (e) {
        throw new RuntimeError('runtime', e instanceof Error ? e.message : String(e));
      }
      out.runMs += ran.runMs;
      out.waitMs += ran.waitMs;
      const t1 = performance.now();
      try {
        out.answers.push(...(await handler.answers(ran.outputs, { width: meta.width, values: meta.values.subarray(at * meta.width) }, chunk.length, ranBatch)));
      } catch (e) {
        throw new RuntimeError(e instanceof HandlerError ? 'handler' : 'model', e instanceof Error ? e.message : String(e));
      } finally {
        ran.release();
      }
      out.answerMs += performance.now() - t1;
      out.ranBatch = Math.max(out.ranBatch, ranBatch);
    }
    return out;
  }

  /** A float32 tensor in the model's own input layout, run as it is; answers the raw output. */
  async runTensor(data: Float32Array, dims: number[]): Promise<{ data: Float32Array; dims: number[]; runMs: number }> {
    this.checkDevice();
    try {
      return await this.active.runTensor(data, dims);
    } catch (e) {
      throw new RuntimeError('input', e instanceof Error ? e.message : String(e));
    }
  }

  /**
   * Frees the model's sessions as it leaves a page that other models share; answers whether it
   * did. Not in the JSEP build (see the note at the top): there they stay until the page goes.
   */
  async release(): Promise<boolean> {
    if (this.info.ortBuild === 'jsep') return false;
    await this.active.release();
    await this.reference?.release();
    return true;
  }

  private checkDevice(): void {
    if (this.deviceLost) throw new RuntimeError('runtime', `the WebGPU device was lost (${this.deviceLost})`);
  }
}
