// The Management API as TorchServe's users know it, through the real browser: an empty start,
// registration with no worker until scaled, synchronous by default, aliases, lenient
// parameters, TorchServe's description fields, scaling to zero, an unregistration while the
// model is still loading, which is no fault, and the cases of TorchServe's own suite that a
// startup_timeout of 0 and negative worker counts make.

import { after, before, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { log } from '../../server/ops/log.js';
import type { ChromiumEngine } from '../../server/page/chromium-engine.js';
import type { RunningServer } from '../../server/server.js';
import { readImage } from '../support/paths.js';
import { call, postImage, startTestServer } from '../support/server-harness.js';
import { tempStore } from '../support/temp-store.js';
import { until } from '../support/until.js';

const kitten = readImage('kitten.jpg');
const TABBY = 'n02123045 tabby, tabby cat';

describe('TorchServe management semantics', () => {
  // Every page of it classifies one image a run: batches are not under test here.
  const store = tempStore([
    { name: 'fp32', from: 'mobilenet_v2_int8', config: { batch_size: 1 } },
    // Where only whether its workers start is under test: the null model, which loads fastest.
    { name: 'null_model', from: 'null_model', config: { batch_size: 1 } },
  ]);
  let server: RunningServer;
  let api: string;
  let mgmt: string;
  const send = (method: string, p: string) => call(`${mgmt}${p}`, { method });
  const describeModel = async (name: string) => (await send('GET', `/models/${name}`)).body[0];

  before(async () => {
    server = await startTestServer({ model_store: store.root, backend: 'wasm', wasm_threads: '1', load_models: '' });
    api = server.inferenceUrl;
    mgmt = server.managementUrl;
  });
  after(async () => {
    await server?.close();
    store.remove();
  });

  it('starts with no model, healthy and ready to register', async () => {
    assert.equal((await call(`${api}/ping`)).status, 200);
    assert.deepEqual((await send('GET', '/models')).body, { models: [] });
  });

  it('registers with no worker by default (200), answers predictions 503 until scaled, then serves', async () => {
    const reg = await send('POST', '/models?url=fp32');
    assert.equal(reg.status, 200, JSON.stringify(reg.body));
    assert.equal(reg.body.status, 'Model "fp32" Version: 1.0 registered with 0 initial workers. Use scale workers API to add workers for the model.');
    const idle = await describeModel('fp32');
    assert.equal(idle.status, 'stopped');
    assert.deepEqual([idle.minWorkers, idle.maxWorkers, idle.workers], [0, 0, []]);
    const refused = await postImage(`${api}/predictions/fp32`, kitten);
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    assert.equal(refused.body.type, 'ServiceUnavailableException');
    assert.match(refused.body.message, /no worker to serve inference requests; use the scale workers API/);
    assert.equal((await call(`${api}/ping`)).status, 200, 'a model without workers leaves the server healthy');

    const up = await send('PUT', '/models/fp32?min_worker=1&synchronous=true');
    assert.equal(up.status, 200, JSON.stringify(up.body));
    assert.equal(up.body.status, 'Workers scaled to 1 for model: fp32');
    assert.equal((await postImage(`${api}/predictions/fp32?topk=1`, kitten)).body[0].class, TABBY);
  });

  it("describes a model with TorchServe's fields", async () => {
    const d = await describeModel('fp32');
    assert.equal(d.minWorkers, 1);
    assert.equal(d.maxWorkers, 1);
    assert.equal(d.loadedAtStartup, false);
    assert.equal(d.responseTimeout, 120);
    assert.ok(d.batchSize >= 1 && d.maxBatchDelay >= 0);
    assert.deepEqual(d.jobQueueStatus, { remainingCapacity: 100, pendingRequests: 0 });
    assert.equal(d.workers.length, 1);
    const [w] = d.workers;
    assert.equal(w.id, 0);
    assert.equal(w.status, 'READY');
    assert.equal(w.gpu, false);
    assert.ok(!Number.isNaN(Date.parse(w.startTime)));
    assert.ok(Number.isInteger(w.pid) && w.pid > 0, `pid ${w.pid}`);
    assert.match(readFileSync(`/proc/${w.pid}/cmdline`, 'utf8'), /--type=renderer/, "the worker's pid is a Chromium renderer");
    assert.ok(w.memoryUsage > 10 * 2 ** 20, `memoryUsage ${w.memoryUsage} bytes`);
  });

  it('registers the same folder under another model_name as a separate model, with its own settings', async () => {
    const reg = await send('POST', '/models?url=fp32&model_name=kitty&initial_workers=1&synchronous=true&response_timeout=30&runtime=python');
    assert.equal(reg.status, 200, JSON.stringify(reg.body));
    assert.equal(reg.body.status, 'Model "kitty" Version: 1.0 registered with 1 initial workers');
    assert.equal((await postImage(`${api}/predictions/kitty?topk=1`, kitten)).body[0].class, TABBY);
    assert.deepEqual(
      (await send('GET', '/models')).body.models.map((m: { modelName: string }) => m.modelName),
      ['fp32', 'kitty'],
    );
    assert.equal((await describeModel('kitty')).responseTimeout, 30);
    assert.notEqual((await describeModel('kitty')).workers[0].pid, (await describeModel('fp32')).workers[0].pid, 'each worker its own renderer');
    assert.equal((await describeModel('fp32')).responseTimeout, 120, 'the folder itself is untouched');
    const java = await send('POST', '/models?url=fp32&model_name=other&runtime=java');
    assert.equal(java.status, 400);
    assert.match(java.body.message, /^runtime "java" is not one this server has/);
  });

  it('reads parameters leniently, as TorchServe does: what is not an integer counts as absent, a limit is clamped', async () => {
    const all = ['fp32', 'kitty'];
    for (const q of ['limit=abc', 'limit=', 'limit=1000', 'limit=-4', 'next_page_token=0', 'next_page_token=x']) {
      const r = await send('GET', `/models?${q}`);
      assert.equal(r.status, 200, q);
      assert.deepEqual(
        r.body.models.map((m: { modelName: string }) => m.modelName),
        all,
        q,
      );
    }
  });

  it('scales a model to no worker: it answers 503 and the server stays healthy', async () => {
    const down = await send('PUT', '/models/kitty?min_worker=0&synchronous=true');
    assert.equal(down.status, 200, JSON.stringify(down.body));
    assert.equal((await postImage(`${api}/predictions/kitty`, kitten)).status, 503);
    assert.equal((await describeModel('kitty')).status, 'stopped');
    assert.equal((await call(`${api}/ping`)).status, 200);
  });

  it('registers asynchronously when told (202), and an unregistration while it loads is no error', async () => {
    const errors = mock.method(log, 'error');
    const infos = mock.method(log, 'info');
    try {
      const reg = await send('POST', '/models?url=fp32&model_name=early&initial_workers=1&synchronous=false');
      assert.equal(reg.status, 202, JSON.stringify(reg.body));
      assert.equal(reg.body.status, 'Processing worker updates...');
      assert.equal((await describeModel('early')).workers[0].status, 'LOADING');
      assert.equal((await send('DELETE', '/models/early')).status, 200);
      // The load ends when its page closes: the engine says so, and only then is there nothing more to log.
      await until('the interrupted load to end', () => infos.mock.calls.some((c) => /^model early\/1\.0 worker 0 closed before it was ready/.test(String(c.arguments[0]))));
      assert.deepEqual(
        errors.mock.calls.map((c) => String(c.arguments[0])),
        [],
        'nothing logged as an error',
      );
    } finally {
      errors.mock.restore();
      infos.mock.restore();
    }
    assert.equal((await send('GET', '/models/early')).body.type, 'ModelNotFoundException');
    assert.equal((await postImage(`${api}/predictions/fp32?topk=1`, kitten)).body[0].class, TABBY);
  });

  it("startup_timeout=0 fails a registration as TorchServe's suite expects: 500, every page it opened closed, the name free again", async () => {
    const pages = () => (server.engine as ChromiumEngine).pageCount();
    const before = await pages();
    // TorchServe's own case, synchronous by default.
    const failed = await send('POST', '/models?url=null_model&batch_size=3&initial_workers=3&startup_timeout=0');
    assert.equal(failed.status, 500, JSON.stringify(failed.body));
    assert.deepEqual(Object.keys(failed.body), ['code', 'type', 'message']);
    assert.equal(failed.body.type, 'InternalServerException');
    assert.match(
      failed.body.message,
      /^Failed to load model "null_model" version 1\.0: worker \d of null_model\/1\.0 did not start within 0\.0 s \(raise startup_timeout to allow more\)\. Nothing was registered\.$/,
    );
    assert.equal((await send('GET', '/models/null_model')).body.type, 'ModelNotFoundException');
    assert.equal(await pages(), before, 'every page it opened is closed');
    // Its next case: with no worker asked for, startup_timeout=0 has nothing to fail.
    const idle = await send('POST', '/models?url=null_model&startup_timeout=0');
    assert.equal(idle.status, 200, JSON.stringify(idle.body));
    assert.equal((await send('DELETE', '/models/null_model')).status, 200);
    // The same url registers again, its worker loading within a startup_timeout it can meet.
    const again = await send('POST', '/models?url=null_model&initial_workers=1&synchronous=true&startup_timeout=600');
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.body.status, 'Model "null_model" Version: 1.0 registered with 1 initial workers');
    assert.equal((await describeModel('null_model')).workers[0].status, 'READY');
  });

  it('negative worker counts as TorchServe answers them: min_worker=-1 is 500 and changes nothing, max_worker=-1 is 400, initial_workers=-1 starts none', async () => {
    const [worker] = (await describeModel('null_model')).workers;
    const negative = await send('PUT', '/models/null_model?min_worker=-1&synchronous=true');
    assert.equal(negative.status, 500, JSON.stringify(negative.body));
    assert.deepEqual(negative.body, { code: 500, type: 'InternalServerException', message: 'min_worker cannot be negative; got -1. The workers are as they were.' });
    const max = await send('PUT', '/models/null_model?max_worker=-1');
    assert.equal(max.status, 400, JSON.stringify(max.body));
    assert.equal(max.body.type, 'BadRequestException');
    const now = (await describeModel('null_model')).workers;
    assert.deepEqual(
      now.map((w: { id: number; pid: number; status: string }) => [w.id, w.pid, w.status]),
      [[worker.id, worker.pid, 'READY']],
      'the same worker, still ready',
    );
    assert.equal((await send('DELETE', '/models/null_model')).status, 200);

    const none = await send('POST', '/models?url=null_model&initial_workers=-1');
    assert.equal(none.status, 200, JSON.stringify(none.body));
    assert.equal(none.body.status, 'Model "null_model" Version: 1.0 registered with 0 initial workers. Use scale workers API to add workers for the model.');
    assert.deepEqual((await describeModel('null_model')).workers, []);
    assert.equal((await send('DELETE', '/models/null_model')).status, 200);
  });
});
