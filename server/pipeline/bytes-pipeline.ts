// The pipeline for a model whose own handler takes the request's bytes (config.json
// `"handler_input": "bytes"`): as image-pipeline.ts's, less the decode. The request is admitted,
// its body read against the same bounds as an image's (max_request_size, the server's budget of
// bytes held), the model's place taken, and each body (KServe v1's instances: each one) sent
// to the page as it came, as one item for the handler's preprocess.

import { badRequest } from '../errors.js';
import { type ImageRequest, slowest } from './image-pipeline.js';
import { allParts, type InferenceCall, type Pipeline, receive } from './inference-core.js';
import { type Answered, served, stagesOf } from './served.js';

export async function answerBytes(pipeline: Pipeline, call: InferenceCall, request: ImageRequest): Promise<Answered<string[]>> {
  const { engine, guards } = pipeline;
  const { model } = request;
  const received = await receive(guards, model, call, request.read, request.images);
  const { deadline, tRead, parts: items, signal } = received;
  const runs = items.map(async (bytes, i) => {
    if (bytes.length === 0) {
      const empty = badRequest("The request body is empty: this model's handler takes the request's bytes.");
      throw request.blame ? request.blame(i, empty) : empty;
    }
    return engine.handle(model, { bytes, meta: [] }, deadline, signal);
  });
  const outs = await allParts(runs, received);
  const tRan = performance.now();
  const run = slowest(outs.map((out) => out.timing));
  return served(
    pipeline,
    model,
    outs.map((out) => out.answer),
    run,
    stagesOf({ arrived: call.arrivedAt, read: tRead, decoded: tRead, ran: tRan, written: tRan }, run),
  );
}
