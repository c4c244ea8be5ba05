// The one contract between the gateway (Node) and the runtime page (Chromium).
// Both sides import these types; nothing else crosses the DevTools channel.

/** What a model's config or the command line asks for. */
export type BackendPreference = 'auto' | 'webgpu' | 'wasm';

/** What a model actually runs on. */
export type Backend = 'webgpu' | 'wasm';

/**
 * onnxruntime-web ships two WebGPU implementations: the JSEP build (the package's default
 * import) and the native WebGPU execution provider (`onnxruntime-web/webgpu`).
 */
export type OrtBuild = 'webgpu' | 'jsep';

export const ORT_BUILD_MODULES: Record<OrtBuild, string> = {
  webgpu: 'ort.webgpu.min.mjs',
  jsep: 'ort.min.mjs',
};

/** The name under which the runtime page exposes its API on `globalThis`. */
export const RUNTIME_GLOBAL = '__inferenceRuntime';

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
}

export interface Normalisation {
  /** Side of the square image the gateway sends, in pixels. */
  size: number;
  channelOrder: 'RGB' | 'BGR';
  layout: 'NCHW' | 'NHWC';
  /** Applied first: x * scale, then (x - mean) / std per channel (in RGB order). */
  scale: number;
  mean: [number, number, number];
  std: [number, number, number];
}

export interface LoadRequest {
  model: string;
  version: string;
  /** Where the page fetches the .onnx file from (same origin as the page). */
  modelUrl: string;
  inputName: string;
  outputName: string;
  backend: BackendPreference;
  ortBuild: OrtBuild;
  wasmThreads: number;
  normalisation: Normalisation;
  /** Largest accepted |webgpu - wasm| on the parity input, relative to the largest |wasm| output. */
  parityTolerance: number;
}

export interface ParityReport {
  maxAbsDiff: number;
  /** maxAbsDiff divided by max(1, largest |wasm| output). */
  relativeDiff: number;
  tolerance: number;
  passed: boolean;
}

export interface ModelRuntimeInfo {
  backend: Backend;
  ortBuild: OrtBuild;
  /** The WebGPU adapter the page got, whether or not the model uses it. */
  adapter: AdapterInfo | null;
  /** Why the model does not run on WebGPU, or null when it does or was asked for WASM. */
  fallbackReason: string | null;
  parity: ParityReport | null;
  wasmThreads: number;
  crossOriginIsolated: boolean;
  loadMs: number;
}

export interface InferResult {
  /** Raw model output, float32 little-endian, base64. */
  output: string;
  dims: number[];
  inferMs: number;
}

export type ErrorKind = 'input' | 'model' | 'runtime';

export type Reply<T> = { ok: true; value: T } | { ok: false; error: { kind: ErrorKind; message: string } };

export interface RuntimeApi {
  load(request: LoadRequest): Promise<Reply<ModelRuntimeInfo>>;
  /** pixels: uint8 HWC RGB images, `batch` of them back to back, base64. */
  infer(pixels: string, batch: number): Promise<Reply<InferResult>>;
}
