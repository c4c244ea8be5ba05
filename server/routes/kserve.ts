// KServe v2 / Open Inference Protocol on the inference port: health, metadata, and infer with
// JSON tensors or the binary tensor data extension. Inputs are already preprocessed FP32
// tensors in the model's layout, as Triton clients send them; outputs are the raw model output.
// Errors are {"error": "..."}, as the protocol says.

import { Router, type NextFunction, type Request, type Response } from 'express';
import type { InferenceEngine } from '../bridge/inference-engine.js';
import { BridgeError } from '../bridge/bridge-error.js';
import { ApiError, fromBridgeError } from '../errors.js';
import type { ModelStore, ModelVersion } from '../model-store.js';
import { readRaw } from '../request-body.js';

class V2Error extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

interface V2Input {
  name: string;
  shape: number[];
  datatype: string;
  data?: unknown;
  parameters?: { binary_data_size?: number };
}

interface V2Request {
  id?: string;
  inputs: V2Input[];
  outputs?: Array<{ name: string; parameters?: { binary_data?: boolean } }>;
  parameters?: { binary_data_output?: boolean };
}

function inputShape(v: ModelVersion): number[] {
  const n = v.config.normalisation;
  return n.layout === 'NCHW' ? [-1, 3, n.size, n.size] : [-1, n.size, n.size, 3];
}

function metadata(store: ModelStore, v: ModelVersion) {
  return {
    name: v.name,
    versions: [...store.list().find((m) => m.name === v.name)!.versions.keys()],
    platform: 'onnxruntime_onnx',
    inputs: [{ name: v.config.inputName, datatype: 'FP32', shape: inputShape(v) }],
    outputs: [{ name: v.config.outputName, datatype: 'FP32', shape: [-1, v.labels.length || -1] }],
  };
}

function resolve(store: ModelStore, name: string, version?: string): ModelVersion {
  try {
    return store.resolve(name, version);
  } catch (e) {
    throw e instanceof ApiError ? new V2Error(404, e.message) : e;
  }
}

/** The JSON header and the binary tensors after it (Inference-Header-Content-Length). */
function parseRequest(body: Buffer, headerLength: number | null): { request: V2Request; binary: Buffer } {
  if (headerLength !== null && (!Number.isInteger(headerLength) || headerLength < 0 || headerLength > body.length)) {
    throw new V2Error(400, `Inference-Header-Content-Length ${headerLength} does not fit a body of ${body.length} bytes`);
  }
  const json = headerLength === null ? body : body.subarray(0, headerLength);
  let request: V2Request;
  try {
    request = JSON.parse(json.toString('utf8')) as V2Request;
  } catch {
    throw new V2Error(400, 'the request is not valid JSON');
  }
  if (!request || !Array.isArray(request.inputs) || request.inputs.length === 0) throw new V2Error(400, 'the request has no "inputs"');
  return { request, binary: headerLength === null ? Buffer.alloc(0) : body.subarray(headerLength) };
}

function inputTensor(v: ModelVersion, request: V2Request, binary: Buffer): { data: Float32Array; dims: number[] } {
  const input = request.inputs.find((i) => i.name === v.config.inputName) ?? (request.inputs.length === 1 ? request.inputs[0]! : undefined);
  if (!input) throw new V2Error(400, `no input named "${v.config.inputName}"`);
  if (input.datatype !== 'FP32') throw new V2Error(400, `input "${input.name}" must be FP32, got ${input.datatype}`);
  const want = inputShape(v);
  const shape = input.shape;
  if (!Array.isArray(shape) || shape.length !== want.length || !shape.every((d, i) => Number.isInteger(d) && d > 0 && (want[i] === -1 || d === want[i]))) {
    throw new V2Error(400, `input "${input.name}" has shape [${shape}], expected [${want.join(', ')}] (-1: any batch size)`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const size = input.parameters?.binary_data_size;
  if (size !== undefined) {
    if (size !== count * 4 || binary.length < size) throw new V2Error(400, `binary_data_size ${size} does not match shape [${shape}] (${count * 4} bytes) or the data sent (${binary.length})`);
    const data = new Float32Array(count);
    new Uint8Array(data.buffer).set(binary.subarray(0, size));
    return { data, dims: shape };
  }
  const flat = Array.isArray(input.data) ? input.data.flat(Infinity) : null;
  if (!flat || flat.length !== count || !flat.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new V2Error(400, `input "${input.name}" needs ${count} numbers in "data" (or binary data), got ${flat ? flat.length : 'none'}`);
  }
  return { data: Float32Array.from(flat as number[]), dims: shape };
}

const target = (req: Request) => {
  const p = req.params as Record<string, string>;
  return [p['name']!, p['version']] as const;
};

export function kserveRouter(store: ModelStore, engine: InferenceEngine, opts: { version: string; maxRequestSize: number; responseTimeoutMs: number; isReady: () => boolean }): Router {
  const router = Router();
  router.get('/v2', (_req, res) => {
    res.json({ name: 'webgpu-inference-server', version: opts.version, extensions: ['binary_tensor_data'] });
  });
  router.get('/v2/health/live', (_req, res) => {
    res.json({ live: true });
  });
  router.get('/v2/health/ready', (_req, res) => {
    res.status(opts.isReady() ? 200 : 503).json({ ready: opts.isReady() });
  });
  const paths = (suffix: string) => [`/v2/models/:name${suffix}`, `/v2/models/:name/versions/:version${suffix}`];
  router.get(paths(''), (req, res) => {
    res.json(metadata(store, resolve(store, ...target(req))));
  });
  router.get(paths('/ready'), (req, res) => {
    const ready = engine.status(resolve(store, ...target(req)))?.state === 'ready';
    res.status(ready ? 200 : 503).json({ name: req.params['name'], ready });
  });
  router.post(paths('/infer'), async (req, res) => {
    const v = resolve(store, ...target(req));
    const header = req.headers['inference-header-content-length'];
    const { request, binary } = parseRequest(await readRaw(req, opts.maxRequestSize), header === undefined ? null : Number(header));
    const { data, dims } = inputTensor(v, request, binary);
    const out = await engine.runTensor(v, data, dims, opts.responseTimeoutMs);
    const asBinary = request.parameters?.binary_data_output === true || request.outputs?.some((o) => o.parameters?.binary_data === true) === true;
    const output: Record<string, unknown> = { name: v.config.outputName, datatype: 'FP32', shape: out.dims };
    const reply = { model_name: v.name, model_version: v.version, ...(request.id !== undefined ? { id: request.id } : {}), outputs: [output] };
    if (!asBinary) {
      output['data'] = Array.from(out.data);
      res.json(reply);
      return;
    }
    output['parameters'] = { binary_data_size: out.data.byteLength };
    const json = Buffer.from(JSON.stringify(reply));
    res.set({ 'Content-Type': 'application/octet-stream', 'Inference-Header-Content-Length': String(json.length) });
    res.send(Buffer.concat([json, Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength)]));
  });
  // The protocol's error shape for everything under /v2.
  router.use('/v2', (err: unknown, _req: Request, res: Response, next: NextFunction) => {
    const known = err instanceof BridgeError ? fromBridgeError(err) : err instanceof V2Error || err instanceof ApiError ? err : null;
    if (known) res.status(known.status).json({ error: known.message });
    else next(err);
  });
  return router;
}
