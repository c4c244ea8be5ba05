// The schemas and answers that operations of several listeners share (operation.ts).

import { Type, type TSchema } from '@sinclair/typebox';
import type { Answer, Param } from './operation.js';

export const TorchServeError = Type.Object({
  code: Type.Integer({ description: 'HTTP status' }),
  type: Type.String({ description: 'TorchServe error type, e.g. ModelNotFoundException' }),
  message: Type.String(),
});

/** KServe's error body, for every answer under /v1 and /v2. */
export const KServeErrorBody = Type.Object({ error: Type.String() });

export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const json = (description: string, schema: TSchema): Answer => ({ description, content: { 'application/json': schema } });
export const error = (description: string): Answer => json(description, TorchServeError);
export const kserveError = (description: string): Answer => json(description, KServeErrorBody);
export const binary = Type.String({ format: 'binary' });

/** What any inference operation can answer from the engine and admission, in its family's error shape. */
export const inferenceFailures = (shape: (description: string) => Answer): Record<408 | 429 | 500 | 503 | 504, Answer> => ({
  408: shape('The body arrived slower than min_upload_rate over an upload_rate_window; the connection closes'),
  429: shape("The client's address already has max_client_upload_bytes of bodies still arriving (with Retry-After); the connection closes"),
  500: shape('The model failed to run'),
  503: shape('The model queue or the byte budget is full (with Retry-After), the model is not ready, or the server is shutting down'),
  504: shape("No answer within the model's response_timeout or default_response_timeout"),
});

export const modelName: Param = { name: 'model_name', in: 'path', schema: Type.String(), description: 'Name of the model' };
export const modelVersion: Param = { name: 'model_version', in: 'path', schema: Type.String(), description: 'Version, e.g. 1.0' };
export const query = (name: string, description: string, schema: TSchema = Type.String()): Param => ({ name, in: 'query', schema, description });

/** `OPTIONS /` (and `GET /api-description` on the inference port): the listener's own document. */
export const ApiDocument = Type.Object({ openapi: Type.Literal('3.0.1'), info: Type.Object({}), paths: Type.Object({}) });

/** What every inference answer, of either protocol, says of its run. */
export const TIMING_HEADERS = {
  'Server-Timing': { description: 'read, decode (or parse), queue, transfer, infer, post and total durations in ms', schema: Type.String() },
  'X-Batch-Size': { description: 'How many requests shared the model run', schema: Type.Integer() },
};

/**
 * An inference operation's answers, in its family's error shape: its 200 with the timing
 * headers, the client's faults it names (400, 404, 413), and what the engine and admission may answer.
 */
export const inferenceAnswers = (
  shape: (description: string) => Answer,
  ok: { description: string; content: Record<string, TSchema> },
  faults: { 400: string; 404: string; 406?: string; 413: string },
): Record<number, Answer> => ({
  200: { description: ok.description, headers: TIMING_HEADERS, content: ok.content },
  400: shape(faults[400]),
  404: shape(faults[404]),
  ...(faults[406] === undefined ? {} : ({ 406: shape(faults[406]) } as Record<number, Answer>)),
  413: shape(faults[413]),
  ...inferenceFailures(shape),
});
