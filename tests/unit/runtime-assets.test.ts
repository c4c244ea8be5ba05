// The loopback listener that feeds the runtime pages serves its fixed list and nothing else.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ModelStore } from '../../server/store/model-store.js';
import { startRuntimeAssets, type RuntimeAssetServer } from '../../server/page/runtime-assets.js';
import { MODELS } from '../support/paths.js';

/** Relative to the page, as the page loads them. */
const SERVED = ['browser-runtime/main.js', 'ort/ort.webgpu.min.mjs', 'ort/ort-wasm-simd-threaded.asyncify.wasm', 'models/mobilenet_v2/1.0/model.onnx'];

describe('runtime assets', () => {
  let assets: RuntimeAssetServer;
  before(async () => {
    assets = await startRuntimeAssets(await ModelStore.open(MODELS));
  });
  after(() => assets.close());

  it('listens on loopback only', () => {
    assert.match(assets.origin, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('serves the page cross-origin isolated, its scripts, onnxruntime-web and the store models, under a secret path', async () => {
    assert.match(assets.pageUrl, new RegExp(`^${assets.origin}/[A-Za-z0-9_-]{32}/$`));
    const page = await fetch(assets.pageUrl);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('cross-origin-opener-policy'), 'same-origin');
    assert.equal(page.headers.get('cross-origin-embedder-policy'), 'require-corp');
    for (const p of SERVED) {
      const res = await fetch(new URL(p, assets.pageUrl));
      assert.equal(res.status, 200, p);
      await res.arrayBuffer();
    }
  });

  it('answers 404 to every file asked for without the secret, or with another one', async () => {
    const secret = new URL(assets.pageUrl).pathname.split('/')[1]!;
    const wrong = `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
    for (const base of [`${assets.origin}/`, `${assets.origin}/${wrong}/`, `${assets.origin}/${secret.toLowerCase()}/`, `${assets.origin}/${secret}x/`]) {
      for (const p of ['', ...SERVED]) {
        const res = await fetch(new URL(p, base));
        assert.equal(res.status, 404, base + p);
        await res.arrayBuffer();
      }
    }
  });

  it('makes a new secret at each start', async () => {
    const other = await startRuntimeAssets(await ModelStore.open(MODELS));
    try {
      assert.notEqual(new URL(other.pageUrl).pathname, new URL(assets.pageUrl).pathname);
    } finally {
      await other.close();
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
      const res = await fetch(assets.pageUrl + p.slice(1));
      assert.equal(res.status, 404, p);
      await res.arrayBuffer();
    }
  });

  it('answers a malformed URL with a bare 400: no page, stack or path', async () => {
    for (const p of ['browser-runtime/%E0%A4%A', 'ort/%E0%A4%A', 'models/%E0%A4%A/1.0/model.onnx', 'models/mobilenet_v2/%E0%A4%A/model.onnx']) {
      const res = await fetch(assets.pageUrl + p);
      assert.equal(res.status, 400, p);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/, p);
      assert.equal(await res.text(), 'Bad Request', p);
    }
  });
});

describe('runtime assets from a store behind links (a Kubernetes volume)', () => {
  // root/..2024_01_01/m/…, root/..data -> ..2024_01_01, root/m -> ..data/m
  const root = mkdtempSync(path.join(os.tmpdir(), 'model-store-links-'));
  const real = path.join(root, '..2024_01_01', 'm');
  let assets: RuntimeAssetServer;
  before(async () => {
    mkdirSync(path.join(real, '1.0'), { recursive: true });
    writeFileSync(path.join(real, 'config.json'), JSON.stringify({ input_name: 'input', output_name: 'output' }));
    writeFileSync(path.join(real, '1.0', 'model.onnx'), Buffer.from([0x08, 0x07, 0x12, 0x00]));
    symlinkSync('..2024_01_01', path.join(root, '..data'));
    symlinkSync(path.join('..data', 'm'), path.join(root, 'm'));
    assets = await startRuntimeAssets(await ModelStore.open(root));
  });
  after(async () => {
    await assets?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('serves the model file from its real path; once the file is gone, a bare 404', async () => {
    const url = `${assets.pageUrl}models/m/1.0/model.onnx`;
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), new Uint8Array([0x08, 0x07, 0x12, 0x00]));
    rmSync(path.join(real, '1.0', 'model.onnx'));
    const gone = await fetch(url);
    assert.equal(gone.status, 404);
    assert.equal(await gone.text(), 'Not Found');
  });
});
