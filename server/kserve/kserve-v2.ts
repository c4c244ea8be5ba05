// A KServe v2 / Open Inference Protocol infer request, parsed and checked before anything is
// done with it: the JSON header (and the binary tensors after it), the model's one input, and
// its data. Everything a client sends is checked for shape, not assumed: `inputs: [null]`,
// `outputs: "x"` or data nested a million deep are 400s, never a crash or a stall. Pure.

import { badRequest } from '../errors.js';
import type { ModelStore, ModelVersion } from '../store/model-store.js';
import type { Tensor } from '../page/inference-engine.js';
import { isJsonObject } from '../ops/json-object.js';

// Answered as {"error": message}, as every error under /v2 is (errors.ts).
const bad = badRequest;

export interface V2Input {
  name: string;
  shape: number[];
  datatype: string;
  data?: unknown;
  parameters?: { binary_data_size?: unknown };
}

export interface V2Request {
  id?: string;
  inputs: V2Input[];
  /** Whether the client asked for the output as binary tensor data. */
  binaryOutput: boolean;
  /** Size of the JSON header: a number in it takes two bytes at least. */
  jsonBytes: number;
}

/** Deeper than any tensor the protocol can carry: {inputs: [{data: [[[[...]]]]}]} with a few dimensions. */
const MAX_JSON_DEPTH = 32;

export function inputShape(v: ModelVersion): number[] {
  const n = v.config.normalisation;
  return n.layout === 'NCHW' ? [-1, 3, n.size, n.size] : [-1, n.size, n.size, 3];
}

/** The model's metadata, in the protocol's terms (-1 for a variable dimension): the same over HTTP and gRPC. */
export function modelMetadata(store: ModelStore, v: ModelVersion) {
  return {
    name: v.name,
    versions: [
      ...(store
        .list()
        .find((m) => m.name === v.name)
        ?.versions.keys() ?? [v.version]),
    ],
    platform: 'onnxruntime_onnx',
    inputs: [{ name: v.config.inputName, datatype: 'FP32', shape: inputShape(v) }],
    outputs: [{ name: v.config.outputName, datatype: 'FP32', shape: [-1, v.labels.length || -1] }],
  };
}

/**
 * How deep `json` nests, stopping at `limit`: JSON.parse itself copes with any depth, but spends
 * seconds of the event loop on a few megabytes of brackets.
 */
export function nestingExceeds(json: Buffer, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i]!;
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/**
 * The JSON header and the binary tensors after it (Inference-Header-Content-Length): `binary[i]`
 * is the bytes of `request.inputs[i]`, or null where that input's values are JSON `data`.
 */
export function parseRequest(body: Buffer, headerLength: number | null): { request: V2Request; binary: Array<Buffer | null> } {
  if (headerLength !== null && (!Number.isInteger(headerLength) || headerLength < 0 || headerLength > body.length)) {
    throw bad(`Inference-Header-Content-Length ${headerLength} does not fit a body of ${body.length} bytes`);
  }
  const json = headerLength === null ? body : body.subarray(0, headerLength);
  if (nestingExceeds(json, MAX_JSON_DEPTH)) throw bad(`the request nests deeper than ${MAX_JSON_DEPTH} levels`);
  let raw: unknown;
  try {
    raw = JSON.parse(json.toString('utf8'));
  } catch {
    throw bad('the request is not valid JSON');
  }
  if (!isJsonObject(raw)) throw bad('the request must be a JSON object');
  const { id, inputs, outputs, parameters } = raw;
  if (!Array.isArray(inputs) || inputs.length === 0) throw bad('the request has no "inputs"');
  inputs.forEach((input, i) => {
    if (!isJsonObject(input)) throw bad(`inputs[${i}] must be an object`);
    if (typeof input['name'] !== 'string') throw bad(`inputs[${i}] needs a "name"`);
    if (typeof input['datatype'] !== 'string') throw bad(`input "${input['name']}" needs a "datatype"`);
    if (!Array.isArray(input['shape'])) throw bad(`input "${input['name']}" needs a "shape" array`);
    if (input['parameters'] !== undefined && !isJsonObject(input['parameters'])) throw bad(`the "parameters" of input "${input['name']}" must be an object`);
  });
  if (outputs !== undefined && (!Array.isArray(outputs) || !outputs.every(isJsonObject))) throw bad('"outputs" must be an array of objects');
  if (parameters !== undefined && !isJsonObject(parameters)) throw bad('"parameters" must be an object');
  if (id !== undefined && typeof id !== 'string') throw bad('"id" must be a string');
  const wantsBinary = (p: unknown, key: string) => isJsonObject(p) && p[key] === true;
  const binaryOutput = wantsBinary(parameters, 'binary_data_output') || (outputs ?? []).some((o: Record<string, unknown>) => wantsBinary(o['parameters'], 'binary_data'));
  const binary = headerLength === null ? body.subarray(body.length) : body.subarray(headerLength);
  const layout = binaryLayout(inputs as V2Input[], binary.length);
  return {
    request: { ...(id !== undefined ? { id } : {}), inputs: inputs as V2Input[], binaryOutput, jsonBytes: json.length },
    binary: layout.map((at) => at && binary.subarray(at.offset, at.offset + at.size)),
  };
}

/**
 * Where each input's bytes lie in the binary data after the JSON header: the inputs with a
 * `binary_data_size` take theirs in the order they are listed, the others (JSON `data`) none.
 * The sizes must add up to exactly the bytes there: a mismatch means the request was not built
 * as the client meant, and guessing would answer from another input's bytes.
 */
export function binaryLayout(inputs: readonly V2Input[], available: number): Array<{ offset: number; size: number } | null> {
  let offset = 0;
  const layout = inputs.map((input) => {
    const size = input.parameters?.binary_data_size;
    if (size === undefined) return null;
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
      throw bad(`the binary_data_size of input "${input.name}" must be a whole number of bytes, got ${JSON.stringify(size).slice(0, 40)}`);
    if (input.data !== undefined) throw bad(`input "${input.name}" has both "data" and a binary_data_size: send its values one way`);
    const at = { offset, size };
    offset += size;
    return at;
  });
  if (offset !== available) {
    const where = available === 0 && offset > 0 ? ' (binary data needs the Inference-Header-Content-Length header)' : '';
    throw bad(`the inputs' binary_data_size add up to ${offset} bytes, but ${available} follow the JSON header${where}`);
  }
  return layout;
}

/** The input a request gives the model: the one of its name, or the only one; its index among the inputs. */
export function modelInput<T extends { name: string }>(v: ModelVersion, inputs: readonly T[]): { input: T; index: number } {
  const named = inputs.findIndex((i) => i.name === v.config.inputName);
  const index = named >= 0 ? named : inputs.length === 1 ? 0 : -1;
  if (index < 0) throw bad(`no input named "${v.config.inputName}"`);
  return { input: inputs[index]!, index };
}

/** Checks an input's datatype and shape against the model's; the number of values it holds. */
export function checkInput(v: ModelVersion, input: { name: string; datatype: string; shape: readonly number[] }): number {
  if (input.datatype !== 'FP32') throw bad(`input "${input.name}" must be FP32, got ${input.datatype}`);
  const want = inputShape(v);
  const shape = input.shape;
  if (shape.length !== want.length || !shape.every((d, i) => Number.isInteger(d) && d > 0 && (want[i] === -1 || d === want[i]))) {
    throw bad(`input "${input.name}" has shape [${shape.map(String).join(', ').slice(0, 100)}], expected [${want.join(', ')}] (-1: any batch size)`);
  }
  return shape.reduce((a, b) => a * b, 1);
}

/** The model's input tensor out of a parsed request; `binary` as parseRequest gives it. */
export function inputTensor(v: ModelVersion, request: V2Request, binary: ReadonlyArray<Buffer | null>): Tensor {
  const { input, index } = modelInput(v, request.inputs);
  const count = checkInput(v, input);
  const shape = input.shape;
  const bytes = binary[index];
  if (bytes) {
    if (bytes.length !== count * 4) throw bad(`binary_data_size ${bytes.length} of input "${input.name}" does not match its shape [${shape}] in FP32 (${count * 4} bytes)`);
    const data = new Float32Array(count);
    new Uint8Array(data.buffer).set(bytes);
    return { data, dims: shape };
  }
  // Checked before anything is allocated for it: a shape can claim more than the JSON holds.
  if (count > request.jsonBytes / 2) throw bad(`input "${input.name}" has shape [${shape}] (${count} values), more than the request carries`);
  const data = flatten(input.data, count, shape.length);
  if (!data) throw bad(`input "${input.name}" needs ${count} finite numbers in "data", flat or nested as its shape (or binary data)`);
  return { data, dims: shape };
}

/**
 * The infer response for `out`: JSON with the output's values in "data", or, where the request
 * asked for binary output, the JSON with its "binary_data_size" and then the output's bytes
 * (`jsonLength` goes in Inference-Header-Content-Length).
 */
export function inferResponse(v: ModelVersion, request: V2Request, out: Tensor): { json: string } | { jsonLength: number; body: Buffer } {
  const output: Record<string, unknown> = { name: v.config.outputName, datatype: 'FP32', shape: out.dims };
  const reply = { model_name: v.name, model_version: v.version, ...(request.id !== undefined ? { id: request.id } : {}), outputs: [output] };
  if (!request.binaryOutput) {
    output['data'] = Array.from(out.data);
    return { json: JSON.stringify(reply) };
  }
  output['parameters'] = { binary_data_size: out.data.byteLength };
  const json = Buffer.from(JSON.stringify(reply));
  return { jsonLength: json.length, body: Buffer.concat([json, Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength)]) };
}

/**
 * `count` finite numbers, flat or nested at most `maxDepth` deep, into a Float32Array; null for
 * anything else. Iterative, and it stops at the first thing out of place.
 */
export function flatten(data: unknown, count: number, maxDepth: number): Float32Array | null {
  if (!Array.isArray(data)) return null;
  const out = new Float32Array(count);
  let n = 0;
  const stack: Array<{ items: unknown[]; next: number }> = [{ items: data, next: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.next === top.items.length) {
      stack.pop();
      continue;
    }
    const x = top.items[top.next++];
    if (typeof x === 'number') {
      if (!Number.isFinite(x) || n === count) return null;
      out[n++] = x;
    } else if (Array.isArray(x)) {
      if (stack.length >= maxDepth) return null;
      stack.push({ items: x, next: 0 });
    } else {
      return null;
    }
  }
  return n === count ? out : null;
}
