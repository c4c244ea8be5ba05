// The pipeline for a text classifier's texts, whichever protocol carried them (/predictions,
// KServe v1, TorchServe gRPC): the request admitted before its body is read; the body; the
// model's place; each text checked (present, within its byte bound, UTF-8) and tokenised here
// (server/text/), then run through the engine as an item of token ids, batched with other
// texts; the page's text classifier writes each answer. One deadline covers all of it; one text
// that fails fails the request, and the others leave the queue.

import type { ModelVersion } from '../store/model-store.js';
import { encodeTokenItem } from '../../browser-runtime/handlers/token-item.js';
import { textOf } from '../text/text-input.js';
import type { Ticket } from './admission.js';
import { allParts, type InferenceCall, type Pipeline, receive } from './inference-core.js';
import { slowest } from './image-pipeline.js';
import { type Answered, served, stagesOf } from './served.js';

export interface TextRequest {
  model: ModelVersion;
  /** The body, its bytes counted against the ticket as they arrive. */
  read(ticket: Ticket): Promise<Buffer>;
  /** The texts in the body where it holds several (KServe v1's instances), as UTF-8 bytes; the body is the one text otherwise. */
  texts?(body: Buffer, ticket: Ticket): Buffer[];
  /** How text `index` is named in an error, where the body holds several. */
  name?(index: number): string;
}

/** Each text's answer, as /predictions sends it, in the order of the texts. */
export async function answerTexts(pipeline: Pipeline, call: InferenceCall, request: TextRequest): Promise<Answered<string[]>> {
  const { engine, guards } = pipeline;
  const { model } = request;
  const { tokenizer } = model;
  const bounds = model.config.text;
  if (!tokenizer || !bounds) throw new Error(`${model.key} is a text classifier without a tokenizer`);
  const received = await receive(guards, model, call, request.read, request.texts);
  const { deadline, tRead, parts: texts, signal } = received;
  // Checked and tokenised before any runs: a bad text fails the request with nothing queued.
  const items = texts.map((bytes, i) => {
    const tokens = tokenizer.encode(textOf(bytes, bounds.maxBytes, request.name?.(i)));
    return { bytes: encodeTokenItem(tokens.ids, tokens.typeIds), meta: [] };
  });
  const tTokenised = performance.now();
  const outs = await allParts(
    items.map((item) => engine.handle(model, item, deadline, signal)),
    received,
  );
  const tRan = performance.now();
  const answers = outs.map((out) => out.answer);
  const run = slowest(outs.map((out) => out.timing));
  return served(pipeline, model, answers, run, stagesOf({ arrived: call.arrivedAt, read: tRead, decoded: tTokenised, ran: tRan, written: performance.now() }, run));
}
