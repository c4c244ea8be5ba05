import type { Request, Response } from 'express';
import { Type } from '@sinclair/typebox';
import { binary, error, inferenceAnswers, modelName, modelVersion, query } from '../api-schemas.js';
import type { InferenceEngine } from '../../page/inference-engine.js';
import type { ModelStore } from '../../store/model-store.js';
import { answerImages } from '../../pipeline/image-pipeline.js';
import { answerTexts } from '../../pipeline/text-pipeline.js';
import type { Ticket } from '../../pipeline/admission.js';
import type { InferenceGuards } from '../../pipeline/inference-core.js';
import { MAX_TOPK, parseTopK } from '../../pipeline/top-k-param.js';
import { readImageBody } from '../uploads/request-body.js';
import type { Metrics } from '../../ops/metrics.js';
import { httpCall, recordInference } from './inference-request.js';
import { segmentationPng } from '../../pipeline/segmentation-answer.js';
import { segmenterForm } from './segmenter-form.js';
import type { Operation } from '../operation.js';

/** What /predictions answers for one input, for each handler (and a classifier's output_format). */
export const Prediction = Type.Union([
  Type.Array(Type.Object({ class: Type.String(), probability: Type.Number() }), { description: 'image_classifier, output_format "classes" (default)' }),
  Type.Record(Type.String(), Type.Number(), { description: 'image_classifier, output_format "torchserve": label to probability' }),
  Type.Array(Type.Intersect([Type.Object({ score: Type.Number() }), Type.Record(Type.String(), Type.Union([Type.Array(Type.Number(), { minItems: 4, maxItems: 4 }), Type.Number()]))]), {
    description: 'object_detector: one object per item, highest score first: {"<label>": [x1, y1, x2, y2] in the image\'s pixels, "score": s}',
  }),
  Type.Array(Type.Array(Type.Array(Type.Number(), { minItems: 2, maxItems: 2 })), { description: 'image_segmenter: height rows of width [class, probability] pairs' }),
]);

// In order: the model, the topk, then the image pipeline (image-pipeline.ts): admission (503
// before the body is read when full), the body, the model's place (503 before the decode when
// full), the decode, the run; the request's one deadline covers all of it.
export function predictionOperations(store: ModelStore, engine: InferenceEngine, guards: InferenceGuards, metrics?: Metrics): Operation[] {
  const pipeline = { engine, guards, metrics };
  const handle = async (req: Request, res: Response) => {
    const call = httpCall(req, res, performance.now());
    const params = req.params as { model_name: string; model_version?: string };
    const model = store.resolve(params.model_name, params.model_version);
    const k = parseTopK(req.query['topk'], model.config.topk);
    // A text rides in the body, or in a form's field, as an image does.
    const read = (ticket: Ticket) => readImageBody(req, { maxBytes: guards.maxRequestSize, ticket, uploads: guards.uploads });
    const form = segmenterForm(req, model);
    const served =
      model.config.handler === 'text_classifier' ? await answerTexts(pipeline, call, { model, read }) : await answerImages(pipeline, call, { model, k, compactSegments: form === 'png', read });
    recordInference(res, served);
    if (form === 'png') res.type('image/png').send(await segmentationPng(served.answer[0]!));
    else res.type('application/json').send(served.answer[0]);
  };
  return [false, true].flatMap((versioned) =>
    (['post', 'put'] as const).map((method) => ({
      id: `${versioned ? 'versionPredictions' : 'predictions'}${method === 'post' ? 'Post' : 'Put'}`,
      method,
      path: versioned ? '/predictions/{model_name}/{model_version}' : '/predictions/{model_name}',
      summary: versioned ? 'Run one version of a model on an input (an image, or what its handler takes)' : "Run a model's default version on an input (an image, or what its handler takes)",
      params: [modelName, ...(versioned ? [modelVersion] : []), query('topk', 'How many classes to answer (default: the model config, 5)', Type.Integer({ minimum: 1, maximum: MAX_TOPK }))],
      body: {
        description:
          'The input, as the raw body or a multipart form whose "data" (or "body", or first) file holds it: an image (JPEG, PNG, WebP, GIF, TIFF, AVIF) for image handlers; UTF-8 text for a text_classifier; the bytes as they are for a handler.js that takes them',
        content: { 'application/octet-stream': binary, 'image/*': binary, 'text/plain': binary, 'multipart/form-data': Type.Object({ data: binary }) },
      },
      responses: inferenceAnswers(
        error,
        {
          description:
            "The model's answer, as its handler writes it: a classifier's top classes, highest probability first; a detector's objects; a segmenter's top class per pixel (with Accept: image/png, the class map as an 8-bit greyscale PNG); a text classifier's probability per class",
          content: { 'application/json': Prediction, 'image/png': binary },
        },
        {
          400: 'Empty, unsupported or undecodable image; empty, too long or not UTF-8 text; or a bad topk',
          404: 'Unknown model (ModelNotFoundException) or version (ModelVersionNotFoundException)',
          406: 'An image_segmenter asked for neither application/json nor image/png',
          413: 'Body larger than max_request_size, or image larger than max_image_pixels',
        },
      ),
      handler: handle,
    })),
  );
}
