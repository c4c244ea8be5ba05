// The parity guard on a real divergence: under onnxruntime-web's JSEP build, the int8 model
// runs on WebGPU without an error and answers garbage. The guard must catch it at load and
// put the model on WASM, where it answers correctly.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningServer } from '../../server/server.js';
import { readImage } from '../support/paths.js';
import { call, postImage, startTestServer } from '../support/server-harness.js';
import { tempStore } from '../support/temp-store.js';

describe('parity guard: int8 model, JSEP build, forced WebGPU', () => {
  // Batches of one: the model falls back to WASM, where the largest batch would be warmed up.
  const store = tempStore([{ name: 'mobilenet_v2_int8', from: 'mobilenet_v2_int8', config: { batch_size: 1 } }]);
  let server: RunningServer;

  before(async () => {
    // SwiftShader on the CPU beside the other test files: its load took 44 s in a CI run, against
    // the 120 s a load gets by default. Ten times more than that, as in apis-on-webgpu.test.ts.
    server = await startTestServer({ model_store: store.root, backend: 'webgpu', ort_build: 'jsep', default_response_timeout: '1200' });
  });
  after(async () => {
    await server?.close();
    store.remove();
  });

  it('falls back to WASM and says why', async () => {
    const [d] = (await call(`${server.managementUrl}/models/mobilenet_v2_int8`)).body;
    assert.equal(d.ortBuild, 'jsep');
    assert.equal(d.backend, 'wasm');
    assert.equal(d.parity.passed, false);
    // Not a rounding difference: the JSEP output is orders of magnitude off.
    assert.ok(d.parity.relativeDiff > 1, `relative diff ${d.parity.relativeDiff}`);
    assert.match(d.fallbackReason, /WebGPU output differs from WASM on the parity input/);
    assert.ok(d.adapter, 'a WebGPU adapter was there: the model was refused it by the check, not for lack of one');
    const metrics = await (await fetch(`${server.metricsUrl}/metrics`)).text();
    assert.match(metrics, /^ts_parity_failures_total\{model_name="mobilenet_v2_int8",model_version="1.0"\} 1$/m);
    assert.match(metrics, /^ts_model_backend_info\{[^}]*model_name="mobilenet_v2_int8"[^}]*backend="wasm"[^}]*fallback_adapter="true"/m);
  });

  it('the model still answers, correctly, and the server is healthy', async () => {
    assert.equal((await call(`${server.inferenceUrl}/ping`)).status, 200);
    const answer = (await postImage(`${server.inferenceUrl}/predictions/mobilenet_v2_int8`, readImage('kitten.jpg'))).body;
    assert.equal(answer[0].class, 'n02123045 tabby, tabby cat');
  });
});
