// The gateway's runtime page: one model version per page, driven over the DevTools protocol
// through the API installed on globalThis. Bytes cross the channel as base64 strings.

import { decodeBase64, encodeBase64 } from './base64.js';
import { ModelHost, RuntimeError } from './model-host.js';
import { RUNTIME_GLOBAL, type ErrorKind, type InferResult, type Reply, type RuntimeApi, type TensorResult } from './protocol.js';

async function reply<T>(work: () => Promise<T>): Promise<Reply<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (e) {
    const kind: ErrorKind = e instanceof RuntimeError ? e.kind : 'runtime';
    return { ok: false, error: { kind, message: e instanceof Error ? e.message : String(e) } };
  }
}

let host: ModelHost | null = null;
let loading = false;

function loaded(): ModelHost {
  if (!host) throw new RuntimeError('model', 'no model is loaded in this page');
  return host;
}

function decode(text: string, what: string): Uint8Array {
  try {
    return decodeBase64(text);
  } catch {
    throw new RuntimeError('input', `${what} are not valid base64`);
  }
}

const bytesOf = (a: Int32Array | Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

async function infer(pixels: string, batch: number, k: number): Promise<InferResult> {
  const model = loaded();
  const out = await model.infer(decode(pixels, 'pixels'), batch, k);
  return { ...out, classes: encodeBase64(bytesOf(out.classes)), probabilities: encodeBase64(bytesOf(out.probabilities)) };
}

async function runTensor(data: string, dims: number[]): Promise<TensorResult> {
  const model = loaded();
  const bytes = decode(data, 'tensor bytes');
  const count = dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== count * 4) throw new RuntimeError('input', `${bytes.length} bytes do not hold a float32 tensor of shape [${dims.join(', ')}]`);
  const floats = new Float32Array(count);
  new Uint8Array(floats.buffer).set(bytes);
  const out = await model.runTensor(floats, dims);
  return { output: encodeBase64(bytesOf(out.data)), dims: out.dims, runMs: out.runMs };
}

const api: RuntimeApi = {
  load: (req) =>
    reply(async () => {
      if (host || loading) throw new RuntimeError('model', 'this page already holds a model');
      loading = true;
      try {
        host = await ModelHost.load(req);
        return host.info;
      } finally {
        loading = false;
      }
    }),
  infer: (pixels, batch, k) => reply(() => infer(pixels, batch, k)),
  runTensor: (data, dims) => reply(() => runTensor(data, dims)),
};
(globalThis as Record<string, unknown>)[RUNTIME_GLOBAL] = api;
document.documentElement.dataset['runtime'] = 'ready';
