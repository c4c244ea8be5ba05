// TorchServe's gRPC InferenceAPIsService: Ping, Predictions (the image in input["data"], the same
// JSON bytes as POST /predictions answers), StreamPredictions (one answer on a stream: these
// models do not stream) and StreamPredictions2 (a stream of requests, each answered in order,
// errors in the answer's `status` as TorchServe sends them). Every prediction goes through the
// same image pipeline as HTTP's (server/pipeline/image-pipeline.ts).

import { once } from 'node:events';
import { status as Code, type ServerDuplexStream, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { InferenceEngine } from '../page/inference-engine.js';
import { badRequest, type ApiError } from '../errors.js';
import { shuttingDown, type InferenceGuards } from '../pipeline/inference-core.js';
import { answerImages } from '../pipeline/image-pipeline.js';
import { answerTexts } from '../pipeline/text-pipeline.js';
import type { Ticket } from '../pipeline/admission.js';
import { parseTopK } from '../pipeline/top-k-param.js';
import type { ModelStore } from '../store/model-store.js';
import { overGrpc, servedOverGrpc } from './inference-call.js';
import { type CallEnv, type CallInfo, callInfo, failure, logAccess, recordCall, type Served, serverStream, unary } from './calls.js';
import { SERVICE_NAMES, type PredictionResponse, type PredictionsRequest } from './definitions.js';
import { grpcCodeOf, serviceError } from './grpc-status.js';

const SERVICE = SERVICE_NAMES.torchserveInference;

export interface GrpcInferenceDeps {
  store: ModelStore;
  engine: InferenceEngine;
  guards: InferenceGuards;
  isHealthy: () => boolean;
  /** Calls `listener` when shutdown starts refusing requests; what it returns stops that. */
  onClosing: (listener: () => void) => () => void;
}

/**
 * Requests of one StreamPredictions2 stream in flight at once: they batch with each other and
 * with other traffic; past it the stream is not read, so HTTP/2 flow control holds the client back.
 */
export const STREAM_WINDOW = 32;

/** The image (or text) of a request: input "data" (TorchServe's clients), else "body", else its only entry. */
function imageOf(input: Record<string, Buffer>, what = 'image'): Buffer {
  const entries = Object.entries(input).filter(([k]) => k !== 'topk');
  const image = input['data'] ?? input['body'] ?? (entries.length === 1 ? entries[0]![1] : undefined);
  if (!image || image.length === 0) throw badRequest(`The request has no ${what}: put its bytes in input["data"].`);
  return image;
}

export function torchserveInferenceService(env: CallEnv, deps: GrpcInferenceDeps): UntypedServiceImplementation {
  const { store, engine, guards } = deps;

  const pipeline = { engine, guards, metrics: env.metrics };

  const predict = async (request: PredictionsRequest, info: CallInfo): Promise<Served<PredictionResponse>> => {
    const t0 = performance.now();
    if (!request.model_name) throw badRequest('Parameter model_name is required.');
    const model = store.resolve(request.model_name, request.model_version || undefined);
    const isText = model.config.handler === 'text_classifier';
    const image = imageOf(request.input, isText ? 'text' : 'image');
    const k = parseTopK(request.input['topk']?.toString('latin1'), model.config.topk);
    const read = async (ticket: Ticket) => {
      ticket.hold(image.length);
      return image;
    };
    const served = await overGrpc(info, t0, image.length, (call) => (isText ? answerTexts(pipeline, call, { model, read }) : answerImages(pipeline, call, { model, k, read })));
    return servedOverGrpc(served, { prediction: Buffer.from(served.answer[0]!), ...(request.sequenceId ? { sequenceId: request.sequenceId } : {}) });
  };

  const streamPredictions2 = (call: ServerDuplexStream<PredictionsRequest, PredictionResponse>) => {
    const method = 'StreamPredictions2';
    const t0 = performance.now();
    const info = callInfo(call);
    // Shutdown waits for the answers the stream owes, then the stream ends UNAVAILABLE.
    const untrack = guards.track();
    let owed = 0;
    let written = Promise.resolve();
    let closing = false;
    let over = false;
    const stopListening = deps.onClosing(() => {
      closing = true;
      call.pause();
      void written.then(() => end(shuttingDown()));
    });
    let leave = () => {};
    const gone = new Promise<void>((resolve) => {
      leave = resolve;
    });
    const end = (error?: ApiError, code = error ? grpcCodeOf(error) : Code.OK) => {
      if (over) return;
      over = true;
      leave();
      stopListening();
      untrack();
      if (error) call.emit('error', serviceError(error));
      else if (code === Code.OK) call.end();
      recordCall(env, 'bidi_stream', SERVICE, method, code, t0);
    };
    call.on('data', (request: PredictionsRequest) => {
      if (closing || over) return;
      if (++owed >= STREAM_WINDOW) call.pause();
      const tMessage = performance.now();
      const answer = predict(request, info).then(
        (served): PredictionResponse => {
          logAccess(SERVICE, method, Code.OK, tMessage, served.access);
          return served.reply;
        },
        (err: unknown): PredictionResponse => {
          if (over) return { prediction: Buffer.alloc(0) }; // cancelled: no one reads it
          const e = failure(err, SERVICE, method);
          logAccess(SERVICE, method, grpcCodeOf(e), tMessage);
          return { prediction: Buffer.alloc(0), ...(request.sequenceId ? { sequenceId: request.sequenceId } : {}), status: { code: grpcCodeOf(e), message: e.message, details: [] } };
        },
      );
      // Answered in the order asked, whichever finishes first. A client that does not read its
      // answers stops the stream being read (HTTP/2 flow control), not the server's memory.
      written = written.then(async () => {
        const reply = await answer;
        if (!over && !call.write(reply)) await Promise.race([once(call, 'drain').catch(() => undefined), gone]);
        owed--;
        if (!closing && !over) call.resume();
      });
    });
    call.on('end', () => void written.then(() => end()));
    call.on('cancelled', () => end(undefined, Code.CANCELLED));
  };

  return {
    Ping: unary<unknown, { health: string }>(env, {
      service: SERVICE,
      method: 'Ping',
      work: () => ({ reply: { health: JSON.stringify({ status: deps.isHealthy() ? 'Healthy' : 'Unhealthy' }, null, 2) } }),
    }),
    Predictions: unary<PredictionsRequest, PredictionResponse>(env, { service: SERVICE, method: 'Predictions', work: predict }),
    StreamPredictions: serverStream<PredictionsRequest, PredictionResponse>(env, { service: SERVICE, method: 'StreamPredictions', work: predict }),
    StreamPredictions2: streamPredictions2,
  };
}
