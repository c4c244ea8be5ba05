// What every gRPC handler goes through, whichever service it belongs to (the key is checked before,
// in call-guard.ts): the client's deadline and cancellation as an AbortSignal, errors as gRPC
// statuses (grpc-status.ts), and one access-log line and one grpc_server_handled_total count, with
// the protocol named, once the call is over.

import { Metadata, status as Code, type handleServerStreamingCall, type handleUnaryCall, type ServerUnaryCall } from '@grpc/grpc-js';
import { type ApiError, toApiError } from '../errors.js';
import { log } from '../ops/log.js';
import type { Metrics } from '../ops/metrics.js';
import { codeName, grpcCodeOf, serviceError } from './grpc-status.js';

export interface CallEnv {
  metrics?: Metrics | undefined;
}

export interface CallInfo {
  /** Aborted when the client cancels the call or its deadline passes. */
  signal: AbortSignal;
  /** ms left until the client's own deadline, now; Infinity when it set none. */
  remainingMs: () => number;
  /** Whether the client's deadline has passed. */
  late: () => boolean;
}

/** What a handler answers, and what the access log and the trailers say of it. */
export interface Served<T> {
  reply: T;
  access?: Record<string, unknown>;
  trailers?: Record<string, string>;
}

export type CallType = 'unary' | 'client_stream' | 'server_stream' | 'bidi_stream';

/** What every kind of server call has: its deadline and its cancellation. */
type AnyCall = Pick<ServerUnaryCall<unknown, unknown>, 'getDeadline'> & { on(event: 'cancelled', listener: () => void): unknown };

export function callInfo(call: AnyCall): CallInfo {
  const gone = new AbortController();
  call.on('cancelled', () => gone.abort(new Error('the client cancelled the call, or its deadline passed')));
  const d = call.getDeadline();
  const at = d instanceof Date ? d.getTime() : d;
  return { signal: gone.signal, remainingMs: () => (Number.isFinite(at) ? at - Date.now() : Number.POSITIVE_INFINITY), late: () => Date.now() >= at };
}

export const trailersOf = (fields: Record<string, string> = {}): Metadata => {
  const m = new Metadata();
  for (const [k, v] of Object.entries(fields)) m.set(k, v);
  return m;
};

/** One access-log line: for a call, or for one message of a stream. */
export function logAccess(service: string, method: string, code: Code, t0: number, access: Record<string, unknown> = {}): void {
  log.access({ protocol: 'grpc', method: 'gRPC', path: `/${service}/${method}`, status: codeName(code), ms: Number((performance.now() - t0).toFixed(1)), ...access });
}

/** Logs and counts a finished call. */
export function recordCall(env: CallEnv, type: CallType, service: string, method: string, code: Code, t0: number, access: Record<string, unknown> = {}): void {
  env.metrics?.observeGrpc(type, service, method, codeName(code));
  logAccess(service, method, code, t0, access);
}

/** The ApiError a failed call answers, logged as the HTTP layer logs it. */
export const failure = (err: unknown, service: string, method: string): ApiError => toApiError(err, `gRPC /${service}/${method}`);

/**
 * How a failed call ended. One whose client has gone (cancelled, or its deadline passed: gRPC
 * told the client already) is no error of the server's and is not logged as one.
 */
function ending(err: unknown, info: CallInfo, service: string, method: string): { code: Code; error: ApiError | null } {
  if (info.signal.aborted) return { code: info.late() ? Code.DEADLINE_EXCEEDED : Code.CANCELLED, error: null };
  const error = failure(err, service, method);
  return { code: grpcCodeOf(error), error };
}

export interface Handler<Req, Res> {
  service: string;
  method: string;
  work: (request: Req, info: CallInfo, metadata: Metadata) => Promise<Served<Res>> | Served<Res>;
}

/** A call with one request: the work, then `answer` or `fail`, and the call recorded either way. */
function runOne<Req, Res>(
  env: CallEnv,
  h: Handler<Req, Res>,
  type: CallType,
  call: { request: Req; metadata: Metadata } & Parameters<typeof callInfo>[0],
  answer: (served: Served<Res>) => void,
  fail: (error: ApiError) => void,
): void {
  const t0 = performance.now();
  const info = callInfo(call);
  let access: Record<string, unknown> = {};
  (async () => {
    const served = await h.work(call.request, info, call.metadata);
    access = served.access ?? {};
    return served;
  })().then(
    (served) => {
      answer(served);
      recordCall(env, type, h.service, h.method, Code.OK, t0, access);
    },
    (err: unknown) => {
      const { code, error } = ending(err, info, h.service, h.method);
      if (error) fail(error);
      recordCall(env, type, h.service, h.method, code, t0, access);
    },
  );
}

export function unary<Req, Res>(env: CallEnv, h: Handler<Req, Res>): handleUnaryCall<Req, Res> {
  return (call, callback) =>
    runOne(
      env,
      h,
      'unary',
      call,
      (served) => callback(null, served.reply, trailersOf(served.trailers)),
      (error) => callback(serviceError(error)),
    );
}

/** A call answered by one message on a stream (TorchServe's StreamPredictions, for a model that does not stream). */
export function serverStream<Req, Res>(env: CallEnv, h: Handler<Req, Res>): handleServerStreamingCall<Req, Res> {
  return (call) =>
    runOne(
      env,
      h,
      'server_stream',
      call,
      (served) => {
        call.write(served.reply);
        call.end(trailersOf(served.trailers));
      },
      (error) => call.emit('error', serviceError(error)),
    );
}
