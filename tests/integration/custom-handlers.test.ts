// A model's own handler.js, run in its page inside the browser's sandbox, through the real server
// and Chromium: the worked example answers; a hostile handler (tests/fixtures/custom-handlers/
// hostile) reaches nothing outside the runtime listener, reads no file, and whatever it does to
// its own page (throws, loops, allocates without end) answers its own request and leaves every
// other model serving. The null model on WASM with one thread: cheap pages to load and reload.

import { after, before, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { RunningServer } from '../../server/server.js';
import { log } from '../../server/ops/log.js';
import { FIXTURES, readImage } from '../support/paths.js';
import { type Answer, call, postImage, startTestServer } from '../support/server-harness.js';
import { tempStore } from '../support/temp-store.js';
import { until } from '../support/until.js';

const handlers = path.join(FIXTURES, 'custom-handlers');
const tokenIds = path.join(handlers, 'token-ids', 'handler.js');
// The same handler without its `example`: the load has no input the model takes.
const withoutExample = path.join(mkdtempSync(path.join(os.tmpdir(), 'handler-')), 'handler.js');
writeFileSync(withoutExample, readFileSync(tokenIds, 'utf8').replace(/^export const example = .*$/m, ''));
const hostile = { 'handler.js': path.join(handlers, 'hostile', 'handler.js') };
const asBytes = { handler: 'handler.js', handler_input: 'bytes', batch_size: 1 };
const kitten = readImage('kitten.jpg');
const send = (url: string, text: string): Promise<Answer> => postImage(url, new TextEncoder().encode(text));

/** A loopback listener that counts the connections made to it. */
async function connectionCounter(): Promise<{ port: number; count(): number; close(): Promise<void> }> {
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { port, count: () => connections, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('custom handlers in the browser sandbox', () => {
  const store = tempStore([
    { name: 'plain', from: 'null_model', config: { batch_size: 1 } },
    { name: 'top_classes', from: 'null_model', config: { handler: 'handler.js', batch_size: 2 }, files: { 'handler.js': path.join(handlers, 'top-classes', 'handler.js') } },
    { name: 'hostile', from: 'null_model', config: asBytes, files: hostile },
    // Its run overruns this deadline however fast the machine: it never ends.
    { name: 'looping', from: 'null_model', config: { ...asBytes, response_timeout: 3 }, files: hostile },
    { name: 'hungry', from: 'null_model', config: asBytes, files: hostile },
    // A model that takes token ids, not an image: checked at load with the handler's example.
    { name: 'token_ids', from: 'tiny_sentiment', config: asBytes, files: { 'handler.js': tokenIds } },
    { name: 'token_ids_no_example', from: 'tiny_sentiment', config: asBytes, files: { 'handler.js': withoutExample } },
  ]);
  let server: RunningServer;
  let api: string;
  let management: string;

  before(async () => {
    // A small heap bound (page_heap_mb) for every page, so that the allocation test meets it soon.
    server = await startTestServer({ model_store: store.root, backend: 'wasm', wasm_threads: '1', page_heap_mb: '128' });
    api = server.inferenceUrl;
    management = server.managementUrl;
  });
  after(async () => {
    await server?.close();
    store.remove();
  });

  const worker = async (model: string) => (await call(`${management}/models/${model}`)).body[0].workers[0];

  it("the worked example answers each image's three best classes, as the built-in classifier ranks them", async () => {
    const custom = await postImage(`${api}/predictions/top_classes`, kitten);
    assert.equal(custom.status, 200, JSON.stringify(custom.body));
    const builtIn = await postImage(`${api}/predictions/plain`, kitten);
    assert.equal(builtIn.status, 200);
    assert.equal(custom.body.length, 3);
    assert.deepEqual(
      custom.body.map((c: { label: string }) => c.label),
      builtIn.body.slice(0, 3).map((c: { class: string }) => c.class),
    );
  });

  it("a model that takes no image loads with its handler's example, and answers as onnxruntime-node does; without one its load says what to export", async () => {
    const text = 'not bad at all';
    const r = await send(`${api}/predictions/token_ids`, text);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const session = await ort.InferenceSession.create(path.join(FIXTURES, 'text-model-store', 'tiny_sentiment', '1.0', 'model.onnx'));
    const ids = BigInt64Array.from(new TextEncoder().encode(text), (b) => BigInt(b % 35));
    const dims = [1, ids.length];
    const out = await session.run({
      input_ids: new ort.Tensor('int64', ids, dims),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(ids.length).fill(1n), dims),
      token_type_ids: new ort.Tensor('int64', new BigInt64Array(ids.length), dims),
    });
    await session.release();
    assert.deepEqual(r.body, { logits: Array.from(out['logits']!.data as Float32Array) });
    const failed = await worker('token_ids_no_example');
    assert.equal(failed.status, 'FAILED');
    assert.match(failed.error, /export "example" from handler\.js/);
    assert.equal((await send(`${api}/predictions/token_ids`, 'great')).status, 200, 'the failed model harms no other');
  });

  it("a bytes handler gets the request's body as it came, and an empty body is refused", async () => {
    const r = await send(`${api}/predictions/hostile`, 'echo this');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, { echo: 9 });
    const empty = await postImage(`${api}/predictions/hostile`, new Uint8Array(0));
    assert.equal(empty.status, 400);
  });

  it('no network: fetch, WebSocket, importScripts in a worker, an image, window.open and a navigation reach no other port', async () => {
    const counter = await connectionCounter();
    const warned = mock.method(log, 'warn');
    try {
      const r = await send(`${api}/predictions/hostile`, `net:${counter.port}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const { navigation, ...settled } = r.body as Record<string, string>;
      for (const [way, how] of Object.entries(settled)) assert.match(how, /^failed/, `${way}: ${how}`);
      assert.deepEqual(Object.keys(settled).sort(), ['fetch', 'image', 'importScripts', 'websocket', 'windowOpen']);
      // The page is not told of a cancelled navigation: the gateway's refusal of it is the event waited for.
      assert.equal(navigation, 'started');
      const away = `Document to http://127.0.0.1:${counter.port}/away`;
      await until('the navigation refused', () => warned.mock.calls.some((c) => String(c.arguments[0]).includes(away)));
      assert.equal(counter.count(), 0, 'connections made to the listener');
      // The page stayed where it was: it still answers.
      assert.deepEqual((await send(`${api}/predictions/hostile`, 'echo')).body, { echo: 4 });
    } finally {
      warned.mock.restore();
      await counter.close();
    }
  });

  it('no file system: fetch of a file: URL fails', async () => {
    const r = await send(`${api}/predictions/hostile`, 'file');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.match(r.body.file, /^failed/);
  });

  it('a handler that throws answers 500 with its message, no stack or server path, and its page stays', async () => {
    const pid = (await worker('hostile')).pid;
    const r = await send(`${api}/predictions/hostile`, 'throw');
    assert.equal(r.status, 500);
    assert.equal(r.body.type, 'InternalServerException');
    assert.match(r.body.message, /this handler refuses/);
    assert.doesNotMatch(r.body.message, /handler\.js|127\.0\.0\.1|\/tmp|at /);
    assert.equal((await send(`${api}/predictions/hostile`, 'echo')).status, 200);
    assert.equal((await worker('hostile')).pid, pid, 'the same page');
  });

  it('a handler that never returns: 504 at the deadline, its renderer ends, the page is reloaded, and other models serve meanwhile', async () => {
    const before = await worker('looping');
    assert.notEqual(before.pid, (await worker('plain')).pid, 'each page has its own renderer: a loop in one stalls no other');
    const late = await send(`${api}/predictions/looping`, 'loop');
    assert.equal(late.status, 504, JSON.stringify(late.body));
    assert.equal(late.body.type, 'RequestTimeoutException');
    assert.equal((await postImage(`${api}/predictions/plain`, kitten)).status, 200, 'another model serves');
    if (typeof before.pid === 'number') await until('the looping renderer gone', () => !processAlive(before.pid));
    await until('the looping model reloaded', async () => {
      const w = await worker('looping');
      return w.status === 'READY' && w.startTime !== before.startTime;
    });
    assert.deepEqual((await send(`${api}/predictions/looping`, 'echo')).body, { echo: 4 });
  });

  it('a handler that allocates past page_heap_mb crashes only its page, which is reloaded; other models serve', async () => {
    const before = await worker('hungry');
    // 1 GiB in all: far past the 128 MiB bound, and well inside V8's own limit, so it completes only where the bound does not hold.
    const r = await send(`${api}/predictions/hungry`, 'alloc:1024');
    assert.equal(r.status, 503, JSON.stringify(r.body));
    assert.equal((await postImage(`${api}/predictions/plain`, kitten)).status, 200, 'another model serves');
    assert.equal((await send(`${api}/predictions/hostile`, 'echo')).status, 200, 'another custom handler serves');
    await until('the hungry model reloaded', async () => {
      const w = await worker('hungry');
      return w.status === 'READY' && w.startTime !== before.startTime;
    });
    assert.deepEqual((await send(`${api}/predictions/hungry`, 'alloc:16')).body, { heldMb: 16 }, 'below the bound it allocates');
  });
});

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
