// What a model's handler does in the page, for every handler but the image classifier (whose
// ranking is model-host.ts's own): the batch's items to the session's input tensors, and the
// session's outputs to each item's answer, written here so that only the answer crosses back.

import type * as Ort from 'onnxruntime-web';

/**
 * A session output: its values copied out of onnxruntime and its dimensions; or, for an output
 * the handler asked to keep on the GPU (gpuOutputs) on a WebGPU session, its buffer there, unread
 * (`data` is then empty), valid until the handler's answers settle.
 */
export interface Output {
  data: Ort.Tensor['data'];
  dims: readonly number[];
  gpu?: { buffer: GPUBuffer; device: GPUDevice; read(): Promise<Ort.Tensor['data']> };
}

export type Outputs = Record<string, Output>;

/** Numbers the gateway sends with each item: `width` of them per item, back to back. */
export interface ItemMeta {
  width: number;
  values: Float32Array;
}

/** The `width` numbers of item `i`. */
export const metaOf = (meta: ItemMeta, i: number): Float32Array => meta.values.subarray(i * meta.width, (i + 1) * meta.width);

/** The session a handler runs with, told once it has loaded. */
export interface SessionFacts {
  inputNames: readonly string[];
  outputNames: readonly string[];
}

/** A fault of a model's own handler code: answered 500 with its message, and the page stays. */
export class HandlerError extends Error {}

export interface PageHandler {
  /** The session's inputs for the items, `ranBatch` rows: rows past the items are padding. */
  inputs(items: readonly Uint8Array[], ranBatch: number, meta: ItemMeta): Record<string, Ort.Tensor> | Promise<Record<string, Ort.Tensor>>;
  /** Each item's answer as JSON text, from the first `count` rows of the outputs. */
  answers(outputs: Outputs, meta: ItemMeta, count: number, ranBatch: number): string[] | Promise<string[]>;
  /**
   * An item for the load-time probe (parity, warm-up), for handlers whose model does not take
   * the image the probe is otherwise: run through `inputs`, read from the config's output.
   */
  probeItem?(): Uint8Array | undefined;
  /**
   * Outputs to leave on the GPU on a WebGPU session, for answers() to reduce there and read back
   * only what the answer needs (Output's `gpu`).
   */
  gpuOutputs?(): string[];
  /** Once the session has loaded, before the model is ready. */
  initialize?(session: SessionFacts): Promise<void>;
}
