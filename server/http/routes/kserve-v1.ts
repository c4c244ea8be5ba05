// KServe v1 on the inference port, as TorchServe answers it with service_envelope=kserve: model
// readiness, and predict with base64 images as instances, answered with what /predictions
// answers for each. Errors are {"error": "..."}, as KServe's (errors.ts answers so under /v1).
//
// A request is admitted as one (inference-request.ts): one place among the model's
// job_queue_size requests once its body is in, its bytes held against the server's budget, one
// deadline, the drain. Each instance is then an image of its own on the /predictions path: the
// same decode (through the same decoders' line) and one engine.infer each, so the scheduler
// batches the instances with each other and with /predictions traffic, and each takes a place
// in the model's queue, which is refused (503, Retry-After) past job_queue_size like any other.
// One instance that fails fails the request; the others leave the decoders' line and the queue.

import type { Request } from 'express';
import { Type } from '@sinclair/typebox';
import { inferenceFailures, json, kserveError, modelName, query, TIMING_HEADERS } from '../api-schemas.js';
import type { InferenceEngine, InferOutput } from '../../page/inference-engine.js';
import { ApiError } from '../../errors.js';
import { MAX_INSTANCES, parseInstances } from '../../kserve/kserve-v1.js';
import type { Metrics } from '../../ops/metrics.js';
import type { ModelStore } from '../../store/model-store.js';
import type { Operation } from '../operation.js';
import { formatRanked } from '../../pipeline/postprocess.js';
import { preprocess } from '../../image/preprocess.js';
import { readRaw } from '../uploads/request-body.js';
import { imageOptions, recordInference, startInference, type InferenceGuards } from './inference-request.js';
import { MAX_TOPK, parseTopK, Prediction } from './predictions.js';

const Ready = Type.Object({ name: Type.String(), ready: Type.Boolean() });
const Image = Type.String({ description: 'The image file (JPEG, PNG, WebP, GIF, TIFF, AVIF), base64' });
const PredictRequest = Type.Object({
  instances: Type.Array(Type.Object({ data: Type.Union([Image, Type.Object({ b64: Image })]) }), { minItems: 1, maxItems: MAX_INSTANCES }),
});
const PredictResponse = Type.Object({
  predictions: Type.Array(Prediction, { description: "What /predictions answers for each instance's image, in instance order" }),
});

/** A client's fault in one instance (400, 413) says which; the server's own (503, 504) is the request's. */
const naming = (i: number, e: unknown): unknown => (e instanceof ApiError && (e.status === 400 || e.status === 413) ? new ApiError(e.status, e.type, `instances[${i}]: ${e.message}`, e.headers) : e);

const modelOf = (store: ModelStore, req: Request) => store.resolve((req.params as { model_name: string }).model_name);

export function kserveV1Operations(store: ModelStore, engine: InferenceEngine, guards: InferenceGuards, metrics?: Metrics): Operation[] {
  const unknown = kserveError('Unknown model');
  // Before readiness: its 405 answers `/v1/models/{m}:predict`, which readiness's path also matches.
  const predict: Operation = {
    id: 'v1ModelPredict',
    method: 'post',
    path: '/v1/models/{model_name}:predict',
    summary: "KServe v1 predict: base64 images as instances, each classified as /predictions does with the model's default version",
    params: [modelName, query('topk', 'How many classes to answer per instance (default: the model config, 5)', Type.Integer({ minimum: 1, maximum: MAX_TOPK }))],
    body: {
      description: `{"instances": [{"data": "<base64 image>"}, ...]}, the data also as {"b64": "..."}; at most ${MAX_INSTANCES} instances, and job_queue_size`,
      content: { 'application/json': PredictRequest },
    },
    responses: {
      200: { description: 'One prediction per instance, in order', headers: TIMING_HEADERS, content: { 'application/json': PredictResponse } },
      400: kserveError('Malformed request, too many instances, or an instance that is not a base64 image (named by its index), or a bad topk'),
      404: unknown,
      413: kserveError('Body larger than max_request_size, or an image larger than max_image_pixels'),
      ...inferenceFailures(kserveError),
    },
    handler: async (req, res) => {
      const t0 = performance.now();
      const model = modelOf(store, req);
      const k = parseTopK(req.query['topk'], model.config.topk);
      const { deadline, ticket, signal: gone } = startInference(guards, model, req, res);
      const body = await readRaw(req, { maxBytes: guards.maxRequestSize, ticket, uploads: guards.uploads });
      ticket.place();
      const tRead = performance.now();
      const images = parseInstances(body, Math.min(MAX_INSTANCES, guards.admission.perModel));
      ticket.hold(images.reduce((n, b) => n + b.length, 0)); // the images are a second copy of most of the body
      const failed = new AbortController();
      const signal = AbortSignal.any([gone, failed.signal]);
      const gate = guards.decodes.gate(deadline, signal);
      const options = imageOptions(model, guards);
      let tDecoded = tRead;
      const runs = images.map(async (bytes, i): Promise<InferOutput> => {
        const pixels = await preprocess(bytes, options, gate).catch((e: unknown) => Promise.reject(naming(i, e)));
        tDecoded = Math.max(tDecoded, performance.now());
        if (deadline.expired()) throw deadline.exceeded('decoding the image');
        signal.throwIfAborted(); // another instance failed meanwhile: this one is not run
        return engine.infer(model, pixels, k, deadline.limit(), signal);
      });
      let outs: InferOutput[];
      try {
        outs = await Promise.all(runs);
      } catch (e) {
        failed.abort(new Error('another instance of the request failed'));
        throw e;
      }
      const tInfer = performance.now();
      const answers = outs.map((out) => formatRanked(out.classes, out.probabilities, model.labels, model.config.outputFormat));
      const tPost = performance.now();
      // The instances ran side by side: the request waited as long as its slowest in each stage.
      const most = (stage: (o: InferOutput) => number) => Math.max(...outs.map(stage));
      recordInference(
        res,
        model,
        most((o) => o.batch),
        { read: tRead - t0, decode: tDecoded - tRead, queue: most((o) => o.queueMs), transfer: most((o) => o.transferMs), infer: most((o) => o.inferMs), post: tPost - tInfer, total: tPost - t0 },
        metrics,
      );
      res.type('application/json').send(`{"predictions":[${answers.join(',')}]}`);
    },
  };
  const ready: Operation = {
    id: 'v1ModelReady',
    method: 'get',
    path: '/v1/models/{model_name}',
    summary: "KServe v1 model readiness (the model's default version)",
    responses: { 200: json('Ready', Ready), 503: json('Not ready', Ready), 404: unknown },
    handler: (req, res, next) => {
      // No model name has a colon (SAFE_NAME): `/v1/models/{m}:predict` goes on to its own 405.
      if ((req.params as { model_name: string }).model_name.includes(':')) return next();
      const v = modelOf(store, req);
      const isReady = engine.status(v)?.state === 'ready';
      res.status(isReady ? 200 : 503).json({ name: v.name, ready: isReady });
    },
  };
  return [predict, ready];
}
