// The pipeline for an already preprocessed tensor, whichever protocol carried it (KServe v2 over
// HTTP or gRPC): the request admitted before its body is read; the body; the model's place, taken
// once the body is in (503 when full); the tensor parsed; the run, which the engine batches with
// tensors of the same shape; the raw output written in the protocol's form. The request's one
// deadline covers all of it.

import type { Tensor, TensorResult } from '../page/inference-engine.js';
import type { ModelVersion } from '../store/model-store.js';
import type { Ticket } from './admission.js';
import { admit, type InferenceCall, type Pipeline } from './inference-core.js';
import { type Answered, served, stagesOf } from './served.js';

export interface TensorRequest<Body, Parsed extends { tensor: Tensor }, Reply> {
  model: ModelVersion;
  /** The body, its bytes counted against the ticket as they arrive. */
  read(ticket: Ticket): Promise<Body>;
  /** What the body asks: its tensor, a copy of the body's bytes which this counts against the ticket, and what the answer needs. */
  parse(body: Body, ticket: Ticket): Parsed;
  /** The output in the protocol's form: the time it takes is the post stage. */
  answer(output: TensorResult, parsed: Parsed): Reply;
}

export async function inferTensor<Body, Parsed extends { tensor: Tensor }, Reply>(pipeline: Pipeline, call: InferenceCall, request: TensorRequest<Body, Parsed, Reply>): Promise<Answered<Reply>> {
  const { model } = request;
  const { deadline, ticket, signal } = admit(pipeline.guards, model, call);
  const body = await request.read(ticket);
  const tRead = call.arrivedWhole ? call.arrivedAt : performance.now();
  ticket.place();
  const parsed = request.parse(body, ticket);
  const tParsed = performance.now();
  const out = await pipeline.engine.runTensor(model, parsed.tensor, deadline, signal);
  const tRan = performance.now();
  const answer = request.answer(out, parsed);
  const tWritten = performance.now();
  return served(pipeline, model, answer, out.timing, stagesOf({ arrived: call.arrivedAt, read: tRead, decoded: tParsed, ran: tRan, written: tWritten }, out.timing));
}
