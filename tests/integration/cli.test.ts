// `node dist/server/main.js` as a user runs it: flags, the start-up log, TorchServe's output
// format, default versions, and a clean stop on SIGTERM.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { PROJECT_ROOT } from '../../server/paths.js';
import { readImage } from '../support/paths.js';
import { call, postImage } from '../support/server-harness.js';
import { ANY_GRPC_PORTS, spawnServer, type SpawnedServer } from '../support/spawned-server.js';
import { tempStore } from '../support/temp-store.js';

const PORT = 18480;
const api = `http://127.0.0.1:${PORT}`;
const management = `http://127.0.0.1:${PORT + 1}`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the command line', () => {
  const store = tempStore([
    // No default_version: the highest version is the default.
    // A lone request waits up to 1.5 s for its batch: the SIGTERM test sees its requests queued before it signals.
    { name: 'tabby_ts', from: 'mobilenet_v2_int8', versions: ['1.0', '2.0'], config: { default_version: undefined, output_format: 'torchserve', batch_size: 8, max_batch_delay: 1500 } },
  ]);
  let child: ChildProcess;
  let server: SpawnedServer;
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
        api,
        '--management-address',
        management,
        '--metrics-address',
        'http://127.0.0.1:0',
        ...ANY_GRPC_PORTS,
      ],
      { TS_WASM_THREADS: '1' },
    );
    child = server.child;
  });
  after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
    store.remove();
  });

  it('logs, per model, the backend and the adapter it runs on', () => {
    for (const v of ['1.0', '2.0']) {
      assert.match(output(), new RegExp(`model tabby_ts/${v} worker 0 ready: backend wasm, onnxruntime-web webgpu build, WebGPU not asked for, 1 WASM thread`));
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
    await postImage(`${api}/predictions/tabby_ts`, readImage('kitten.jpg'));
    await new Promise((r) => setTimeout(r, 100));
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
    const inFlight = Array.from({ length: 4 }, () => postImage(`${api}/predictions/tabby_ts`, readImage('kitten.jpg')));
    // Signalled once the server holds all four (queued for their batch), not after a guessed pause.
    const until = Date.now() + 10_000;
    let pending = 0;
    while ((pending = (await call(`${management}/models/tabby_ts`)).body[0].jobQueueStatus.pendingRequests) < 4 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    assert.equal(pending, 4, 'the four requests are queued');
    child.kill('SIGTERM');
    const exited = once(child, 'exit');
    await new Promise((r) => setTimeout(r, 5));
    const late = await postImage(`${api}/predictions/tabby_ts`, readImage('kitten.jpg')).catch(() => null);
    if (late) assert.equal(late.status, 503, 'a request after SIGTERM is refused (or the port is already closed)');
    for (const a of await Promise.all(inFlight)) assert.equal(a.status, 200, 'accepted requests are answered');
    const [code] = await exited;
    assert.equal(code, 0);
    const gone = Date.now() + 5000;
    while (alive(pid) && Date.now() < gone) await new Promise((r) => setTimeout(r, 100));
    assert.equal(alive(pid), false, 'no Chromium outlives the server');
  });

  it('killed with SIGKILL, it leaves no Chromium behind', async () => {
    const port = PORT + 10;
    const killed = spawn(process.execPath, [
      path.join(PROJECT_ROOT, 'dist/server/main.js'),
      '--model-store',
      store.root,
      '--backend=wasm',
      '--inference-address',
      `http://127.0.0.1:${port}`,
      '--management-address',
      `http://127.0.0.1:${port + 1}`,
      '--metrics-address',
      'http://127.0.0.1:0',
      ...ANY_GRPC_PORTS,
    ]);
    let log = '';
    killed.stdout.on('data', (d: Buffer) => (log += d));
    const deadline = Date.now() + 60_000;
    while (!/\(pid (\d+)\) launched/.test(log) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const pid = Number(/\(pid (\d+)\) launched/.exec(log)?.[1]);
    assert.ok(alive(pid));
    killed.kill('SIGKILL');
    await once(killed, 'exit');
    const until = Date.now() + 5000;
    while (alive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    assert.equal(alive(pid), false, 'Chromium exits when the pipe to the gateway closes');
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
