// The Management API's numbers are bounded before anything reaches the engine: each parameter
// by its range, and the worker pages of every model version together by max_workers. The same
// total stops a start that asks for more. A fake engine records what did reach it.

import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../server/config/config.js';
import type { RunningServer } from '../../server/server.js';
import { FakeEngine } from '../support/fake-engine.js';
import { call, startTestServer } from '../support/server-harness.js';
import { tempStore } from '../support/temp-store.js';

const LIMIT = 'this server allows at most 4 \\(max_workers, as set\\)';

describe('Management API bounds (fake engine)', () => {
  const store = tempStore([
    { name: 'a', from: 'mobilenet_v2' },
    { name: 'b', from: 'mobilenet_v2_int8' },
    { name: 'spare', from: 'mobilenet_v2_int8' },
    { name: 'greedy', from: 'mobilenet_v2_int8', config: { workers: 3 } },
  ]);
  let server: RunningServer;
  let engine: FakeEngine;
  let mgmt: string;
  const send = (method: string, p: string) => call(`${mgmt}${p}`, { method });
  const refused = async (method: string, p: string, says: RegExp) => {
    const r = await send(method, p);
    assert.equal(r.status, 400, `${method} ${p}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.type, 'BadRequestException');
    assert.match(r.body.message, says, `${method} ${p}`);
  };

  before(async () => {
    engine = new FakeEngine();
    // Two versions loaded, one page each (as the fake engine reports): two of four in use.
    server = await startTestServer({ model_store: store.root, load_models: 'a,b', max_workers: '4' }, engine);
    mgmt = server.managementUrl;
  });
  after(async () => {
    await server?.close();
    store.remove();
  });
  beforeEach(() => {
    engine.scaled = [];
    engine.added = [];
  });

  it('min_worker or max_worker past max_workers answers 400 with the bound, and the engine is not asked', async () => {
    await refused('PUT', '/models/a?min_worker=10000', new RegExp(`^min_worker=10000 would make 10001 worker pages; ${LIMIT}\\.$`));
    await refused('PUT', '/models/a/1.0?min_worker=10000&synchronous=true', /^min_worker=10000 would make 10001/);
    await refused('PUT', '/models/a?max_worker=10000', new RegExp(`^max_worker=10000 would make 10001 worker pages; ${LIMIT}`));
    await refused('PUT', '/models/a?min_worker=1&max_worker=10000', /^max_worker=10000 would make 10001/);
    await refused('PUT', '/models/a?min_worker=4', /^min_worker=4 would make 5 worker pages/);
    await refused('PUT', `/models/a?min_worker=${'9'.repeat(15)}`, /would make 1000000000000000 worker pages/);
    assert.deepEqual(engine.scaled, []);
  });

  it('scaling within max_workers reaches the engine', async () => {
    assert.equal((await send('PUT', '/models/a?min_worker=3&max_worker=3&synchronous=true')).status, 200);
    assert.deepEqual(engine.scaled, [['a/1.0', 3]]);
  });

  it('negative worker counts as TorchServe answers them: min_worker 500, max_worker 400, initial_workers none; what is not an integer counts as absent', async () => {
    const negative = await send('PUT', '/models/a?min_worker=-1');
    assert.deepEqual(negative.body, { code: 500, type: 'InternalServerException', message: 'min_worker cannot be negative; got -1. The workers are as they were.' });
    assert.equal(negative.status, 500);
    await refused('PUT', '/models/a?max_worker=-1', /^max_worker cannot be negative; got -1\.$/);
    await refused('PUT', '/models/a?min_worker=2&max_worker=1', /^max_worker \(1\) cannot be less than min_worker \(2\)\.$/);
    await refused('PUT', '/models/a?min_worker=-1&max_worker=-3', /^max_worker \(-3\) cannot be less than min_worker \(-1\)\.$/);
    assert.deepEqual(engine.scaled, []);
    for (const none of ['-1', '-7', '0']) {
      const reg = await send('POST', `/models?url=spare&initial_workers=${none}`);
      assert.equal(reg.status, 200, `initial_workers=${none}: ${JSON.stringify(reg.body)}`);
      assert.equal(reg.body.status, 'Model "spare" Version: 1.0 registered with 0 initial workers. Use scale workers API to add workers for the model.');
      assert.equal((await send('DELETE', '/models/spare')).status, 200);
    }
    for (const lax of ['1.5', 'abc', '1e3', '', ' 2']) {
      const r = await send('PUT', `/models/a?min_worker=${lax}&synchronous=${lax}`);
      assert.equal(r.status, 202, `min_worker=${lax}: the default, 1, asynchronously`);
    }
    assert.deepEqual(engine.scaled, Array(5).fill(['a/1.0', 1]));
    const r = await send('POST', '/models?url=spare&initial_workers=abc&synchronous=&batch_size=x&max_batch_delay=');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.status, 'Model "spare" Version: 1.0 registered with 0 initial workers. Use scale workers API to add workers for the model.');
    assert.equal((await send('DELETE', '/models/spare')).status, 200);
  });

  it('batch_size and max_batch_delay past their ranges answer 400 with the bound; nothing is registered', async () => {
    await refused('POST', '/models?url=spare&batch_size=999999', /^batch_size must be an integer from 1 to 64 \(the largest batch runs at load, in a WASM heap of at most 4 GiB\); got "999999"\.$/);
    for (const bad of ['65', '0', '-1']) await refused('POST', `/models?url=spare&batch_size=${bad}`, /^batch_size must be an integer from 1 to 64/);
    await refused('POST', '/models?url=spare&max_batch_delay=10001', /^max_batch_delay must be a number of milliseconds from 0 to 10000 \(.*\); got "10001"\.$/);
    await refused('POST', `/models?url=spare&max_batch_delay=${'9'.repeat(40)}`, /got "9{24}"\.$/);
    assert.equal((await send('GET', '/models/spare')).body.type, 'ModelNotFoundException');
    assert.deepEqual(engine.added, []);
  });

  it('startup_timeout past an hour answers 400; one within it, or -1 (the default), registers with it', async () => {
    await refused('POST', '/models?url=spare&initial_workers=1&startup_timeout=3601', /^startup_timeout must be an integer of seconds from 0 to 3600 \(.*\); got "3601"\.$/);
    assert.deepEqual(engine.added, []);
    for (const [given, kept] of [
      ['30', 30],
      ['0', 0],
      ['-5', 0],
      ['-1', null],
      ['x', null],
    ] as const) {
      const reg = await send('POST', `/models?url=spare&startup_timeout=${given}`);
      assert.equal(reg.status, 200, `startup_timeout=${given}: ${JSON.stringify(reg.body)}`);
      assert.equal(server.store.resolve('spare').config.startupTimeout, kept, `startup_timeout=${given}`);
      assert.equal((await send('DELETE', '/models/spare')).status, 200);
    }
  });

  it("initial_workers, or a config.json's workers, past max_workers answers 400; nothing is registered", async () => {
    await refused('POST', '/models?url=spare&initial_workers=10000', new RegExp(`^initial_workers=10000 would make 10002 worker pages; ${LIMIT}\\.$`));
    await refused('POST', '/models?url=greedy&initial_workers=3', new RegExp(`^initial_workers=3 would make 5 worker pages; ${LIMIT}\\.$`));
    for (const name of ['spare', 'greedy']) assert.equal((await send('GET', `/models/${name}`)).body.type, 'ModelNotFoundException');
    assert.deepEqual(engine.added, []);
  });

  it('a config.json value past its bound answers 400 at registration, naming the key and the bound', async () => {
    const dir = path.join(store.root, 'huge');
    mkdirSync(path.join(dir, '1.0'), { recursive: true });
    symlinkSync(path.join(store.root, 'a', '1.0', 'model.onnx'), path.join(dir, '1.0', 'model.onnx'));
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ input_name: 'input', output_name: 'output', batch_size: 999999 }));
    await refused('POST', '/models?url=huge', /^huge cannot be registered: huge\/config\.json: "batch_size" must be an integer from 1 to 64 .*; got 999999$/);
    assert.deepEqual(engine.added, []);
  });

  it('a registration within every bound reaches the engine with its settings', async () => {
    const r = await send('POST', '/models?url=spare&batch_size=64&max_batch_delay=0&initial_workers=1');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.status, 'Model "spare" Version: 1.0 registered with 1 initial workers');
    assert.deepEqual(engine.added, ['spare/1.0']);
  });
});

describe('the worker pages of the models loaded at start', () => {
  /** Starts with a fake engine and expects a ConfigError; a server that starts anyway is closed. */
  const startRefused = async (settings: Record<string, string>, says: RegExp) => {
    const started = await startTestServer(settings, new FakeEngine()).catch((e: unknown) => e);
    if (!(started instanceof Error)) {
      await (started as RunningServer).close();
      assert.fail('the server started');
    }
    assert.ok(started instanceof ConfigError, String(started));
    assert.match(started.message, says);
  };

  it('stop the start with a ConfigError when together they pass max_workers', async () => {
    await startRefused(
      { workers: '3', max_workers: '4' },
      new RegExp(`^loading mobilenet_v2/1.0 \\(3 workers\\), mobilenet_v2_int8/1.0 \\(3 workers\\), yolox_nano/1.0 \\(3 workers\\) would make 9 worker pages; ${LIMIT}; lower workers`),
    );
  });

  it("count a config.json's workers, and every version", async () => {
    const store = tempStore([
      { name: 'a', from: 'mobilenet_v2', config: { workers: 2 } },
      { name: 'b', from: 'mobilenet_v2_int8', versions: ['1.0', '2.0'] },
    ]);
    try {
      await startRefused({ model_store: store.root, max_workers: '3' }, /would make 4 worker pages; this server allows at most 3/);
      const server = await startTestServer({ model_store: store.root, max_workers: '4' }, new FakeEngine());
      await server.close();
    } finally {
      store.remove();
    }
  });
});
