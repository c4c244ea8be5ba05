// Hostile Management API calls against the real server and Chromium: each once opened pages
// without end or left one burning after a failed load. The browser's own page count is the
// witness, and the other model keeps classifying the kitten.

import { after, before, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChromiumEngine } from '../../server/page/chromium-engine.js';
import { PageWorker } from '../../server/page/page-worker.js';
import type { RunningServer } from '../../server/server.js';
import { readImage } from '../support/paths.js';
import { call, postImage, startTestServer, type Answer } from '../support/server-harness.js';
import { tempStore } from '../support/temp-store.js';

const kitten = readImage('kitten.jpg');
const TABBY = 'n02123045 tabby, tabby cat';

describe('Management API bounds against the real browser', () => {
  const store = tempStore([
    // Asked to classify the kitten after each: one image a run (batches are not under test here).
    { name: 'fp32', from: 'mobilenet_v2', config: { batch_size: 1 } },
    { name: 'spare', from: 'mobilenet_v2_int8' },
    { name: 'broken', from: 'mobilenet_v2_int8' },
  ]);
  // Not an ONNX file. The store's model file may be a link to the repo's: unlink it first so
  // the write lands in the temp folder only.
  const brokenFile = path.join(store.root, 'broken', '1.0', 'model.onnx');
  unlinkSync(brokenFile);
  writeFileSync(brokenFile, 'this is not an ONNX model\n'.repeat(100));

  let server: RunningServer;
  let mgmt: string;
  const send = (method: string, p: string) => call(`${mgmt}${p}`, { method });
  const engine = () => server.engine as ChromiumEngine;
  const pages = () => engine().pageCount();
  const stillClassifies = async () => {
    const r = await postImage(`${server.inferenceUrl}/predictions/fp32?topk=1`, kitten);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body[0].class, TABBY);
  };

  before(async () => {
    server = await startTestServer({ model_store: store.root, backend: 'wasm', wasm_threads: '1', load_models: 'fp32', max_workers: '4' });
    mgmt = server.managementUrl;
  });
  after(async () => {
    await server?.close();
    store.remove();
  });

  it('min_worker=10000 answers 400 at once, and the browser opens no page', async () => {
    const before = await pages();
    assert.equal(before, 1);
    // At once: before a single page is started, which is what would take the time.
    const starts = mock.method(PageWorker.prototype, 'start');
    let r: Answer;
    try {
      r = await send('PUT', '/models/fp32?min_worker=10000');
      assert.equal(starts.mock.callCount(), 0, 'answered without starting a page');
    } finally {
      starts.mock.restore();
    }
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.type, 'BadRequestException');
    assert.match(r.body.message, /^min_worker=10000 would make 10000 worker pages; this server allows at most 4 \(max_workers, as set\)/);
    const sync = await send('PUT', '/models/fp32?max_worker=5&synchronous=true');
    assert.equal(sync.status, 400, JSON.stringify(sync.body));
    // Pages would open over the next moments, not during the request: a window for them to show
    // up in the count (no page may open at all, so nothing here waits on the machine's speed).
    await sleep(1000);
    assert.equal(await pages(), before);
    assert.equal((await send('GET', '/models/fp32')).body[0].workers.length, 1);
    await stillClassifies();
  });

  it('the engine itself refuses more pages than max_workers, whoever asks', async () => {
    const before = await pages();
    const fp32 = server.store.resolve('fp32');
    await assert.rejects(engine().scale(fp32, 5), /scaling fp32\/1\.0 to 5 workers would make 5 worker pages; this server allows at most 4 \(max_workers\)/);
    await sleep(500);
    assert.equal(await pages(), before);
    await stillClassifies();
  });

  it('batch_size=999999 or initial_workers=10000 at registration answers 400, registers nothing and opens no page', async () => {
    const before = await pages();
    const big = await send('POST', '/models?url=spare&batch_size=999999');
    assert.equal(big.status, 400, JSON.stringify(big.body));
    assert.equal(big.body.type, 'BadRequestException');
    assert.match(big.body.message, /batch_size must be an integer from 1 to 64 .*; got "999999"/);
    const many = await send('POST', '/models?url=spare&initial_workers=10000');
    assert.equal(many.status, 400, JSON.stringify(many.body));
    assert.match(many.body.message, /^initial_workers=10000 would make 10001 worker pages; this server allows at most 4/);
    await sleep(1000);
    assert.equal(await pages(), before);
    assert.equal((await send('GET', '/models/spare')).body.type, 'ModelNotFoundException');
    await stillClassifies();
  });

  it('a model whose load fails answers 500 with the reason, registers nothing, leaves no page behind, and harms no one', async () => {
    const before = await pages();
    const reg = await send('POST', '/models?url=broken&initial_workers=1&synchronous=true');
    assert.equal(reg.status, 500, JSON.stringify(reg.body));
    assert.equal(reg.body.type, 'InternalServerException');
    assert.match(reg.body.message, /^Failed to load model "broken" version 1\.0: .+\. Nothing was registered\.$/);
    assert.equal((await send('GET', '/models/broken')).body.type, 'ModelNotFoundException');
    assert.equal(await pages(), before, 'the failed page is closed');
    assert.equal((await call(`${server.inferenceUrl}/ping`)).status, 200, 'the server is as healthy as before');
    // Registered without a worker, then scaled: its workers fail the same way, and close the same way.
    assert.equal((await send('POST', '/models?url=broken')).status, 200);
    const scaled = await send('PUT', '/models/broken?min_worker=2&synchronous=true');
    assert.equal(scaled.status, 500, JSON.stringify(scaled.body));
    assert.match(scaled.body.message, /^Failed to start workers for model "broken" version 1\.0: /);
    const [d] = (await send('GET', '/models/broken')).body;
    assert.equal(d.status, 'failed');
    assert.ok(d.error, 'the description says why');
    assert.equal(await pages(), before);
    assert.equal((await call(`${server.inferenceUrl}/ping`)).status, 200, 'a failed model does not make the server unhealthy');
    const metrics = await (await fetch(`${server.metricsUrl}/metrics`)).text();
    assert.match(metrics, new RegExp(`^ts_browser_pages ${before}$`, 'm'));
    await stillClassifies();
  });
});
