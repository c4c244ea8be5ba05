// The loopback listener that feeds the runtime pages serves its fixed list and nothing else.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ModelStore } from '../../server/model-store.js';
import { startRuntimeAssets, type RuntimeAssetServer } from '../../server/runtime-assets.js';
import { MODELS } from '../support/paths.js';

describe('runtime assets', () => {
  let assets: RuntimeAssetServer;
  before(async () => {
    assets = await startRuntimeAssets(await ModelStore.open(MODELS));
  });
  after(() => assets.close());

  it('listens on loopback only', () => {
    assert.match(assets.origin, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('serves the page cross-origin isolated, its scripts, onnxruntime-web and the store models', async () => {
    const page = await fetch(`${assets.origin}/`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('cross-origin-opener-policy'), 'same-origin');
    assert.equal(page.headers.get('cross-origin-embedder-policy'), 'require-corp');
    for (const p of ['/browser-runtime/main.js', '/ort/ort.webgpu.min.mjs', '/ort/ort-wasm-simd-threaded.asyncify.wasm', '/models/mobilenet_v2/1.0/model.onnx']) {
      const res = await fetch(`${assets.origin}${p}`);
      assert.equal(res.status, 200, p);
      await res.arrayBuffer();
    }
  });

  it('serves nothing else from disk, however the path is spelled', async () => {
    for (const p of [
      '/package.json',
      '/browser-runtime/..%2F..%2Fpackage.json',
      '/browser-runtime/../package.json',
      '/ort/..%2Fpackage.json',
      '/ort/ort.node.min.js',
      '/models/mobilenet_v2/1.0/..%2F..%2F..%2Fpackage.json',
      '/models/mobilenet_v2/9.9/model.onnx',
      '/models/mobilenet_v2/labels.txt',
      '/models/..%2Fpackage.json/1.0/model.onnx',
      '/etc/passwd',
    ]) {
      const res = await fetch(`${assets.origin}${p}`);
      assert.equal(res.status, 404, p);
      await res.arrayBuffer();
    }
  });

  it('answers a malformed URL with a bare 400: no page, stack or path', async () => {
    for (const p of ['/browser-runtime/%E0%A4%A', '/ort/%E0%A4%A', '/models/%E0%A4%A/1.0/model.onnx', '/models/mobilenet_v2/%E0%A4%A/model.onnx']) {
      const res = await fetch(`${assets.origin}${p}`);
      assert.equal(res.status, 400, p);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/, p);
      assert.equal(await res.text(), 'Bad Request', p);
    }
  });
});
