// The null model: MobileNetV2's interface (input float32 [batch,3,224,224], output float32
// [batch,1000] logits) around almost no work, so that a benchmark of the server with it measures
// the gateway, the page and the bridge rather than a neural network. The graph is
//   GlobalAveragePool -> Flatten(axis=1) -> MatMul [3,1000] -> Add [1000]
// i.e. logits = (mean of each channel) x W + b. Encoded here by hand (protobuf wire format, the
// few ONNX messages it needs), so building it needs nothing beyond Node.
// build.ts writes what nullModelStoreFiles returns, and a unit test checks the committed files
// against it; everything here but readNullModelStoreFiles is pure.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { modelFolderFiles } from '../model-fixtures.js';

export const INPUT = 'input';
export const OUTPUT = 'output';
export const CHANNELS = 3;
export const SIDE = 224;
export const CLASSES = 1000;
const IR_VERSION = 8;
const OPSET = 13;
const PRODUCER = 'webgpu-inference-server scripts/null-model';

// ---------------------------------------------------------------- weights

/**
 * Column k of W is the k-th of 1000 points spread evenly over the unit sphere (a Fibonacci
 * sphere), times 4; b is small. The logits are then 4 |m| cos(angle between m and column k), m the
 * image's per-channel means after normalisation, so the top class is the point nearest the image's
 * colour balance: different images get different answers, similar ones neighbouring classes.
 */
export function nullWeights(): { weight: Float32Array; bias: Float32Array } {
  const weight = new Float32Array(CHANNELS * CLASSES); // row-major [3, 1000]
  const bias = new Float32Array(CLASSES);
  const golden = Math.PI * (3 - Math.sqrt(5));
  for (let k = 0; k < CLASSES; k++) {
    const y = 1 - (2 * (k + 0.5)) / CLASSES;
    const r = Math.sqrt(1 - y * y);
    const point = [r * Math.cos(golden * k), y, r * Math.sin(golden * k)];
    for (let c = 0; c < CHANNELS; c++) weight[c * CLASSES + k] = 4 * point[c]!;
    bias[k] = 0.01 * Math.sin(k);
  }
  return { weight, bias };
}

/** The same computation in plain JS, in float64, on the float32 weights: the reference answer. */
export function nullModelReference(input: Float32Array, batch: number): Float64Array {
  const { weight, bias } = nullWeights();
  const plane = SIDE * SIDE;
  if (input.length !== batch * CHANNELS * plane) throw new Error(`input has ${input.length} values, expected ${batch} x ${CHANNELS} x ${SIDE} x ${SIDE}`);
  const out = new Float64Array(batch * CLASSES);
  for (let n = 0; n < batch; n++) {
    const means: number[] = [];
    for (let c = 0; c < CHANNELS; c++) {
      let sum = 0;
      const base = (n * CHANNELS + c) * plane;
      for (let i = 0; i < plane; i++) sum += input[base + i]!;
      means.push(sum / plane);
    }
    for (let k = 0; k < CLASSES; k++) {
      let v = bias[k]!;
      for (let c = 0; c < CHANNELS; c++) v += means[c]! * weight[c * CLASSES + k]!;
      out[n * CLASSES + k] = v;
    }
  }
  return out;
}

/**
 * A deterministic input for checks: image n is a ripple around `means[n]` (one mean per
 * channel), so the expected top class is known to depend on it.
 */
export function patternInput(means: readonly (readonly [number, number, number])[]): Float32Array {
  const plane = SIDE * SIDE;
  const data = new Float32Array(means.length * CHANNELS * plane);
  means.forEach((m, n) => {
    for (let c = 0; c < CHANNELS; c++) {
      for (let i = 0; i < plane; i++) data[(n * CHANNELS + c) * plane + i] = m[c]! + Math.sin(i * 0.37 + c + 5 * n);
    }
  });
  return data;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

/** Index of the largest logit of each image. */
export function top1(logits: ArrayLike<number>, batch: number): number[] {
  return Array.from({ length: batch }, (_, n) => {
    let best = 0;
    for (let k = 1; k < CLASSES; k++) if (logits[n * CLASSES + k]! > logits[n * CLASSES + best]!) best = k;
    return best;
  });
}

// ---------------------------------------------------------------- protobuf wire format

type Bytes = Uint8Array;

function varint(n: number): number[] {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`varint: ${n} is not a non-negative safe integer`);
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

export const concat = (parts: readonly Bytes[]): Bytes => Buffer.concat(parts);
/** Wire type 0: a varint-encoded integer or enum. */
export const intField = (field: number, n: number): Bytes => Uint8Array.from([...varint(field * 8), ...varint(n)]);
/** Wire type 2: length-delimited bytes (strings, sub-messages, raw tensor data). */
export const bytesField = (field: number, bytes: Bytes): Bytes => concat([Uint8Array.from([...varint(field * 8 + 2), ...varint(bytes.length)]), bytes]);
export const stringField = (field: number, s: string): Bytes => bytesField(field, new TextEncoder().encode(s));
export const message = (field: number, ...parts: Bytes[]): Bytes => bytesField(field, concat(parts));

// ---------------------------------------------------------------- ONNX messages (field numbers from onnx.proto)

const FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTRIBUTE_INT = 2; // AttributeProto.AttributeType.INT

/** TensorProto (as GraphProto.initializer, field 5): dims 1, data_type 2, name 8, raw_data 9 (little-endian). */
export function initializer(name: string, dims: readonly number[], data: Float32Array): Bytes {
  const raw = new Uint8Array(data.length * 4);
  const view = new DataView(raw.buffer);
  data.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return message(5, ...dims.map((d) => intField(1, d)), intField(2, FLOAT), stringField(8, name), bytesField(9, raw));
}

/** ValueInfoProto: name 1, type 2 -> TypeProto.tensor_type 1 -> elem_type 1, shape 2 -> dim 1 -> dim_value 1 | dim_param 2. */
export function valueInfo(field: number, name: string, dims: readonly (number | string)[]): Bytes {
  const dim = (d: number | string) => message(1, typeof d === 'number' ? intField(1, d) : stringField(2, d));
  return message(field, stringField(1, name), message(2, message(1, intField(1, FLOAT), message(2, ...dims.map(dim)))));
}

/** NodeProto (GraphProto.node, field 1): input 1, output 2, name 3, op_type 4, attribute 5 (name 1, i 3, type 20). */
export function node(op: string, inputs: readonly string[], outputs: readonly string[], ints: Record<string, number> = {}): Bytes {
  return message(
    1,
    ...inputs.map((s) => stringField(1, s)),
    ...outputs.map((s) => stringField(2, s)),
    stringField(3, op.toLowerCase()),
    stringField(4, op),
    ...Object.entries(ints).map(([name, i]) => message(5, stringField(1, name), intField(3, i), intField(20, ATTRIBUTE_INT))),
  );
}

/** A ModelProto around `graph` (ModelProto.graph, field 7): IR 8, opset 13 of ai.onnx, named by the script that made it. */
export function modelProto(graph: Bytes, producer: string): Bytes {
  return concat([
    intField(1, IR_VERSION), // ModelProto.ir_version
    stringField(2, producer), // ModelProto.producer_name
    graph,
    message(8, stringField(1, ''), intField(2, OPSET)), // ModelProto.opset_import: domain "" (ai.onnx), version
  ]);
}

/** The whole ModelProto, deterministic byte for byte. */
export function encodeNullModel(): Uint8Array {
  const { weight, bias } = nullWeights();
  const graph = message(
    7, // ModelProto.graph
    node('GlobalAveragePool', [INPUT], ['pooled']),
    node('Flatten', ['pooled'], ['features'], { axis: 1 }),
    node('MatMul', ['features', 'weight'], ['scores']),
    node('Add', ['scores', 'bias'], [OUTPUT]),
    stringField(2, 'null_model'), // GraphProto.name
    initializer('weight', [CHANNELS, CLASSES], weight),
    initializer('bias', [CLASSES], bias),
    valueInfo(11, INPUT, ['batch', CHANNELS, SIDE, SIDE]), // GraphProto.input
    valueInfo(12, OUTPUT, ['batch', CLASSES]), // GraphProto.output
  );
  return modelProto(graph, PRODUCER);
}

// ---------------------------------------------------------------- the model store folder

export const STORE = 'tests/fixtures/null-model-store';
export const MODEL_NAME = 'null_model';
export const VERSION = '1.0';

/**
 * Every file of <store>/null_model/, by path relative to the store, from MobileNetV2's config.json
 * and labels.txt: the same preprocessing and labels, so the gateway does the same work per image
 * as for the real model, only the network is gone.
 */
export function nullModelStoreFiles(mobilenetConfig: Record<string, unknown>, mobilenetLabels: string): Map<string, Uint8Array> {
  const config = {
    description:
      "Null model: MobileNetV2's interface (input [batch,3,224,224], output [batch,1000] logits) around a per-channel mean and a 3x1000 matmul. Near-zero cost, for measuring the gateway's own overhead (scripts/null-model/build.ts).",
    default_version: VERSION,
    labels: 'labels.txt',
    input_name: INPUT,
    output_name: OUTPUT,
    output: 'logits',
    preprocessing: mobilenetConfig['preprocessing'],
    backend: 'auto',
    output_format: mobilenetConfig['output_format'] ?? 'classes',
    topk: mobilenetConfig['topk'] ?? 5,
    batch_size: 8,
    max_batch_delay: mobilenetConfig['max_batch_delay'] ?? 0,
    workers: 1,
  };
  if (typeof config.preprocessing !== 'object' || config.preprocessing === null) throw new Error('the MobileNetV2 config has no "preprocessing" object to copy');
  return modelFolderFiles(MODEL_NAME, VERSION, { config, labels: mobilenetLabels, model: encodeNullModel() });
}

/** nullModelStoreFiles from the MobileNetV2 files in the checkout at `projectRoot`. */
export function readNullModelStoreFiles(projectRoot: string): Map<string, Uint8Array> {
  const dir = path.join(projectRoot, 'models', 'mobilenet_v2');
  const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  return nullModelStoreFiles(config, readFileSync(path.join(dir, 'labels.txt'), 'utf8'));
}
