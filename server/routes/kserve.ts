// KServe v2 / Open Inference Protocol on the inference port: health, metadata, and infer with
// JSON tensors or the binary tensor data extension. Inputs are already preprocessed FP32
// tensors in the model's layout, as Triton clients send them; outputs are the raw model output.
// Errors are {"error": "..."}, as the protocol says. Infer takes the same path as /predictions:
// a place in the model's queue before the body is read, its bytes held against the server's
// budget, the same deadline, queue, workers and drain.

import type { Router, NextFunction, Request, Response } from 'express';
import type { InferenceEngine } from '../bridge/inference-engine.js';
import { BridgeError } from '../bridge/bridge-error.js';
import { ApiError, fromBridgeError } from '../errors.js';
import { inputShape, inputTensor, parseRequest, V2Error } from '../kserve-v2.js';
import type { ModelStore, ModelVersion } from '../model-store.js';
import { readRaw } from '../request-body.js';
import { serverTiming, startInference, type InferenceGuards } from './inference-request.js';
import { strictRouter } from '../express-app.js';

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

const target = (req: Request) => {
  const p = req.params as Record<string, string>;
  return [p['name']!, p['version']] as const;
};

export interface KserveOptions {
  version: string;
  guards: InferenceGuards;
}

/** Server liveness and readiness: open to health probes, key or not, like /ping. */
export function kserveHealthRouter(isReady: () => boolean): Router {
  const router = strictRouter();
  router.get('/v2/health/live', (_req, res) => {
    res.json({ live: true });
  });
  router.get('/v2/health/ready', (_req, res) => {
    const ready = isReady();
    res.status(ready ? 200 : 503).json({ ready });
  });
  return router;
}

export function kserveRouter(store: ModelStore, engine: InferenceEngine, opts: KserveOptions): Router {
  const router = strictRouter();
  router.get('/v2', (_req, res) => {
    res.json({ name: 'webgpu-inference-server', version: opts.version, extensions: ['binary_tensor_data'] });
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
    const { deadline, ticket, signal } = startInference(opts.guards, v, req, res);
    const header = req.headers['inference-header-content-length'];
    const body = await readRaw(req, { maxBytes: opts.guards.maxRequestSize, ticket });
    ticket.place();
    const { request, binary } = parseRequest(body, header === undefined ? null : Number(header));
    const { data, dims } = inputTensor(v, request, binary);
    ticket.hold(data.byteLength); // the tensor is a second copy of the body's bytes
    const out = await engine.runTensor(v, data, dims, deadline.remainingMs(), signal);
    res.set('Server-Timing', serverTiming({ queue: out.queueMs, transfer: out.transferMs, infer: out.inferMs }));
    const output: Record<string, unknown> = { name: v.config.outputName, datatype: 'FP32', shape: out.dims };
    const reply = { model_name: v.name, model_version: v.version, ...(request.id !== undefined ? { id: request.id } : {}), outputs: [output] };
    if (!request.binaryOutput) {
      output['data'] = Array.from(out.data);
      res.json(reply);
      return;
    }
    output['parameters'] = { binary_data_size: out.data.byteLength };
    const json = Buffer.from(JSON.stringify(reply));
    res.set({ 'Content-Type': 'application/octet-stream', 'Inference-Header-Content-Length': String(json.length) });
    res.send(Buffer.concat([json, Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength)]));
  });
  // The protocol's error shape for everything under /v2, with the headers (Retry-After) it carries.
  router.use('/v2', (err: unknown, _req: Request, res: Response, next: NextFunction) => {
    const known = err instanceof BridgeError ? fromBridgeError(err) : err instanceof V2Error || err instanceof ApiError ? err : null;
    if (!known) return next(err);
    if (known instanceof ApiError) res.set(known.headers);
    res.status(known.status).json({ error: known.message });
  });
  return router;
}
