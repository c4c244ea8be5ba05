// `node dist/server/main.js` as a user runs it: flags, the start-up log, TorchServe's output
// format, default versions, and a clean stop on SIGTERM.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../server/ops/paths.js';
import { NULL_MODELS, readImage } from '../support/paths.js';
import { freezePage } from '../support/frozen-page.js';
import { call, postImage, type Answer } from '../support/server-harness.js';
import { ANY_GRPC_PORTS, ANY_PORTS, spawnServer, type SpawnedServer } from '../support/spawned-server.js';
import { tempStore } from '../support/temp-store.js';
import { until } from '../support/until.js';
import { alive } from '../support/processes.js';

// Free ports, read back from the log: a fixed one may be held by another run on a shared machine.
const ANY_ADDRESS = 'http://127.0.0.1:0';

describe('the command line', () => {
  const store = tempStore([
    // No default_version: the highest version is the default.
    // Batches of up to 4 with no delay, nor any wait for images still decoding (the server's
    // max_batch_decode_wait 0 below): with its page held, the first request runs alone and the
    // next three queue behind it, short of a full batch, where the SIGTERM test can count them.
    { name: 'tabby_ts', from: 'mobilenet_v2_int8', versions: ['1.0', '2.0'], config: { default_version: undefined, output_format: 'torchserve', batch_size: 4, max_batch_delay: 0 } },
  ]);
  // Version 1.0 is loaded and described but never asked to classify: the null model (MobileNet's
  // interface), whose page loads at a fraction of MobileNet's cost. Unlinked first, so that
  // nothing is written through the link to the repo's file.
  const v1 = path.join(store.root, 'tabby_ts', '1.0', 'model.onnx');
  rmSync(v1);
  copyFileSync(path.join(NULL_MODELS, 'null_model', '1.0', 'model.onnx'), v1);
  // The SIGKILL test needs Chromium launched, no model.
  const empty = tempStore([]);
  let child: ChildProcess;
  let server: SpawnedServer;
  let api = '';
  let management = '';
  const output = () => server.output();

  before(async () => {
    server = await spawnServer(
      process.execPath,
      [
        path.join(PROJECT_ROOT, 'dist/server/main.js'),
        '--model-store',
        store.root,
        '--backend=wasm',
        '--inference-address',
        ANY_ADDRESS,
        '--management-address',
        ANY_ADDRESS,
        '--metrics-address',
        'http://127.0.0.1:0',
        ...ANY_GRPC_PORTS,
      ],
      { TS_WASM_THREADS: '1', TS_MAX_BATCH_DECODE_WAIT: '0' },
    );
    child = server.child;
    api = server.inferenceUrl();
    management = server.managementUrl();
  });
  after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
    store.remove();
    empty.remove();
  });

  it('logs, per model, the backend and the adapter it runs on', () => {
    for (const v of ['1.0', '2.0']) {
      assert.match(output(), new RegExp(`model tabby_ts/${v} worker 0 ready: backend wasm, onnxruntime-web wasm build, WebGPU not asked for, 1 WASM thread`));
    }
    assert.match(output(), /launched over a pipe/);
  });

  it('answers in TorchServe format when the model config asks for it', async () => {
    const res = await postImage(`${api}/predictions/tabby_ts?topk=3`, readImage('kitten.jpg'), 'PUT');
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body), ['tabby', 'tiger_cat', 'Egyptian_cat']);
    assert.ok(res.body.tabby > res.body.tiger_cat);
  });

  it('logs JSON lines when not on a terminal: model loads and one access line per request', async () => {
    const accessLines = () => output().match(/"type":"access"[^\n]*"path":"\/predictions\/tabby_ts"/g)?.length ?? 0;
    const before = accessLines();
    await postImage(`${api}/predictions/tabby_ts`, readImage('kitten.jpg'));
    // Written once the answer is sent, and read here through a pipe: waited for, not assumed.
    await until('the access line of the request', () => accessLines() > before);
    const lines = output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, any>);
    const load = lines.find((l) => l['event'] === 'model_loaded');
    assert.ok(load, 'a model_loaded line');
    assert.equal(load['backend'], 'wasm');
    assert.equal(typeof load['loadMs'], 'number');
    const access = lines.filter((l) => l['type'] === 'access' && l['path'] === '/predictions/tabby_ts');
    assert.ok(access.length > 0, 'an access line');
    const a = access.at(-1)!;
    assert.equal(a['status'], 200);
    assert.equal(a['protocol'], 'http');
    assert.equal(a['model'], 'tabby_ts');
    assert.equal(a['version'], '2.0');
    assert.equal(a['batch'], 1);
    for (const stage of ['decode', 'queue', 'transfer', 'infer', 'post']) assert.equal(typeof a['stages'][stage], 'number', stage);
    assert.ok(lines.every((l) => typeof l['time'] === 'string' && typeof l['level'] === 'string'));
  });

  it('takes the highest version as the default when the config names none', async () => {
    const [d] = (await call(`${management}/models/tabby_ts`)).body;
    assert.equal(d.modelVersion, '2.0');
    assert.equal((await call(`${management}/models/tabby_ts/all`)).body.length, 2);
  });

  it('on SIGTERM finishes the predictions in flight, refuses new ones, exits 0 and takes Chromium with it', async () => {
    const pid = Number(/\(pid (\d+)\) launched/.exec(output())?.[1]);
    assert.ok(alive(pid), 'Chromium runs while the server does');
    // The page held still, so that the four stay in flight until the test lets them go: the first
    // in the page, three queued behind it. Signalled once the server holds all four.
    const page = await freezePage(management, 'tabby_ts');
    let inFlight: Array<Promise<Answer>> = [];
    const exited = once(child, 'exit');
    try {
      inFlight = Array.from({ length: 4 }, () => postImage(`${api}/predictions/tabby_ts`, readImage('kitten.jpg')));
      await until('three requests queued behind the one in the page', async () => (await call(`${management}/models/tabby_ts`)).body[0].jobQueueStatus.pendingRequests === 3);
      child.kill('SIGTERM');
      await server.logged(/waiting for 4 prediction\(s\) in flight/);
      // The listeners stay open while those are in flight: a new request is refused, not cut off.
      const late = await postImage(`${api}/predictions/tabby_ts`, readImage('kitten.jpg'));
      assert.equal(late.status, 503, 'a request after SIGTERM is refused');
    } finally {
      page.thaw();
    }
    for (const a of await Promise.all(inFlight)) assert.equal(a.status, 200, 'accepted requests are answered');
    const [code] = await exited;
    assert.equal(code, 0);
    await until('Chromium gone after the server', () => !alive(pid));
  });

  it('killed with SIGKILL, it leaves no Chromium behind', async () => {
    const killed = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist/server/main.js'), '--model-store', empty.root, '--backend=wasm', ...ANY_PORTS]);
    let log = '';
    killed.stdout.on('data', (d: Buffer) => (log += d));
    await until('Chromium launched', () => /\(pid (\d+)\) launched/.test(log));
    const pid = Number(/\(pid (\d+)\) launched/.exec(log)?.[1]);
    assert.ok(alive(pid));
    killed.kill('SIGKILL');
    await once(killed, 'exit');
    await until('Chromium gone after the gateway was killed: it exits when the pipe to the gateway closes', () => !alive(pid));
  });

  it('a bad setting stops it with one line that says what to fix', async () => {
    const bad = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist/server/main.js'), '--backend', 'cuda']);
    let err = '';
    bad.stderr.on('data', (d: Buffer) => (err += d));
    const [code] = await once(bad, 'exit');
    assert.equal(code, 1);
    assert.match(err, /backend must be one of auto, webgpu, wasm; got "cuda"/);
    assert.equal(err.trim().split('\n').length, 1);
  });
});
