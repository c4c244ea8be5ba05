// The gateway's runtime page: one model version per page, driven over the DevTools protocol
// through `handle(call)` installed on globalThis. A run's input bytes arrive through
// input-channel.ts; answers go back as base64.

import { encodeBase64 } from './base64.js';
import { ModelHost, RuntimeError } from './model-host.js';
import { takeInput } from './input-channel.js';
import { RUNTIME_GLOBAL, type ErrorKind, type PageArgs, type PageCall, type PageOp, type PageReplies, type Reply, type RuntimeApi } from './protocol.js';

let host: ModelHost | null = null;
let loading = false;

function loaded(): ModelHost {
  if (!host) throw new RuntimeError('model', 'no model is loaded in this page');
  return host;
}

async function input(id: number, what: string): Promise<Uint8Array> {
  try {
    return await takeInput(id, what);
  } catch (e) {
    throw new RuntimeError('runtime', e instanceof Error ? e.message : String(e));
  }
}

const bytesOf = (a: Int32Array | Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

const now = () => performance.timeOrigin + performance.now();

// Calls run one after another. With two in flight, the second waits here for the first's run
// (its bytes may arrive meanwhile, but the main thread is the first run's until it ends); that
// wait is reported, so the gateway counts it as queueing, not as transfer.
let previous: Promise<unknown> = Promise.resolve();
function inTurn<T>(work: () => Promise<T>): Promise<{ value: T; turnWaitMs: number }> {
  const asked = performance.now();
  const turn = previous.then(async () => {
    const turnWaitMs = performance.now() - asked;
    return { value: await work(), turnWaitMs };
  });
  previous = turn.catch(() => undefined);
  return turn;
}

async function infer({ input: id, batch, k }: PageArgs['infer']) {
  const calledAt = now();
  const model = loaded();
  const { value: out, turnWaitMs } = await inTurn(async () => model.infer(await input(id, 'pixels'), batch, k));
  return { ...out, waitMs: out.waitMs + turnWaitMs, calledAt, classes: encodeBase64(bytesOf(out.classes)), probabilities: encodeBase64(bytesOf(out.probabilities)) };
}

async function runTensor({ input: id, dims }: PageArgs['runTensor']) {
  const calledAt = now();
  const model = loaded();
  const { value: out, turnWaitMs } = await inTurn(async () => {
    const bytes = await input(id, 'tensor bytes');
    const count = dims.reduce((a, b) => a * b, 1);
    if (bytes.length !== count * 4) throw new RuntimeError('input', `${bytes.length} bytes do not hold a float32 tensor of shape [${dims.join(', ')}]`);
    const floats = new Float32Array(count);
    new Uint8Array(floats.buffer).set(bytes);
    return model.runTensor(floats, dims);
  });
  return { output: encodeBase64(bytesOf(out.data)), dims: out.dims, runMs: out.runMs, waitMs: turnWaitMs, calledAt };
}

async function load(req: PageArgs['load']) {
  if (host || loading) throw new RuntimeError('model', 'this page already holds a model');
  loading = true;
  try {
    host = await ModelHost.load(req);
    return host.info;
  } finally {
    loading = false;
  }
}

const handlers: { [Op in PageOp]: (args: PageArgs[Op]) => Promise<PageReplies[Op]> } = { load, infer, runTensor };
async function handle<Op extends PageOp>({ op, args }: PageCall<Op>): Promise<Reply<PageReplies[Op]>> {
  try {
    return { ok: true, value: await handlers[op](args) };
  } catch (e) {
    const kind: ErrorKind = e instanceof RuntimeError ? e.kind : 'runtime';
    return { ok: false, error: { kind, message: e instanceof Error ? e.message : String(e) } };
  }
}
(globalThis as Record<string, unknown>)[RUNTIME_GLOBAL] = { handle } satisfies RuntimeApi;
document.documentElement.dataset['runtime'] = 'ready';
