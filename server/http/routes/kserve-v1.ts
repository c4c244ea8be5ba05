// KServe v1 on the inference port, as TorchServe answers it with service_envelope=kserve: model
// readiness, and predict with base64 images as instances, answered with what /predictions
// answers for each. Errors are {"error": "..."}, as KServe's (errors.ts answers so under /v1).
//
// A request is admitted as one, on the image pipeline (server/pipeline/image-pipeline.ts): one
// place among the model's job_queue_size requests once its body is in, its bytes held against
// the server's budget, one deadline, the drain. Each instance is then an image of its own: the
// same decode (through the same decoders' line) and one engine.infer each, so the scheduler
// batches the instances with each other and with /predictions traffic, and each takes a place
// in the model's queue, which is refused (503, Retry-After) past job_queue_size like any other.
// One instance that fails fails the request; the others leave the decoders' line and the queue.

import type { Request } from 'express';
import { Type } from '@sinclair/typebox';
import { inferenceAnswers, json, kserveError, modelName, query } from '../api-schemas.js';
import type { InferenceEngine } from '../../page/inference-engine.js';
import { ApiError } from '../../errors.js';
import { MAX_INSTANCES, parseInstances } from '../../kserve/kserve-v1.js';
import type { Metrics } from '../../ops/metrics.js';
import type { ModelStore } from '../../store/model-store.js';
import type { Operation } from '../operation.js';
import { answerImages } from '../../pipeline/image-pipeline.js';
import { answerTexts } from '../../pipeline/text-pipeline.js';
import { parseTextInstances } from '../../kserve/kserve-v1-text.js';
import type { Ticket } from '../../pipeline/admission.js';
import type { InferenceGuards } from '../../pipeline/inference-core.js';
import { MAX_TOPK, parseTopK } from '../../pipeline/top-k-param.js';
import { readRaw } from '../uploads/request-body.js';
import { httpCall, recordInference } from './inference-request.js';
import { Prediction } from './predictions.js';

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

const UNKNOWN = 'Unknown model';

const modelOf = (store: ModelStore, req: Request) => store.resolve((req.params as { model_name: string }).model_name);

export function kserveV1Operations(store: ModelStore, engine: InferenceEngine, guards: InferenceGuards, metrics?: Metrics): Operation[] {
  const pipeline = { engine, guards, metrics };
  const unknown = kserveError(UNKNOWN);
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
    responses: inferenceAnswers(
      kserveError,
      { description: 'One prediction per instance, in order', content: { 'application/json': PredictResponse } },
      {
        400: 'Malformed request, too many instances, or an instance that is not a base64 image (named by its index), or a bad topk',
        404: UNKNOWN,
        413: 'Body larger than max_request_size, or an image larger than max_image_pixels',
      },
    ),
    handler: async (req, res) => {
      const call = httpCall(req, res, performance.now());
      const model = modelOf(store, req);
      const k = parseTopK(req.query['topk'], model.config.topk);
      const read = (ticket: Ticket) => readRaw(req, { maxBytes: guards.maxRequestSize, ticket, uploads: guards.uploads });
      const maxInstances = Math.min(MAX_INSTANCES, guards.admission.perModel);
      const served =
        model.config.handler === 'text_classifier'
          ? await answerTexts(pipeline, call, {
              model,
              read,
              texts: (body, ticket) => {
                const texts = parseTextInstances(body, maxInstances);
                ticket.hold(texts.reduce((n, b) => n + b.length, 0));
                return texts;
              },
              name: (i) => `instances[${i}]`,
            })
          : await answerImages(pipeline, call, {
              model,
              k,
              read,
              images: (body, ticket) => {
                const images = parseInstances(body, maxInstances);
                ticket.hold(images.reduce((n, b) => n + b.length, 0)); // the images are a second copy of most of the body
                return images;
              },
              blame: naming,
            });
      recordInference(res, served);
      res.type('application/json').send(`{"predictions":[${served.answer.join(',')}]}`);
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
