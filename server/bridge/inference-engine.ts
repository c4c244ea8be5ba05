// The seam between the HTTP layer and whatever runs the models. The real implementation drives
// Chromium; a fake behind this interface tests the HTTP contract fast.

import type { ModelRuntimeInfo } from '../../browser-runtime/protocol.js';
import type { ModelVersion } from '../model-store.js';

export interface InferOutput {
  data: Float32Array;
  dims: number[];
  /** Time spent in session.run in the page. */
  inferMs: number;
  /** Round trip across the DevTools channel, including inferMs. */
  roundTripMs: number;
}

export type WorkerState = 'loading' | 'ready' | 'failed' | 'closed';

export interface WorkerStatus {
  key: string;
  state: WorkerState;
  runtime: ModelRuntimeInfo | null;
  error: string | null;
  startedAt: Date;
}

export interface InferenceEngine {
  /** Loads every version; resolves when all have loaded or failed. */
  start(models: readonly ModelVersion[]): Promise<void>;
  /** `pixels`: `batch` uint8 RGB images of the model's input size, back to back. */
  infer(model: ModelVersion, pixels: Uint8Array, batch: number, deadlineMs: number): Promise<InferOutput>;
  status(model: ModelVersion): WorkerStatus | undefined;
  /** True while the browser is up and every model is ready. */
  healthy(): boolean;
  close(): Promise<void>;
}
