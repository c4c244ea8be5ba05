// The API a model's own handler.js is written against (docs/handlers.md): types only. A handler
// is an ES module run in its model's page, in the browser's sandbox; it exports `preprocess` and
// `postprocess`, and may export `initialize`. Authors may copy this file, or reference it with
// `/// <reference path=...>` / `@type {import('./handler-api').Handler}` in JSDoc.

/** The element types a tensor may hold, as onnxruntime-web names them. */
export type TensorType = 'float32' | 'float16' | 'int32' | 'int64' | 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'uint64' | 'bool' | 'float64';

/** A typed array of one of those types (`Uint8Array` for bool, `BigInt64Array` for int64). */
export type TensorData = Float32Array | Float64Array | Int32Array | Uint32Array | Int16Array | Uint16Array | Int8Array | Uint8Array | BigInt64Array | BigUint64Array;

/** A tensor as `preprocess` returns it: its values in row-major order and its dimensions. */
export interface TensorLike {
  type: TensorType;
  data: TensorData;
  dims: readonly number[];
}

/** A session output as `postprocess` is given it, copied out of onnxruntime. */
export interface OutputTensor {
  data: TensorData;
  dims: readonly number[];
}

/**
 * Where the image sits in the model's input: the original's size, the scale it was resized by,
 * and the offset of its top-left corner, so that a position in the input maps back to the image
 * as x = (x' - left) / scaleX.
 */
export interface Placement {
  width: number;
  height: number;
  scaleX: number;
  scaleY: number;
  left: number;
  top: number;
}

/** `"handler_input": "image"`: the image decoded and fitted as the config's preprocessing says. */
export interface ImageItem {
  /** uint8, height x width x 3, RGB. */
  pixels: Uint8Array;
  width: number;
  height: number;
  placement: Placement;
}

/** `"handler_input": "bytes"`: the request's body as it came (bounded by max_request_size). */
export interface BytesItem {
  bytes: Uint8Array;
}

export interface HandlerContext {
  model: string;
  version: string;
  /** The lines of the config's `labels` file; empty without one. */
  labels: readonly string[];
  inputNames: readonly string[];
  outputNames: readonly string[];
  /** The largest batch the gateway sends in one call (config.json `batch_size`). */
  maxBatchSize: number;
  /**
   * In `preprocess` and `postprocess`: the rows this call's session run has, at least the items'
   * count. A model whose batch dimension is free may be given just the items' rows; one that
   * fixes it needs these, the rows past the items being padding.
   */
  batchSize: number;
}

export interface Handler<Item extends ImageItem | BytesItem = ImageItem | BytesItem> {
  /** Once, at load, before any request; may be async. What it throws fails the model's load. */
  initialize?(context: HandlerContext): void | Promise<void>;
  /** The session's inputs, by input name, for the batch's items. */
  preprocess(items: Item[], context: HandlerContext): Record<string, TensorLike> | Promise<Record<string, TensorLike>>;
  /** One JSON-able answer per item, in the items' order, from the session's outputs by name. */
  postprocess(outputs: Record<string, OutputTensor>, context: HandlerContext & { items: number }): unknown[] | Promise<unknown[]>;
  /**
   * A request body (`"handler_input": "bytes"`) the load runs through `preprocess` and the session,
   * without `postprocess`: to compare WebGPU with WASM and to warm up. Without it the load runs an
   * image through the model's first input, which fails for a model that takes something else.
   */
  example?: string | Uint8Array;
}
