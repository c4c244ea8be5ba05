// The pipeline for images, whichever protocol carried them (/predictions, KServe v1, gRPC): the
// request admitted before its body is read; the body; the model's place, taken once the body is
// in and before anything is decoded (503 when full); each image decoded through the decoders'
// line and run through the engine, which batches them with each other and with other traffic;
// each answer written: ranked and labelled here for an image classifier, by the handler in the
// page for the others (browser-runtime/handlers/). The request's one deadline covers all of it.
// One image that fails fails the request; the others leave the decoders' line and the queue.

import type { InferenceEngine, RunTiming } from '../page/inference-engine.js';
import type { ModelVersion } from '../store/model-store.js';
import type { Deadline } from '../ops/deadline.js';
import { type Placed, preprocessPlaced } from '../image/preprocess.js';
import type { Ticket } from './admission.js';
import { allParts, type InferenceCall, type InferenceGuards, type Pipeline, receive } from './inference-core.js';
import { formatRanked } from './postprocess.js';
import { parseSegmentation, segmentationJson } from './segmentation-answer.js';
import { answerBytes } from './bytes-pipeline.js';
import { type Answered, served, stagesOf } from './served.js';

export interface ImageRequest {
  model: ModelVersion;
  /** Classes to answer per image. */
  k: number;
  /** The body, its bytes counted against the ticket as they arrive. */
  read(ticket: Ticket): Promise<Buffer>;
  /**
   * The images in the body where it holds several (KServe v1's instances): copies of its bytes,
   * which this counts against the ticket. The body is the one image otherwise.
   */
  images?(body: Buffer, ticket: Ticket): Buffer[];
  /**
   * An image segmenter's answers in the page's compact form (segmentation-answer.ts), for a
   * caller that writes them otherwise (a PNG); TorchServe's nested list where unset.
   */
  compactSegments?: boolean;
  /** An image's own fault as its client is told it, where the body holds several. */
  blame?(index: number, error: unknown): unknown;
}

/** How a model's images are decoded and cut, whichever protocol carried them. */
export const imageOptions = (model: ModelVersion, guards: InferenceGuards) => ({
  resize: model.config.resize,
  crop: model.config.normalisation.size,
  maxPixels: guards.maxImagePixels,
  maxJpegScans: guards.maxJpegScans,
  resampling: model.config.resampling,
  fit: model.config.fit,
  fill: model.config.fill,
  align: model.config.align,
});

/** One image's run: its timing, and its answer written as JSON text (the post stage, for a classifier). */
interface ImageAnswer {
  write(): string;
  timing: RunTiming;
}

/** An image classifier's pixels are ranked in the page and labelled here; every other handler's page writes the answer itself. */
async function answerOne(engine: InferenceEngine, model: ModelVersion, placed: Placed, k: number, deadline: Deadline, signal: AbortSignal, compact: boolean): Promise<ImageAnswer> {
  if (model.config.handler !== 'image_classifier') {
    const { width, height, scaleX, scaleY, left, top } = placed.placement;
    const out = await engine.handle(model, { bytes: placed.pixels, meta: [width, height, scaleX, scaleY, left, top] }, deadline, signal);
    if (model.config.handler === 'image_segmenter' && !compact) return { write: () => segmentationJson(parseSegmentation(out.answer)), timing: out.timing };
    return { write: () => out.answer, timing: out.timing };
  }
  const out = await engine.infer(model, placed.pixels, k, deadline, signal);
  return { write: () => formatRanked(out.classes, out.probabilities, model.labels, model.config.outputFormat), timing: out.timing };
}

/** Each image's answer, as /predictions sends it, in the order of the images. */
export async function answerImages(pipeline: Pipeline, call: InferenceCall, request: ImageRequest): Promise<Answered<string[]>> {
  // A model's own handler that takes the request's bytes: nothing is decoded.
  if (request.model.config.handlerInput === 'bytes') return answerBytes(pipeline, call, request);
  const { engine, guards } = pipeline;
  const { model, k } = request;
  const received = await receive(guards, model, call, request.read, request.images);
  const { deadline, tRead, parts: images, signal } = received;
  const gate = guards.decodes.gate(deadline, signal);
  const options = imageOptions(model, guards);
  let tDecoded = tRead;
  const runs = images.map(async (bytes, i): Promise<ImageAnswer> => {
    // Its batch may wait for it while it decodes, until it is submitted or has failed.
    const arrived = engine.expect(model);
    try {
      const placed = await preprocessPlaced(bytes, options, gate).catch((e: unknown) => Promise.reject(request.blame ? request.blame(i, e) : e));
      tDecoded = Math.max(tDecoded, performance.now());
      if (deadline.expired()) throw deadline.exceeded('decoding the image');
      signal.throwIfAborted(); // another image failed meanwhile: this one is not run
      arrived();
      return answerOne(engine, model, placed, k, deadline, signal, request.compactSegments === true);
    } finally {
      arrived();
    }
  });
  const outs = await allParts(runs, received);
  const tRan = performance.now();
  const answers = outs.map((out) => out.write());
  const tWritten = performance.now();
  const run = slowest(outs.map((out) => out.timing));
  return served(pipeline, model, answers, run, stagesOf({ arrived: call.arrivedAt, read: tRead, decoded: tDecoded, ran: tRan, written: tWritten }, run));
}

/** Runs side by side: the request waited as long as its slowest in each stage. */
export function slowest(runs: RunTiming[]): RunTiming {
  const most = (stage: (r: RunTiming) => number) => Math.max(...runs.map(stage));
  return { batch: most((r) => r.batch), queueMs: most((r) => r.queueMs), transferMs: most((r) => r.transferMs), inferMs: most((r) => r.inferMs) };
}
