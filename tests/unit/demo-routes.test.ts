// The demo page's routes on the inference port, with a fake engine: what the page loads, what
// a visitor's browser needs for a local run, and nothing else from disk.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { DemoModel } from '../../browser-runtime/protocol.js';
import type { RunningServer } from '../../server/server.js';
import { FakeEngine } from '../support/fake-engine.js';
import { MODELS } from '../support/paths.js';
import { call, startTestServer } from '../support/server-harness.js';
import { tempStore } from '../support/temp-store.js';

describe('demo page routes (fake engine)', () => {
  let server: RunningServer;
  let api: string;

  before(async () => {
    server = await startTestServer({}, new FakeEngine());
    api = server.inferenceUrl;
  });
  after(() => server.close());

  it('GET / is the page: cross-origin isolated, nothing from elsewhere allowed', async () => {
    const r = await fetch(`${api}/`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /text\/html/);
    assert.equal(r.headers.get('cross-origin-opener-policy'), 'same-origin');
    assert.equal(r.headers.get('cross-origin-embedder-policy'), 'require-corp');
    const csp = r.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'(;|$)/);
    const html = await r.text();
    // Every script, style and image the page names is the server's own.
    for (const [, url] of html.matchAll(/(?:src|href)="([^"]+)"/g)) assert.match(url!, /^(\/|#)/, url);
  });

  it('serves the compiled page scripts, styles, samples, runtime and onnxruntime-web', async () => {
    for (const p of [
      '/demo/app.js',
      '/demo/local-runner.js',
      '/demo/style.css',
      '/demo/icon.svg',
      '/demo/samples/kitten.jpg',
      '/browser-runtime/model-host.js',
      '/browser-runtime/resize-crop.js',
      '/ort/ort.webgpu.min.mjs',
      '/ort/ort-wasm-simd-threaded.asyncify.wasm',
    ]) {
      const r = await fetch(`${api}${p}`);
      assert.equal(r.status, 200, p);
      assert.equal(r.headers.get('cross-origin-resource-policy'), 'same-origin', p);
      await r.arrayBuffer();
    }
  });

  it('lists every model version with what a local run needs', async () => {
    const { status, body } = await call(`${api}/demo/models`);
    assert.equal(status, 200);
    const models = body.models as DemoModel[];
    assert.deepEqual(
      models.map((m) => `${m.modelName}/${m.modelVersion}`),
      ['mobilenet_v2/1.0', 'mobilenet_v2_int8/1.0', 'yolox_nano/1.0'],
    );
    const fp32 = models[0]!;
    assert.equal(fp32.isDefault, true);
    assert.equal(fp32.status, 'ready');
    assert.equal(fp32.resize, 256);
    assert.equal(fp32.load.normalisation.size, 224);
    assert.equal(fp32.load.output, 'logits');
    assert.equal(fp32.modelBytes, readFileSync(`${MODELS}/mobilenet_v2/1.0/model.onnx`).length);

    const file = await fetch(`${api}${fp32.load.modelUrl}`);
    assert.equal(file.status, 200);
    assert.deepEqual(new Uint8Array(await file.arrayBuffer()), new Uint8Array(readFileSync(`${MODELS}/mobilenet_v2/1.0/model.onnx`)));
    const labels = await call(`${api}${fp32.labelsUrl}`);
    assert.equal(labels.body.length, 1000);
    assert.equal(labels.body[281], 'n02123045 tabby, tabby cat');
    assert.equal(fp32.fit, 'crop');
  });

  it('describes a detector with what a local run needs to fit the image and run the handler as the gateway does', async () => {
    const { body } = await call(`${api}/demo/models`);
    const yolox = (body.models as DemoModel[]).find((m) => m.modelName === 'yolox_nano')!;
    assert.deepEqual({ fit: yolox.fit, fill: yolox.fill, align: yolox.align }, { fit: 'letterbox', fill: 114, align: 'top-left' });
    assert.equal(yolox.load.normalisation.size, 416);
    assert.equal(yolox.load.normalisation.channelOrder, 'BGR');
    assert.equal(yolox.load.handler?.name, 'object_detector');
    assert.equal(yolox.load.handler?.labels[16], 'dog');
    assert.deepEqual(yolox.load.handler?.detector?.strides, [8, 16, 32]);
  });

  it('serves nothing else from disk, however the path is spelled', async () => {
    for (const p of [
      '/demo/..%2Fpackage.json',
      '/demo/app.ts',
      '/demo/index.html',
      '/demo/samples/..%2F..%2Fpackage.json',
      '/demo/models/mobilenet_v2/9.9/model.onnx',
      '/demo/models/mobilenet_v2/1.0/..%2F..%2F..%2Fpackage.json',
      '/demo/models/..%2Fmobilenet_v2/1.0/model.onnx',
      '/demo/models/mobilenet_v2/1.0/config.json',
      '/browser-runtime/main.ts',
      '/browser-runtime/..%2Fpackage.json',
      '/ort/ort.node.min.js',
      '/js/browser-runtime/main.js',
    ]) {
      const r = await call(`${api}${p}`);
      assert.equal(r.status, 404, p);
      assert.equal(r.body.type, 'ResourceNotFoundException', p);
    }
  });
});

describe('demo page switched off', () => {
  it('answers GET / with 405 and serves none of its files, the model files least of all', async () => {
    const server = await startTestServer({ disable_demo_page: 'true' }, new FakeEngine());
    try {
      const root = await call(`${server.inferenceUrl}/`);
      assert.equal(root.status, 405);
      assert.equal(root.headers.get('allow'), 'OPTIONS');
      for (const p of ['/demo/app.js', '/demo/models', '/demo/models/mobilenet_v2/1.0/model.onnx', '/browser-runtime/model-host.js', '/ort/ort.webgpu.min.mjs']) {
        assert.equal((await call(`${server.inferenceUrl}${p}`)).status, 404, p);
      }
      assert.equal((await call(`${server.inferenceUrl}/`, { method: 'OPTIONS' })).body.openapi, '3.0.1');
    } finally {
      await server.close();
    }
  });
});

describe('a model file gone after start', () => {
  it('answers the TorchServe 404, with no path of the server in it', async () => {
    const store = tempStore([{ name: 'm', from: 'mobilenet_v2_int8' }]);
    const server = await startTestServer({ model_store: store.root }, new FakeEngine());
    try {
      const url = `${server.inferenceUrl}/demo/models/m/1.0/model.onnx`;
      assert.equal(await fetch(url).then(async (r) => (await r.arrayBuffer(), r.status)), 200);
      rmSync(path.join(store.root, 'm', '1.0', 'model.onnx'));
      const r = await call(url);
      assert.equal(r.status, 404);
      assert.deepEqual(r.body, { code: 404, type: 'ResourceNotFoundException', message: 'Requested resource is not found, please refer to API document.' });
    } finally {
      await server.close();
      store.remove();
    }
  });
});
