// Hostile requests against the real server, sharp and Chromium: each attack that once took the
// server down, stalled it or got past a key, replayed. After each, the server still answers
// the kitten correctly.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { multipart, multipartCuts } from '../../scripts/hostile/inputs.js';
import { PROJECT_ROOT } from '../../server/paths.js';
import type { RunningServer } from '../../server/server.js';
import { readImage } from '../support/paths.js';
import { call, postImage, startTestServer } from '../support/server-harness.js';
import { tempStore } from '../support/temp-store.js';

const kitten = readImage('kitten.jpg');
const TABBY = 'n02123045 tabby, tabby cat';

describe('hostile input against the real server', () => {
  const store = tempStore([{ name: 'mobilenet_v2', from: 'mobilenet_v2' }]);
  let server: RunningServer;
  let api: string;
  const stillServing = async () => {
    assert.equal((await call(`${api}/ping`)).status, 200);
    const r = await postImage(`${api}/predictions/mobilenet_v2?topk=1`, kitten);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body[0].class, TABBY);
  };

  before(async () => {
    server = await startTestServer({ model_store: store.root, backend: 'wasm', wasm_threads: '1' });
    api = server.inferenceUrl;
  });
  after(async () => {
    await server?.close();
    store.remove();
  });

  it('a multipart body that ends early, at any point, answers 400 and the server keeps serving', async () => {
    const form = multipart([
      { name: 'note', body: Buffer.from('a field') },
      { name: 'data', filename: 'k.jpg', body: kitten.subarray(0, 200) },
    ]);
    const cuts = multipartCuts(form.body);
    for (const cut of cuts) {
      const r = await postImage(`${api}/predictions/mobilenet_v2`, form.body.subarray(0, cut.at), 'POST', form.type);
      assert.equal(r.status, 400, `cut at ${cut.at} (${cut.where}): ${JSON.stringify(r.body)}`);
      assert.equal(r.body.type, 'BadRequestException');
    }
    // The 73-byte request that used to end the process.
    const r = await postImage(`${api}/predictions/mobilenet_v2`, Buffer.from('--B\r\nContent-Disposition: form-data; name="data"; filename="x"\r\n\r\nabc'), 'POST', 'multipart/form-data; boundary=B');
    assert.equal(r.status, 400);
    assert.match(r.body.message, /malformed/);
    await stillServing();
  });
});

describe('the last line of defence', () => {
  it('an exception thrown outside any request is logged, and the server keeps serving', async () => {
    const store = tempStore([{ name: 'mobilenet_v2', from: 'mobilenet_v2' }]);
    const child = spawn(
      process.execPath,
      ['--import', path.join(PROJECT_ROOT, 'dist/tests/support/fault-after-start.js'), path.join(PROJECT_ROOT, 'dist/server/main.js'), '--model-store', store.root, '--backend', 'wasm', '--inference-address', 'http://127.0.0.1:0', '--management-address', 'http://127.0.0.1:0', '--metrics-address', 'http://127.0.0.1:0'],
      { env: { ...process.env, TS_WASM_THREADS: '1', FAULT_AFTER_MS: '1500' } },
    );
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d));
    child.stderr!.on('data', (d: Buffer) => (output += d));
    try {
      const deadline = Date.now() + 60_000;
      while (!(/server healthy/.test(output) && /uncaught exception/.test(output))) {
        assert.equal(child.exitCode, null, `the server exited:\n${output}`);
        assert.ok(Date.now() < deadline, `no healthy server and logged fault within 60 s:\n${output}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.match(output, /a fault outside any request/);
      const url = /Inference API on (http:\/\/[\d.:]+)/.exec(output)![1]!;
      const r = await postImage(`${url}/predictions/mobilenet_v2?topk=1`, kitten);
      assert.equal(r.body[0].class, TABBY);
      assert.equal(child.exitCode, null);
    } finally {
      child.kill('SIGKILL');
      store.remove();
    }
  });
});
