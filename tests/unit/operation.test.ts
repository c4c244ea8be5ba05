// Operating the server: --help, the bin entry, load_models, CORS.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { withoutPreloadedAllocator } from '../../server/ops/allocator.js';
import { ModelStoreError } from '../../server/store/model-store.js';
import { PROJECT_ROOT } from '../../server/ops/paths.js';
import { flagOf, SETTING_NAMED } from '../../server/config/settings.js';
import { FakeEngine } from '../support/fake-engine.js';
import { readImage } from '../support/paths.js';
import { call, startTestServer } from '../support/server-harness.js';

describe('operation', () => {
  it('--help lists every setting and exits 0', () => {
    const out = execFileSync(process.execPath, [path.join(PROJECT_ROOT, 'dist/server/main.js'), '--help'], { encoding: 'utf8' });
    for (const name of SETTING_NAMED.keys()) assert.match(out, new RegExp(`${flagOf(name)}\\b`), name);
  });

  it('package.json has a bin entry: an executable launcher that starts the server', () => {
    const pkg = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8'));
    const bin = path.join(PROJECT_ROOT, Object.values(pkg.bin as Record<string, string>)[0]!);
    assert.ok(statSync(bin).mode & 0o100, 'executable');
    assert.match(execFileSync(bin, ['--help'], { encoding: 'utf8' }), /usage: webgpu-inference-server/);
  });

  it('Chromium is started without the jemalloc preloaded into the gateway, and with any other preload', () => {
    assert.deepEqual(withoutPreloadedAllocator({ LD_PRELOAD: '/x/libfoo.so:/usr/lib/x86_64-linux-gnu/libjemalloc.so.2', PATH: '/bin' }), { LD_PRELOAD: '/x/libfoo.so', PATH: '/bin' });
    assert.deepEqual(withoutPreloadedAllocator({ LD_PRELOAD: '/usr/lib/libjemalloc.so.2' }), {});
    assert.deepEqual(withoutPreloadedAllocator({ PATH: '/bin' }), { PATH: '/bin' });
  });

  it('load_models picks models from the store, and an unknown name stops the start', async () => {
    const server = await startTestServer({ load_models: 'mobilenet_v2_int8' }, new FakeEngine());
    try {
      assert.equal((await call(`${server.inferenceUrl}/predictions/mobilenet_v2_int8`, { method: 'POST', body: readImage('kitten.jpg') })).status, 200);
      assert.equal((await call(`${server.inferenceUrl}/predictions/mobilenet_v2`, { method: 'POST', body: readImage('kitten.jpg') })).status, 404);
    } finally {
      await server.close();
    }
    await assert.rejects(startTestServer({ models: 'resnet-18' }, new FakeEngine()), (e: unknown) => e instanceof ModelStoreError && /resnet-18/.test(e.message));
  });

  it('CORS is off by default and answers preflights when an origin is configured', async () => {
    const plain = await startTestServer({}, new FakeEngine());
    try {
      const r = await fetch(`${plain.inferenceUrl}/ping`, { headers: { origin: 'http://app.example' } });
      assert.equal(r.headers.get('access-control-allow-origin'), null);
    } finally {
      await plain.close();
    }
    const server = await startTestServer({ cors_allowed_origin: 'http://app.example', cors_allowed_methods: 'POST, PUT' }, new FakeEngine());
    try {
      const pre = await fetch(`${server.inferenceUrl}/predictions/mobilenet_v2`, {
        method: 'OPTIONS',
        headers: { origin: 'http://app.example', 'access-control-request-method': 'POST' },
      });
      assert.equal(pre.status, 204);
      assert.equal(pre.headers.get('access-control-allow-origin'), 'http://app.example');
      assert.equal(pre.headers.get('access-control-allow-methods'), 'POST, PUT');
      const other = await fetch(`${server.inferenceUrl}/ping`, { headers: { origin: 'http://evil.example' } });
      assert.equal(other.headers.get('access-control-allow-origin'), null);
      const desc = await call(`${server.inferenceUrl}/`, { method: 'OPTIONS' });
      assert.equal(desc.body.openapi, '3.0.1', 'OPTIONS / without a preflight is still the API description');
    } finally {
      await server.close();
    }
  });
});
