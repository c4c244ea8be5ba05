// The seam between the HTTP layer and whatever runs the models. The real implementation drives
// Chromium; a fake behind this interface tests the HTTP contract fast.

import type { ModelRuntimeInfo } from '../../browser-runtime/protocol.js';
import type { ModelVersion } from '../store/model-store.js';
import type { Deadline } from '../ops/deadline.js';
import type { SandboxState } from '../chromium/chromium-sandbox.js';

/** Where one run's time went, from the page worker up to the response. */
export interface RunTiming {
  /** How many requests ran in the same session.run. */
  batch: number;
  /** Waiting: in the model's queue, then in the page behind the run before. */
  queueMs: number;
  /** The DevTools round trip less the page's own work and wait. */
  transferMs: number;
  /** The page's work: session.run, with normalising and ranking for images. */
  inferMs: number;
}

/** An image's top k classes, highest first, and their probabilities. */
export interface TopK {
  classes: Int32Array;
  probabilities: Float32Array;
}

/** A float32 tensor and its dimensions, the first the batch's. */
export interface Tensor {
  data: Float32Array;
  dims: number[];
}

export interface ImageResult extends TopK {
  timing: RunTiming;
}

/** One item for a model's handler (for images: the model's input pixels), with the numbers its answer needs (where the image came from). */
export interface HandlerItem {
  bytes: Uint8Array;
  meta: readonly number[];
}

/** An item's answer, as the handler in the page wrote it (JSON text), and where its time went. */
export interface ItemResult {
  answer: string;
  timing: RunTiming;
}

/** A tensor's raw output, and where its time went. */
export interface TensorResult extends Tensor {
  timing: RunTiming;
}

export type WorkerState = 'loading' | 'ready' | 'failed' | 'closed';

export interface WorkerStatus {
  id: number;
  state: WorkerState;
  runtime: ModelRuntimeInfo | null;
  error: string | null;
  startedAt: Date;
  /** The renderer process the worker's page runs in, where it could be told. */
  pid: number | null;
  /** Chromium's sandbox for this worker's page; null where the engine runs no browser. */
  sandbox: SandboxState | null;
}

export interface ModelStatus {
  /** ready only when every worker is; stopped when it has none (registered, or scaled to 0). */
  state: WorkerState | 'stopped';
  /** Loaded when the server started, not registered later. */
  loadedAtStartup: boolean;
  workers: WorkerStatus[];
  batchSize: number;
  maxBatchDelayMs: number;
  queueSize: number;
  queued: number;
  /** Batches sent to the model's pages and not answered yet. */
  batchesInFlight: number;
}

/** Per-registration settings (the Management API's query parameters). */
export interface ModelOverrides {
  batchSize?: number;
  maxBatchDelayMs?: number;
  workers?: number;
}

export interface InferenceEngine {
  /** Loads every version; resolves when all have loaded or failed. */
  start(models: readonly ModelVersion[]): Promise<void>;
  /**
   * One uint8 RGB image of the model's input size; answers its top k. Both kinds of request
   * share the model's queue, its bound and its workers; `signal` aborts one whose client has gone.
   */
  infer(model: ModelVersion, pixels: Uint8Array, k: number, deadline: Deadline, signal?: AbortSignal): Promise<ImageResult>;
  /**
   * An image for the model is being decoded: its batch may wait for it. Call what this returns
   * just before the image is submitted (`infer`, `handle`, in the same turn) or once it has failed.
   */
  expect(model: ModelVersion): () => void;
  /** One item for the model's handler (every handler but the image classifier); answers what the handler writes. */
  handle(model: ModelVersion, item: HandlerItem, deadline: Deadline, signal?: AbortSignal): Promise<ItemResult>;
  /** An already preprocessed float32 tensor in the model's input layout; answers the raw output. */
  runTensor(model: ModelVersion, tensor: Tensor, deadline: Deadline, signal?: AbortSignal): Promise<TensorResult>;
  status(model: ModelVersion): ModelStatus | undefined;
  /** Management: load a model registered after start, unload one, set its number of workers. */
  addModel(model: ModelVersion, overrides?: ModelOverrides): Promise<void>;
  removeModel(model: ModelVersion): Promise<void>;
  scale(model: ModelVersion, workers: number): Promise<void>;
  /** Pages the browser holds, where the engine has a browser (for the metrics). */
  pageCount?(): Promise<number>;
  /** Chromium's sandbox as the browser got it, where the engine has a browser. */
  readonly sandbox?: SandboxState | null;
  /** True while the browser is up and every model is ready. */
  healthy(): boolean;
  close(): Promise<void>;
}
