// The runtime page's entry point. The gateway drives it over the DevTools protocol through
// the API installed on globalThis; one page hosts one model version.
//
// Load order: onnxruntime-web build -> model bytes -> WebGPU adapter -> WASM session (always:
// it is the fallback and the parity reference) -> WebGPU session -> parity check -> warm-up.
// The WASM session stays alive for the page's life: in the JSEP build, releasing a WASM
// session broke a live WebGPU session in the same page.

import type * as Ort from 'onnxruntime-web';
import { findAdapter } from './adapter.js';
import { chooseBackend } from './backend-choice.js';
import { decodeBase64, encodeBase64 } from './base64.js';
import { batchSizesFor, ModelRunner } from './model-runner.js';
import { loadOrt, webgpuProvider } from './ort-loader.js';
import { compareOutputs, parityImage } from './parity.js';
import { softmaxInto, topK } from './top-k.js';
import {
  RUNTIME_GLOBAL,
  type ErrorKind,
  type InferResult,
  type LoadRequest,
  type ModelRuntimeInfo,
  type ParityReport,
  type Reply,
  type RuntimeApi,
  type TensorResult,
} from './protocol.js';

class RuntimeError extends Error {
  constructor(readonly kind: ErrorKind, message: string) {
    super(message);
  }
}

async function reply<T>(work: () => Promise<T>): Promise<Reply<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (e) {
    const kind: ErrorKind = e instanceof RuntimeError ? e.kind : 'runtime';
    return { ok: false, error: { kind, message: e instanceof Error ? e.message : String(e) } };
  }
}

let active: ModelRunner | null = null;
let outputKind: LoadRequest['output'] = 'logits';
// Set when the WebGPU device is lost: every later run fails, so the gateway replaces this page.
let deviceLost: string | null = null;
// Kept only so it is never released (see the note at the top).
let reference: ModelRunner | null = null;

async function fetchModel(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new RuntimeError('model', `fetching ${url} answered ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

async function load(req: LoadRequest): Promise<ModelRuntimeInfo> {
  if (active) throw new RuntimeError('model', 'this page already holds a model');
  const t0 = performance.now();
  const steps: Record<string, number> = {};
  let last = t0;
  const step = (name: string) => {
    const now = performance.now();
    steps[name] = Math.round(now - last);
    last = now;
  };
  const ort = await loadOrt(req.ortBuild, req.wasmThreads);
  step('import onnxruntime-web');
  const bytes = await fetchModel(req.modelUrl);
  step('fetch model');
  const lookup = req.backend === 'wasm' ? { adapter: null, info: null, error: null } : await findAdapter();
  step('find adapter');
  const choice = chooseBackend(req.backend, lookup.info, lookup.error);

  const makeRunner = async (provider: Ort.InferenceSession.ExecutionProviderConfig) => {
    const session = await ort.InferenceSession.create(bytes, {
      executionProviders: [provider],
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
      // Idle WASM threads would otherwise spin after each run, taking the CPU that sharp and
      // the DevTools channel need for the next request.
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
    return new ModelRunner(ort, session, req.inputName, req.outputName, req.normalisation);
  };
  const wasm = await makeRunner('wasm').catch((e: unknown) => {
    throw new RuntimeError('model', `the model does not load on WASM: ${e instanceof Error ? e.message : String(e)}`);
  });
  step('WASM session');
  const probe = parityImage(req.normalisation.size);
  const expected = await wasm.run(probe, 1);
  step('WASM first run');

  let backend = choice.backend;
  let fallbackReason = choice.reason;
  let parity: ParityReport | null = null;
  active = wasm;
  if (choice.backend === 'webgpu' && lookup.adapter) {
    let gpu: ModelRunner | null = null;
    try {
      const provider = await webgpuProvider(ort, req.ortBuild, lookup.adapter);
      gpu = await makeRunner(provider);
      const device = (typeof provider === 'object' && 'device' in provider ? provider.device : ort.env.webgpu.device) as GPUDevice | undefined;
      void device?.lost.then((info) => {
        if (active === gpu) deviceLost = `${info.reason}: ${info.message}`;
      });
      step('WebGPU session');
      parity = compareOutputs((await gpu.run(probe, 1)).data, expected.data, req.parityTolerance);
      step('WebGPU parity run');
      if (parity.passed) {
        active = gpu;
        reference = wasm;
      } else {
        fallbackReason =
          `WebGPU output differs from WASM on the parity input: max |diff| ${parity.maxAbsDiff.toPrecision(3)}, ` +
          `relative ${parity.relativeDiff.toPrecision(3)} > tolerance ${parity.tolerance}`;
      }
    } catch (e) {
      fallbackReason = `WebGPU failed: ${e instanceof Error ? e.message : String(e)}`;
    }
    if (active !== gpu) {
      backend = 'wasm';
      await gpu?.session.release().catch(() => undefined);
    }
  }
  // Every batch size the session will run, once, so no request pays for first-run set-up.
  active.batchSizes = batchSizesFor(backend, Math.max(1, req.maxBatch));
  for (const size of active.batchSizes) {
    const batch = new Uint8Array(probe.length * size);
    for (let i = 0; i < size; i++) batch.set(probe, i * probe.length);
    await active.run(batch, size);
  }
  step('warm-up');
  outputKind = req.output;
  return {
    backend,
    ortBuild: req.ortBuild,
    adapter: lookup.info,
    fallbackReason,
    parity,
    wasmThreads: ort.env.wasm.numThreads ?? 1,
    crossOriginIsolated: globalThis.crossOriginIsolated,
    batchSizes: active.batchSizes,
    loadMs: performance.now() - t0,
    loadSteps: steps,
  };
}

async function infer(pixels: string, batch: number, k: number): Promise<InferResult> {
  if (!active) throw new RuntimeError('model', 'no model is loaded in this page');
  if (deviceLost) throw new RuntimeError('runtime', `the WebGPU device was lost (${deviceLost})`);
  let bytes: Uint8Array;
  try {
    bytes = decodeBase64(pixels);
  } catch {
    throw new RuntimeError('input', 'pixels are not valid base64');
  }
  let out;
  try {
    out = await active.run(bytes, batch);
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
    if (outputKind === 'logits') softmaxInto(raw, row);
    else row.set(raw);
    topK(row, keep).forEach((c, r) => {
      classes[b * keep + r] = c;
      probabilities[b * keep + r] = row[c]!;
    });
  }
  const bytesOf = (a: Int32Array | Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  return {
    classes: encodeBase64(bytesOf(classes)),
    probabilities: encodeBase64(bytesOf(probabilities)),
    k: keep,
    ranBatch: out.ranBatch,
    normaliseMs: out.normaliseMs,
    waitMs: out.waitMs,
    runMs: out.runMs,
    rankMs: performance.now() - t0,
  };
}

async function runTensor(data: string, dims: number[]): Promise<TensorResult> {
  if (!active) throw new RuntimeError('model', 'no model is loaded in this page');
  if (deviceLost) throw new RuntimeError('runtime', `the WebGPU device was lost (${deviceLost})`);
  const bytes = decodeBase64(data);
  const count = dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== count * 4) throw new RuntimeError('input', `${bytes.length} bytes do not hold a float32 tensor of shape [${dims.join(', ')}]`);
  const floats = new Float32Array(count);
  new Uint8Array(floats.buffer).set(bytes);
  let out;
  try {
    out = await active.runTensor(floats, dims);
  } catch (e) {
    throw new RuntimeError('input', e instanceof Error ? e.message : String(e));
  }
  return { output: encodeBase64(new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength)), dims: out.dims, runMs: out.runMs };
}

const api: RuntimeApi = {
  runTensor: (data, dims) => reply(() => runTensor(data, dims)),
  load: (req) => reply(() => load(req)),
  infer: (pixels, batch, k) => reply(() => infer(pixels, batch, k)),
};
(globalThis as Record<string, unknown>)[RUNTIME_GLOBAL] = api;
document.documentElement.dataset['runtime'] = 'ready';
