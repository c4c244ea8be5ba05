// KServe v2 / Open Inference Protocol on the inference port: health, metadata, and infer with
// JSON tensors or the binary tensor data extension. Inputs are already preprocessed FP32
// tensors in the model's layout, as Triton clients send them; outputs are the raw model output.
// Errors are {"error": "..."}, as the protocol says (errors.ts answers so for every /v2 path).
// Infer takes the tensor pipeline (server/pipeline/infer-tensor.ts): admitted before the body is
// read, its bytes held against the server's budget, a place in the model's queue once it is in,
// the same deadline, queue, workers and drain as /predictions.

import type { Request } from 'express';
import { Type } from '@sinclair/typebox';
import type { InferenceEngine } from '../../page/inference-engine.js';
import { binary, inferenceAnswers, json, kserveError, modelName, modelVersion } from '../api-schemas.js';
import { inferResponse, inputTensor, modelMetadata, parseRequest } from '../../kserve/kserve-v2.js';
import type { ModelStore } from '../../store/model-store.js';
import type { Operation, Param } from '../operation.js';
import { readRaw } from '../uploads/request-body.js';
import { httpCall, recordInference } from './inference-request.js';
import type { InferenceGuards } from '../../pipeline/inference-core.js';
import { inferTensor } from '../../pipeline/infer-tensor.js';
import type { Metrics } from '../../ops/metrics.js';

const Tensor = Type.Object({ name: Type.String(), datatype: Type.String(), shape: Type.Array(Type.Integer()) });
const Metadata = Type.Object({ name: Type.String(), versions: Type.Array(Type.String()), platform: Type.String(), inputs: Type.Array(Tensor), outputs: Type.Array(Tensor) });
const Ready = Type.Object({ name: Type.String(), ready: Type.Boolean() });
const InferResponse = Type.Object({
  model_name: Type.String(),
  model_version: Type.String(),
  id: Type.Optional(Type.String()),
  outputs: Type.Array(
    Type.Object({
      name: Type.String(),
      datatype: Type.String(),
      shape: Type.Array(Type.Integer()),
      data: Type.Optional(Type.Array(Type.Number())),
      parameters: Type.Optional(Type.Object({ binary_data_size: Type.Integer() })),
    }),
  ),
});
const InferRequest = Type.Object({
  id: Type.Optional(Type.String()),
  inputs: Type.Array(
    Type.Object({
      name: Type.String(),
      shape: Type.Array(Type.Integer()),
      datatype: Type.String({ description: "FP32 for the model's input; other inputs are not used" }),
      data: Type.Optional(Type.Array(Type.Unknown())),
      parameters: Type.Optional(Type.Object({ binary_data_size: Type.Integer({ description: 'bytes of this input in the binary data, after those of the binary inputs listed before it' }) })),
    }),
  ),
  outputs: Type.Optional(Type.Array(Type.Object({ name: Type.String(), parameters: Type.Optional(Type.Object({ binary_data: Type.Boolean() })) }))),
});

const UNKNOWN = 'Unknown model or version';

const target = (store: ModelStore, req: Request) => {
  const p = req.params as Record<string, string>;
  return store.resolve(p['model_name']!, p['model_version']);
};

export interface KserveOptions {
  version: string;
  guards: InferenceGuards;
  metrics?: Metrics | undefined;
}

/** Server liveness and readiness: open to health probes, key or not, like /ping. */
export const kserveHealthOperations = (isReady: () => boolean): Operation[] => [
  {
    id: 'v2Live',
    method: 'get',
    path: '/v2/health/live',
    summary: 'KServe v2 liveness',
    responses: { 200: json('Live', Type.Object({ live: Type.Boolean() })) },
    handler: (_req, res) => {
      res.json({ live: true });
    },
  },
  {
    id: 'v2Ready',
    method: 'get',
    path: '/v2/health/ready',
    summary: 'KServe v2 readiness: every model loaded and warm',
    responses: { 200: json('Ready', Type.Object({ ready: Type.Boolean() })), 503: json('Not ready', Type.Object({ ready: Type.Boolean() })) },
    handler: (_req, res) => {
      const ready = isReady();
      res.status(ready ? 200 : 503).json({ ready });
    },
  },
];

export function kserveOperations(store: ModelStore, engine: InferenceEngine, opts: KserveOptions): Operation[] {
  // Each per-model operation exists for the default version and for a named one.
  const both = (id: string, suffix: string, op: Omit<Operation, 'id' | 'path' | 'params'>, params: Param[] = []): Operation[] => [
    { ...op, id, path: `/v2/models/{model_name}${suffix}`, params: [modelName, ...params] },
    { ...op, id: id.replace(/^v2Model/, 'v2ModelVersion'), path: `/v2/models/{model_name}/versions/{model_version}${suffix}`, params: [modelName, modelVersion, ...params] },
  ];
  const unknown = kserveError(UNKNOWN);
  const pipeline = { engine, guards: opts.guards, metrics: opts.metrics };
  return [
    {
      id: 'v2Server',
      method: 'get',
      path: '/v2',
      summary: 'KServe v2 server metadata',
      responses: { 200: json('Name, version and extensions', Type.Object({ name: Type.String(), version: Type.String(), extensions: Type.Array(Type.String()) })) },
      handler: (_req, res) => {
        res.json({ name: 'webgpu-inference-server', version: opts.version, extensions: ['binary_tensor_data'] });
      },
    },
    ...both('v2ModelMetadata', '', {
      method: 'get',
      summary: 'KServe v2 model metadata (-1 for variable dimensions)',
      responses: { 200: json('Metadata', Metadata), 404: unknown },
      handler: (req, res) => {
        res.json(modelMetadata(store, target(store, req)));
      },
    }),
    ...both('v2ModelReady', '/ready', {
      method: 'get',
      summary: 'KServe v2 model readiness',
      responses: { 200: json('Ready', Ready), 503: json('Not ready', Ready), 404: unknown },
      handler: (req, res) => {
        const v = target(store, req);
        const ready = engine.status(v)?.state === 'ready';
        res.status(ready ? 200 : 503).json({ name: v.name, ready });
      },
    }),
    ...both(
      'v2ModelInfer',
      '/infer',
      {
        method: 'post',
        summary: 'KServe v2 inference: an already preprocessed FP32 tensor; JSON, or the binary tensor data extension',
        body: {
          description: 'A v2 inference request; with Inference-Header-Content-Length, its JSON then the binary tensors',
          content: { 'application/json': InferRequest, 'application/octet-stream': binary },
        },
        responses: inferenceAnswers(
          kserveError,
          { description: 'Raw model output, JSON or binary', content: { 'application/json': InferResponse, 'application/octet-stream': binary } },
          { 400: 'Bad request', 404: UNKNOWN, 413: 'Body larger than max_request_size' },
        ),
        handler: async (req, res) => {
          const call = httpCall(req, res, performance.now());
          const v = target(store, req);
          const served = await inferTensor(pipeline, call, {
            model: v,
            read: (ticket) => readRaw(req, { maxBytes: opts.guards.maxRequestSize, ticket, uploads: opts.guards.uploads }),
            parse: (body, ticket) => {
              const header = req.headers['inference-header-content-length'];
              const { request, binary } = parseRequest(body, header === undefined ? null : Number(header));
              const tensor = inputTensor(v, request, binary);
              ticket.hold(tensor.data.byteLength); // the tensor is a second copy of the body's bytes
              return { request, tensor };
            },
            answer: (out, { request }) => inferResponse(v, request, out),
          });
          recordInference(res, served);
          const { answer } = served;
          if ('json' in answer) {
            res.type('application/json').send(answer.json);
            return;
          }
          res.set({ 'Content-Type': 'application/octet-stream', 'Inference-Header-Content-Length': String(answer.jsonLength) });
          res.send(answer.body);
        },
      },
      [{ name: 'Inference-Header-Content-Length', in: 'header', schema: Type.Integer(), description: 'Length of the JSON header before binary tensor data' }],
    ),
  ];
}
