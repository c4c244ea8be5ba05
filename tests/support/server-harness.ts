import assert from 'node:assert/strict';
import type { InferenceEngine } from '../../server/page/inference-engine.js';
import { resolveConfig } from '../../server/config/config.js';
import { readMachine } from '../../server/config/limits.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { readImage } from './paths.js';

/**
 * The real server, in this process, on free loopback ports. `settings` are the same keys as
 * the command line (`{ backend: 'webgpu' }` is `--backend webgpu`).
 */
export async function startTestServer(settings: Record<string, string>, engine?: InferenceEngine): Promise<RunningServer> {
  const config = resolveConfig({
    args: {
      inference_address: 'http://127.0.0.1:0',
      management_address: 'http://127.0.0.1:0',
      metrics_address: 'http://127.0.0.1:0',
      grpc_inference_port: '0',
      grpc_management_port: '0',
      ...settings,
    },
    env: { CHROME_PATH: process.env['CHROME_PATH'] },
    machine: readMachine(),
  });
  const server = await startServer(config, engine);
  await server.ready;
  return server;
}

export interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

export async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text, the test will say so
  }
  return { status: res.status, headers: res.headers, body };
}

/** POST (or PUT) an image as the raw body. */
export const postImage = (url: string, bytes: Uint8Array, method = 'POST', contentType = 'application/octet-stream') =>
  call(url, { method, body: bytes as Uint8Array<ArrayBuffer>, headers: { 'content-type': contentType } });

/** POST a multipart form with the given file fields. */
export function postForm(url: string, files: Record<string, Uint8Array>, fields: Record<string, string> = {}): Promise<Answer> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  for (const [k, v] of Object.entries(files)) form.append(k, new Blob([v as Uint8Array<ArrayBuffer>]), `${k}.bin`);
  return call(url, { method: 'POST', body: form });
}

/** The server still serves: `/ping` is 200 and the kitten is classified a tabby. */
export async function servesKitten(api: string): Promise<void> {
  assert.equal((await call(`${api}/ping`)).status, 200);
  const r = await postImage(`${api}/predictions/mobilenet_v2?topk=1`, readImage('kitten.jpg'));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body[0].class, 'n02123045 tabby, tabby cat');
}
