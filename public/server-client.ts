// The demo page's calls to the gateway, and the server's errors put in plain words.

import type { DemoModel } from '../browser-runtime/protocol.js';
import { type AnswerKind, type ModelAnswer, readAnswer } from './model-answer.js';
import { parseServerTiming } from './server-timing.js';

/** A failed call: the server's own TorchServe error body where there was one. */
export class ServerError extends Error {
  constructor(
    /** 0 when the server did not answer at all. */
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ServerAnswer {
  answer: ModelAnswer;
  /** Server-Timing stages, in the order the server sent them. */
  stages: Map<string, number>;
  batch: number | null;
  /** Measured here: the whole round trip, upload included. */
  roundTripMs: number;
}

let inferenceKey: string | null = null;

/** The inference key of a server with token authorization on (kept for this page's life only). */
export function setInferenceKey(key: string | null): void {
  inferenceKey = key?.trim() || null;
}

async function send(url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (inferenceKey) headers.set('Authorization', `Bearer ${inferenceKey}`);
  let res: Response;
  try {
    res = await fetch(url, { ...init, headers });
  } catch {
    throw new ServerError(0, 'NetworkError', 'The server did not answer. Is it running, and is this page served by it?');
  }
  if (res.ok) return res;
  const text = await res.text().catch(() => '');
  let type = 'HttpError';
  let message = text.trim().slice(0, 300) || res.statusText;
  try {
    const body = JSON.parse(text) as { type?: unknown; message?: unknown };
    if (typeof body.type === 'string') type = body.type;
    if (typeof body.message === 'string') message = body.message;
  } catch {
    // not the JSON error body: keep the text
  }
  throw new ServerError(res.status, type, message);
}

export async function listModels(): Promise<DemoModel[]> {
  const body = (await (await send('/demo/models')).json()) as { models: DemoModel[] };
  return body.models;
}

export async function fetchLabels(model: DemoModel): Promise<string[]> {
  return (await (await send(model.labelsUrl)).json()) as string[];
}

/** `topk` for a classifier only: other handlers answer without it. */
export async function predict(model: DemoModel, kind: AnswerKind, image: Blob, topk: number): Promise<ServerAnswer> {
  const url = `/predictions/${encodeURIComponent(model.modelName)}/${encodeURIComponent(model.modelVersion)}${kind === 'ranked' ? `?topk=${topk}` : ''}`;
  const t0 = performance.now();
  const res = await send(url, { method: 'POST', body: image, headers: { 'Content-Type': image.type || 'application/octet-stream' } });
  const body: unknown = await res.json();
  const roundTripMs = performance.now() - t0;
  const batch = Number(res.headers.get('X-Batch-Size'));
  return { answer: readAnswer(kind, body), stages: parseServerTiming(res.headers.get('Server-Timing')), batch: batch > 0 ? batch : null, roundTripMs };
}

const LEADS: Record<number, string> = {
  0: 'No answer from the server.',
  400: 'The server could not use this file.',
  401: 'The server asks for an inference key.',
  404: 'The server does not have this model.',
  405: 'The server refused the request.',
  413: 'The file is too large for the server.',
  500: 'The server failed on this request.',
  503: 'The server cannot take this request now; try again in a moment.',
  504: 'The server took too long to answer.',
};

/** A heading and the detail, for the page's error box. */
export function describeError(e: unknown): { lead: string; detail: string } {
  if (e instanceof ServerError) {
    const lead = LEADS[e.status] ?? (e.status >= 500 ? LEADS[500]! : LEADS[400]!);
    return { lead, detail: e.status === 0 ? e.message : `${e.message} (${e.status} ${e.type})` };
  }
  return { lead: 'Something went wrong in this page.', detail: e instanceof Error ? e.message : String(e) };
}
