// The one contract between the gateway (Node) and the runtime page (Chromium): the types here and
// their byte layouts in protocol-codec.ts. Both sides import this file; nothing else crosses.

/** What a model's config or the command line asks for. */
export type BackendPreference = 'auto' | 'webgpu' | 'wasm';

/** What a model actually runs on. */
export type Backend = 'webgpu' | 'wasm';

/**
 * onnxruntime-web ships two WebGPU implementations: the JSEP build (the package's default
 * import) and the native WebGPU execution provider (`onnxruntime-web/webgpu`).
 */
export type WebgpuBuild = 'webgpu' | 'jsep';

/**
 * The build a page loads: a WebGPU one, or `wasm` (`onnxruntime-web/wasm`) for a page that runs
 * on WASM alone, whose module is half the size and quicker to load (BENCHMARKS.md).
 */
export type OrtBuild = WebgpuBuild | 'wasm';

export const ORT_BUILD_MODULES: Record<OrtBuild, string> = {
  webgpu: 'ort.webgpu.min.mjs',
  jsep: 'ort.min.mjs',
  wasm: 'ort.wasm.min.mjs',
};

/**
 * The page's one channel to the gateway, both ways raw bytes, one request per call: the page
 * keeps a request under `<origin>/__input/` open, which the gateway answers (through the DevTools
 * Fetch domain) with the next call; the request that asks for the next call after one is a POST
 * of that call's reply (`__input/reply/<call id>`), which the gateway reads from the paused
 * request before it answers it. No request reaches a server.
 */
export const INPUT_PATH = '/__input/';
/**
 * Requests the page keeps open at most (its chains): a second lets the next call's bytes cross
 * while one runs. It opens the second only when the gateway, having had to hold a call back, says
 * so in a call's header, so that one call at a time costs one request, not two.
 */
export const PAGE_CHAINS = 2;

/**
 * A function the runtime page sets on its global object: where the page is (the calls it got,
 * the steps of the load in progress), in words. The gateway reads it (Runtime.evaluate) when a
 * load runs past its deadline, to say where it stopped.
 */
export const PAGE_PROGRESS = '__runtimePageProgress';

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

/**
 * TorchServe's handler names: what turns a request into the model's input and its output into
 * the answer. `image_classifier` runs the `infer` op; the others run `handle`, whose answers the
 * page writes (browser-runtime/handlers/).
 */
export type HandlerName = 'image_classifier' | 'object_detector' | 'image_segmenter' | 'text_classifier' | 'custom';

/** What a custom handler's `preprocess` is given per item: the decoded image, or the request's bytes. */
export type CustomHandlerInput = 'image' | 'bytes';

/** A model's own handler.js (config.json `"handler": "handler.js"`), run in its page. */
export interface CustomSpec {
  /** Where the page imports the module from, relative to the page (same origin). */
  url: string;
  input: CustomHandlerInput;
}

/** How a detector's raw output is read. `yolox`: rows of [cx, cy, w, h, objectness, class scores...] on grid cells of each stride. */
export interface DetectorSpec {
  format: 'yolox';
  strides: number[];
  /** Boxes scoring below it are dropped (TorchServe's object_detector: 0.5). */
  scoreThreshold: number;
  /** Intersection over union above which the lower-scoring of two boxes of a class is dropped. */
  nmsThreshold: number;
  maxDetections: number;
}

/** A text classifier's inputs: the token ids go to the config's `input_name`. */
export interface TextSpec {
  /** The model's input for the attention mask (1 per token, 0 per padding), or null where it takes none. */
  attentionMask: string | null;
  /** The model's input for the token type ids, or null where it takes none. */
  tokenTypeIds: string | null;
  /** The id the page pads shorter texts with (the tokenizer's padding token). */
  padId: number;
  /** A text the gateway tokenised for the load-time probe (parity and warm-up). */
  probe: { ids: number[]; typeIds: number[] };
}

export interface HandlerSpec {
  name: HandlerName;
  /** Class names by index, for handlers whose page writes the answer. */
  labels: string[];
  detector?: DetectorSpec;
  text?: TextSpec;
  custom?: CustomSpec;
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
  /** On WebGPU, an image classifier's pixels are normalised there (browser-runtime/gpu-normalise.ts), not in JavaScript. */
  gpuPreprocess?: boolean;
  /** On WebGPU, an image classifier runs captured sessions, one per batch size (browser-runtime/graph-capture.ts). */
  graphCapture?: boolean;
  /** The gateway chooses this model's threads by its runs (server/page/wasm-thread-choice.ts): time one at load, on WASM. */
  timeSingleRun?: boolean;
  normalisation: Normalisation;
  /** Largest accepted |webgpu - wasm| on the parity input, relative to the largest |wasm| output. */
  parityTolerance: number;
  /** Whether the page applies a softmax before ranking ("logits") or ranks the output as is. */
  output: 'logits' | 'probabilities';
  /** The largest batch the gateway will send; every size it may use is warmed up at load. */
  maxBatch: number;
  /** Absent: `image_classifier`. */
  handler?: HandlerSpec;
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
  /** The model's input is normalised on the GPU (gpu_preprocess), not in JavaScript. */
  gpuPreprocess: boolean;
  /** The model's WebGPU runs replay captured GPU commands (graph_capture). */
  graphCapture: boolean;
  /**
   * On WASM where the load request asked (timeSingleRun), the shortest of a few runs of one image
   * after the warm-up (ms), input preparation included: what the gateway chooses the page's
   * threads by (server/page/wasm-thread-choice.ts). Else null.
   */
  singleRunMs: number | null;
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

/** When a call reached the page: performance.timeOrigin + performance.now(), a wall clock the gateway shares. */
export interface CallStart {
  calledAt: number;
}

export interface InferReply extends RunFacts, CallStart {
  /** The top k classes of each image, highest first, batch x k. */
  classes: Int32Array;
  /** Their probabilities, batch x k. */
  probabilities: Float32Array;
}

/** The model's raw output for an already preprocessed float32 tensor (KServe v2 / Triton clients). */
export interface TensorReply extends CallStart {
  output: Float32Array;
  dims: number[];
  runMs: number;
  /** Not work: waiting in the page for the run before this one. */
  waitMs: number;
}

/** Answers written in the page by the model's handler, one JSON text per item, in order. */
export interface HandleReply extends CallStart {
  answers: string[];
  /** The batch size the session ran, padding included. */
  ranBatch: number;
  /** Page work: the input's tensors, session.run, and the answers. */
  prepareMs: number;
  /** Not work: waiting in the page for the call before this one to finish. */
  waitMs: number;
  runMs: number;
  answerMs: number;
}

/** What leaving a shared page freed. */
export interface UnloadReply {
  /**
   * Whether its sessions were released. In the JSEP build they are not: there, releasing a WASM
   * session broke a live WebGPU session of the same page (model-host.ts), so they stay until the
   * page is replaced.
   */
  released: boolean;
}

/** `handler`: a custom handler's own code threw; its message is the client's, and the page stays. */
export type ErrorKind = 'input' | 'model' | 'runtime' | 'handler';

export type Reply<T> = { ok: true; value: T } | { ok: false; error: { kind: ErrorKind; message: string } };

// The calls the gateway makes to the runtime page: what each op is given, and what it answers.
// Two flat maps, not one of pairs: TypeScript checks `Map[Op]['reply']` loosely for a generic Op.
export interface PageArgs {
  load: LoadRequest;
  /** `batch` uint8 HWC RGB images back to back. Answers the top k of each. */
  infer: { batch: number; k: number; pixels: Uint8Array };
  /** A float32 tensor laid out as `dims` (the model's own input). */
  runTensor: { dims: number[]; data: Float32Array };
  /**
   * `items` for the model's handler (for images: uint8 HWC RGB of the model's input size), each
   * with `metaWidth` numbers of its own (for images: the original width and height and the scale
   * the image was resized by).
   */
  handle: { items: Uint8Array[]; metaWidth: number; meta: Float32Array };
  /** The tenant's model leaves a shared page; the page and its other models stay. */
  unload: Record<string, never>;
}
export interface PageReplies {
  load: ModelRuntimeInfo;
  unload: UnloadReply;
  infer: InferReply;
  runTensor: TensorReply;
  handle: HandleReply;
}
export type PageOp = keyof PageArgs;
export type PageCall<Op extends PageOp = PageOp> = { [O in Op]: { op: O; args: PageArgs[O] } }[Op];
/** The calls as the gateway makes them: an image batch may be given as its images, not joined. */
export type GatewayArgs = Omit<PageArgs, 'infer'> & { infer: { batch: number; k: number; pixels: Uint8Array | readonly Uint8Array[] } };
export type GatewayCall<Op extends PageOp = PageOp> = { [O in Op]: { op: O; args: GatewayArgs[O] } }[Op];

export { decodeCall, decodeReply, encodeCall, encodeReply, MAX_TENANTS, markOpenAnother, ProtocolError } from './protocol-codec.js';

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
  /** How the image fits the model's square input (the gateway's preprocessing: crop, letterbox or resize). */
  fit: 'crop' | 'letterbox' | 'resize';
  /** The letterbox's grey, and where the image sits in it. */
  fill: number;
  align: 'top-left' | 'centre';
  /** Class names by index, as the server's answers name them. */
  labelsUrl: string;
  /** What the demo page hands its own runtime; it sets `backend` and `wasmThreads` itself. */
  load: LoadRequest;
}
