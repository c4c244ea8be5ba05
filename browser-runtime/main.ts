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
import { ModelRunner } from './model-runner.js';
import { loadOrt, webgpuProvider } from './ort-loader.js';
import { compareOutputs, parityImage } from './parity.js';
import {
  RUNTIME_GLOBAL,
  type ErrorKind,
  type InferResult,
  type LoadRequest,
  type ModelRuntimeInfo,
  type ParityReport,
  type Reply,
  type RuntimeApi,
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
  const ort = await loadOrt(req.ortBuild, req.wasmThreads);
  const bytes = await fetchModel(req.modelUrl);
  const lookup = req.backend === 'wasm' ? { adapter: null, info: null, error: null } : await findAdapter();
  const choice = chooseBackend(req.backend, lookup.info, lookup.error);

  const makeRunner = async (provider: Ort.InferenceSession.ExecutionProviderConfig) => {
    const session = await ort.InferenceSession.create(bytes, { executionProviders: [provider], graphOptimizationLevel: 'all', logSeverityLevel: 3 });
    return new ModelRunner(ort, session, req.inputName, req.outputName, req.normalisation);
  };
  const wasm = await makeRunner('wasm').catch((e: unknown) => {
    throw new RuntimeError('model', `the model does not load on WASM: ${e instanceof Error ? e.message : String(e)}`);
  });
  const probe = parityImage(req.normalisation.size);
  const expected = await wasm.run(probe, 1);

  let backend = choice.backend;
  let fallbackReason = choice.reason;
  let parity: ParityReport | null = null;
  active = wasm;
  if (choice.backend === 'webgpu' && lookup.adapter) {
    let gpu: ModelRunner | null = null;
    try {
      gpu = await makeRunner(await webgpuProvider(ort, req.ortBuild, lookup.adapter));
      parity = compareOutputs((await gpu.run(probe, 1)).data, expected.data, req.parityTolerance);
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
  // A second run on the chosen session, so the first request does not pay for lazy set-up.
  await active.run(probe, 1);
  return {
    backend,
    ortBuild: req.ortBuild,
    adapter: lookup.info,
    fallbackReason,
    parity,
    wasmThreads: ort.env.wasm.numThreads ?? 1,
    crossOriginIsolated: globalThis.crossOriginIsolated,
    loadMs: performance.now() - t0,
  };
}

async function infer(pixels: string, batch: number): Promise<InferResult> {
  if (!active) throw new RuntimeError('model', 'no model is loaded in this page');
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
  const raw = new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength);
  return { output: encodeBase64(raw), dims: out.dims, inferMs: out.inferMs };
}

const api: RuntimeApi = {
  load: (req) => reply(() => load(req)),
  infer: (pixels, batch) => reply(() => infer(pixels, batch)),
};
(globalThis as Record<string, unknown>)[RUNTIME_GLOBAL] = api;
document.documentElement.dataset['runtime'] = 'ready';
