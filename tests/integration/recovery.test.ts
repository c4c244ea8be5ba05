// Faults the server must survive by itself: Chromium killed with requests in flight, and a
// page that dies under one model while another keeps serving.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { v2BinaryRequest } from '../../scripts/hostile/inputs.js';
import type { ChromiumEngine } from '../../server/bridge/chromium-engine.js';
import type { RunningServer } from '../../server/server.js';
import { readImage } from '../support/paths.js';
import { call, postImage, startTestServer } from '../support/server-harness.js';
import { tempStore } from '../support/temp-store.js';

const kitten = readImage('kitten.jpg');
const RECOVERY_BOUND_MS = 30_000;

async function until(what: string, check: () => Promise<boolean>, limitMs: number): Promise<number> {
  const t0 = performance.now();
  while (!(await check())) {
    if (performance.now() - t0 > limitMs) throw new Error(`${what}: not within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return performance.now() - t0;
}

describe('recovery from browser faults', () => {
  const store = tempStore([
    { name: 'int8', from: 'mobilenet_v2_int8', config: { batch_size: 2 } },
    { name: 'fp32', from: 'mobilenet_v2', config: { batch_size: 2 } },
    // A deadline that a batch of eight tensors (5 MB, read in a few ms) overruns in the page.
    { name: 'hasty', from: 'mobilenet_v2_int8', config: { batch_size: 1, response_timeout: 0.1 } },
  ]);
  let server: RunningServer;
  let api: string;

  before(async () => {
    server = await startTestServer({ model_store: store.root, backend: 'wasm', wasm_threads: '1' });
    api = server.inferenceUrl;
  });
  after(async () => {
    await server?.close();
    store.remove();
  });

  it('a crashed page is replaced alone; the other model keeps serving meanwhile', async () => {
    const engine = server.engine as ChromiumEngine;
    const pid = engine.browserPid();
    await engine.crashWorker('int8/1.0');
    await until('int8 unavailable', async () => (await postImage(`${api}/predictions/int8`, kitten)).status === 503, 5000);
    const other = await postImage(`${api}/predictions/fp32`, kitten);
    assert.equal(other.status, 200, 'the other model is untouched');
    await until('/ping healthy again', async () => (await call(`${api}/ping`)).status === 200, RECOVERY_BOUND_MS);
    assert.equal(engine.browserPid(), pid, 'the browser was not relaunched');
    assert.equal((await postImage(`${api}/predictions/int8`, kitten)).body[0].class, 'n02123045 tabby, tabby cat');
  });

  it('Chromium killed with requests in flight: they fail at once with 503, /ping says unhealthy, and it serves again by itself', async () => {
    const engine = server.engine as ChromiumEngine;
    const pid = engine.browserPid()!;
    assert.ok(pid > 0);
    const inFlight = Array.from({ length: 6 }, () => postImage(`${api}/predictions/fp32`, kitten));
    await new Promise((r) => setTimeout(r, 30));
    const killedAt = performance.now();
    process.kill(pid, 'SIGKILL');
    const answers = await Promise.all(inFlight);
    const settledMs = performance.now() - killedAt;
    for (const a of answers) {
      assert.ok(a.status === 200 || a.status === 503, `status ${a.status}`);
      if (a.status === 503) assert.equal(a.body.type, 'ServiceUnavailableException');
    }
    assert.ok(
      answers.some((a) => a.status === 503),
      'some requests were caught by the kill',
    );
    assert.ok(settledMs < 5000, `in-flight requests settled ${Math.round(settledMs)} ms after the kill`);

    await until('/ping unhealthy', async () => (await call(`${api}/ping`)).status === 500, 5000);
    const recoveredMs = await until('/ping healthy again', async () => (await call(`${api}/ping`)).status === 200, RECOVERY_BOUND_MS);
    console.log(`recovered ${Math.round(recoveredMs)} ms after /ping went unhealthy`);
    assert.notEqual(engine.browserPid(), pid, 'a new browser');
    const metrics = await (await fetch(`${server.metricsUrl}/metrics`)).text();
    assert.match(metrics, /^ts_browser_restarts_total 1$/m);
    assert.match(metrics, /^ts_page_restarts_total\{model_name="fp32",model_version="1.0"\} [1-9]/m);
    for (const model of ['fp32', 'int8']) {
      const res = await postImage(`${api}/predictions/${model}`, kitten);
      assert.equal(res.status, 200);
      assert.equal(res.body[0].class, 'n02123045 tabby, tabby cat');
    }
  });

  it('a run past its deadline answers 504 and its page is replaced', async () => {
    const before = (await call(`${server.managementUrl}/models/hasty`)).body[0].workers[0].startTime;
    const { body, headers } = v2BinaryRequest([8, 3, 224, 224]);
    const late = await call(`${api}/v2/models/hasty/infer`, { method: 'POST', body: body as Uint8Array<ArrayBuffer>, headers });
    assert.equal(late.status, 504, JSON.stringify(late.body));
    assert.match(late.body.error, /took longer than 0\.1 s \(raise response_timeout in hasty's config\.json to allow more\)/);
    await until(
      'a fresh page for the model',
      async () => {
        const [d] = (await call(`${server.managementUrl}/models/hasty`)).body;
        return d.workers[0].startTime !== before && d.workers[0].status === 'READY';
      },
      RECOVERY_BOUND_MS,
    );
    assert.equal((await postImage(`${api}/predictions/fp32`, kitten)).status, 200, 'the other models were untouched');
  });
});
