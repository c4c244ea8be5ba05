// The gateway's runtime page, driven by the gateway through the calls channel.ts brings. It holds
// one model version, or, where the gateway shares pages (share_pages), one per tenant: each call
// names its tenant. Runs take turns on the page's one queue (model-runner.ts), which also reports
// how long each waited there, so the gateway counts that wait as queueing, not as transfer.

import { serveCalls } from './channel.js';
import { ModelHost, RuntimeError } from './model-host.js';
import { Turns } from './turns.js';
import { loadEnded, loadStarted } from './progress.js';
import type { ErrorKind, HandleReply, InferReply, ModelRuntimeInfo, PageArgs, PageCall, PageOp, PageReplies, Reply, TensorReply, UnloadReply } from './protocol.js';

const hosts = new Map<number, ModelHost>();
const loading = new Set<number>();
/** Loads take turns: the first one sets up onnxruntime-web (its build and threads) for the page. */
const loads = new Turns();

function loaded(tenant: number): ModelHost {
  const host = hosts.get(tenant);
  if (!host) throw new RuntimeError('model', `no model is loaded in this page as tenant ${tenant}`);
  return host;
}

async function infer(model: ModelHost, { batch, k, pixels }: PageArgs['infer'], calledAt: number): Promise<InferReply> {
  return { ...(await model.infer(pixels, batch, k)), calledAt };
}

async function runTensor(model: ModelHost, { dims, data }: PageArgs['runTensor'], calledAt: number): Promise<TensorReply> {
  const count = dims.reduce((a, b) => a * b, 1);
  if (data.length !== count) throw new RuntimeError('input', `${data.byteLength} bytes do not hold a float32 tensor of shape [${dims.join(', ')}]`);
  const t0 = performance.now();
  const out = await model.runTensor(data, dims);
  // Everything but session.run is the wait behind the run before it (the rest is copies).
  return { output: out.data, dims: out.dims, runMs: out.runMs, waitMs: Math.max(0, performance.now() - t0 - out.runMs), calledAt };
}

async function handleItems(model: ModelHost, { items, metaWidth, meta }: PageArgs['handle'], calledAt: number): Promise<HandleReply> {
  return { ...(await model.handle(items, { width: metaWidth, values: meta })), calledAt };
}

async function load(tenant: number, req: PageArgs['load']): Promise<ModelRuntimeInfo> {
  if (hosts.has(tenant) || loading.has(tenant)) throw new RuntimeError('model', `this page already holds a model as tenant ${tenant}`);
  loading.add(tenant);
  try {
    const host = await loads.take(async () => {
      loadStarted(`${req.model}/${req.version}`);
      try {
        return await ModelHost.load(req);
      } finally {
        loadEnded();
      }
    });
    hosts.set(tenant, host);
    return host.info;
  } finally {
    loading.delete(tenant);
  }
}

async function unload(tenant: number): Promise<UnloadReply> {
  const host = loaded(tenant);
  hosts.delete(tenant);
  return { released: await host.release() };
}

async function handle(tenant: number, call: PageCall, calledAt: number): Promise<Reply<PageReplies[PageOp]>> {
  try {
    if (call.op === 'load') return { ok: true, value: await load(tenant, call.args) };
    if (call.op === 'unload') return { ok: true, value: await unload(tenant) };
    const model = loaded(tenant);
    if (call.op === 'infer') return { ok: true, value: await infer(model, call.args, calledAt) };
    if (call.op === 'handle') return { ok: true, value: await handleItems(model, call.args, calledAt) };
    return { ok: true, value: await runTensor(model, call.args, calledAt) };
  } catch (e) {
    const kind: ErrorKind = e instanceof RuntimeError ? e.kind : 'runtime';
    return { ok: false, error: { kind, message: e instanceof Error ? e.message : String(e) } };
  }
}

void serveCalls(handle);
