// The gateway's runtime page: one model version per page, driven by the gateway through the
// calls channel.ts brings. Calls run one after another: the one queue is the model's
// (model-runner.ts), which also reports how long each waited there, so the gateway counts that
// wait as queueing, not as transfer.

import { serveCalls } from './channel.js';
import { ModelHost, RuntimeError } from './model-host.js';
import type { ErrorKind, HandleReply, InferReply, ModelRuntimeInfo, PageArgs, PageCall, PageOp, PageReplies, Reply, TensorReply } from './protocol.js';

let host: ModelHost | null = null;
let loading = false;

function loaded(): ModelHost {
  if (!host) throw new RuntimeError('model', 'no model is loaded in this page');
  return host;
}

async function infer({ batch, k, pixels }: PageArgs['infer'], calledAt: number): Promise<InferReply> {
  return { ...(await loaded().infer(pixels, batch, k)), calledAt };
}

async function runTensor({ dims, data }: PageArgs['runTensor'], calledAt: number): Promise<TensorReply> {
  const model = loaded();
  const count = dims.reduce((a, b) => a * b, 1);
  if (data.length !== count) throw new RuntimeError('input', `${data.byteLength} bytes do not hold a float32 tensor of shape [${dims.join(', ')}]`);
  const t0 = performance.now();
  const out = await model.runTensor(data, dims);
  // Everything but session.run is the wait behind the run before it (the rest is copies).
  return { output: out.data, dims: out.dims, runMs: out.runMs, waitMs: Math.max(0, performance.now() - t0 - out.runMs), calledAt };
}

async function handleItems({ items, metaWidth, meta }: PageArgs['handle'], calledAt: number): Promise<HandleReply> {
  return { ...(await loaded().handle(items, { width: metaWidth, values: meta })), calledAt };
}

async function load(req: PageArgs['load']): Promise<ModelRuntimeInfo> {
  if (host || loading) throw new RuntimeError('model', 'this page already holds a model');
  loading = true;
  try {
    host = await ModelHost.load(req);
    return host.info;
  } finally {
    loading = false;
  }
}

async function handle(call: PageCall, calledAt: number): Promise<Reply<PageReplies[PageOp]>> {
  try {
    if (call.op === 'load') return { ok: true, value: await load(call.args) };
    if (call.op === 'infer') return { ok: true, value: await infer(call.args, calledAt) };
    if (call.op === 'handle') return { ok: true, value: await handleItems(call.args, calledAt) };
    return { ok: true, value: await runTensor(call.args, calledAt) };
  } catch (e) {
    const kind: ErrorKind = e instanceof RuntimeError ? e.kind : 'runtime';
    return { ok: false, error: { kind, message: e instanceof Error ? e.message : String(e) } };
  }
}

void serveCalls(handle);
