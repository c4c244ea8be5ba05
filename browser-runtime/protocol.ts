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

/** The name under which the runtime page exposes its RuntimeApi on `globalThis`. */
export const RUNTIME_GLOBAL = '__inferenceRuntime';

/**
 * Where the runtime page fetches the bytes of a run (`<origin>/__input/<id>`): the gateway
 * answers these requests itself, through the DevTools Fetch domain; they never reach a server.
 */
export const INPUT_PATH = '/__input/';

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
  /** Whether the page applies a softmax before ranking ("logits") or ranks the output as is. */
  output: 'logits' | 'probabilities';
  /** The largest batch the gateway will send; every size it may use is warmed up at load. */
  maxBatch: number;
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
  /** Batch sizes the session runs (on WebGPU, each warmed up at load); other sizes are padded up. */
  batchSizes: number[];
  loadMs: number;
  /** Where the load time went, in order. */
  loadSteps: Record<string, number>;
}

/** How a ranked run went, beside its answer. */
export interface RunFacts {
  /** Classes kept per image (k, or fewer where the model has fewer). */
  k: number;
  /** The batch size the session ran, padding included. */
  ranBatch: number;
  /** Page work: normalising, session.run, softmax and ranking. */
  normaliseMs: number;
  /** Not work: waiting in the page for the call before this one to finish. */
  waitMs: number;
  runMs: number;
  rankMs: number;
}

/** When the page began a call: performance.timeOrigin + performance.now(), a wall clock the gateway shares. */
export interface CallStart {
  calledAt: number;
}

export interface InferResult extends RunFacts, CallStart {
  /** The top k classes of each image, highest first: int32 little-endian, base64, batch x k. */
  classes: string;
  /** Their probabilities: float32 little-endian, base64, batch x k. */
  probabilities: string;
}

/** The model's raw output for an already preprocessed float32 tensor (KServe v2 / Triton clients). */
export interface TensorResult extends CallStart {
  /** float32 little-endian, base64. */
  output: string;
  dims: number[];
  runMs: number;
  /** Not work: waiting in the page for the call before this one. */
  waitMs: number;
}

export type ErrorKind = 'input' | 'model' | 'runtime';

export type Reply<T> = { ok: true; value: T } | { ok: false; error: { kind: ErrorKind; message: string } };

// The calls the gateway makes to the runtime page: what each op is given, and what it answers.
// Two flat maps, not one of pairs: TypeScript checks `Map[Op]['reply']` loosely for a generic Op.
export interface PageArgs {
  load: LoadRequest;
  /** input: the id of uint8 HWC RGB images, `batch` of them back to back, at INPUT_PATH. Answers the top k of each. */
  infer: { input: number; batch: number; k: number };
  /** input: the id of float32 little-endian bytes at INPUT_PATH, laid out as `dims` (the model's own input). */
  runTensor: { input: number; dims: number[] };
}
export interface PageReplies {
  load: ModelRuntimeInfo;
  infer: InferResult;
  runTensor: TensorResult;
}
export type PageOp = keyof PageArgs;
export type PageCall<Op extends PageOp = PageOp> = { [O in Op]: { op: O; args: PageArgs[O] } }[Op];
export interface RuntimeApi {
  handle<Op extends PageOp>(call: PageCall<Op>): Promise<Reply<PageReplies[Op]>>;
}

/** One model version as the demo page lists it (`GET /demo/models`), to run on the server or locally. */
export interface DemoModel {
  modelName: string;
  modelVersion: string;
  isDefault: boolean;
  description: string;
  /** The server's workers: ready only when every one is. */
  status: 'loading' | 'ready' | 'failed' | 'closed' | 'stopped' | 'unknown';
  /** Where the server runs it, once loaded. */
  backend: Backend | null;
  adapter: AdapterInfo | null;
  fallbackReason: string | null;
  /** Size of the model file a local run downloads. */
  modelBytes: number;
  /** Shorter side before the centre crop of `load.normalisation.size`. */
  resize: number;
  /** Class names by index, as the server's answers name them. */
  labelsUrl: string;
  /** What the demo page hands its own runtime; it sets `backend` and `wasmThreads` itself. */
  load: LoadRequest;
}
