// Token authorization, TorchServe-style, through the real HTTP listeners with a fake engine.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isLoopback, keyMatches } from '../../server/auth/auth.js';
import { parseArgs, resolveConfig } from '../../server/config/config.js';
import type { RunningServer } from '../../server/server.js';
import { FakeEngine } from '../support/fake-engine.js';
import { protectedRoutes, routeLeaks } from '../support/route-spellings.js';
import { readImage } from '../support/paths.js';
import { call, startTestServer } from '../support/server-harness.js';

const kitten = readImage('kitten.jpg');

describe('auth helpers', () => {
  it('tells loopback from other addresses', () => {
    for (const a of ['http://127.0.0.1:8080', 'http://localhost:1', 'http://[::1]:8080', 'http://127.5.5.5:1']) assert.equal(isLoopback(new URL(a)), true, a);
    for (const a of ['http://0.0.0.0:8080', 'http://[::]:8080', 'http://192.168.1.4:80', 'http://example.com']) assert.equal(isLoopback(new URL(a)), false, a);
  });
  it('compares keys exactly, whatever their lengths', () => {
    assert.equal(keyMatches('abc', 'abc'), true);
    assert.equal(keyMatches('abd', 'abc'), false);
    assert.equal(keyMatches('abc ', 'abc'), false);
    assert.equal(keyMatches('', 'abc'), false);
  });
  it('is on by default only off loopback; the switches turn it on or off', () => {
    assert.equal(resolveConfig({}).auth.tokenAuthorization, null);
    assert.equal(resolveConfig({ args: parseArgs(['--disable-token-auth']).values }).auth.tokenAuthorization, false);
    assert.equal(resolveConfig({ args: parseArgs(['--disable-token-auth', '--backend', 'wasm']).values }).auth.tokenAuthorization, false);
    assert.equal(resolveConfig({ file: { disable_token_authorization: 'true' } }).auth.tokenAuthorization, false);
    assert.equal(resolveConfig({ file: { enable_token_authorization: 'true' } }).auth.tokenAuthorization, true);
    assert.throws(() => resolveConfig({ file: { enable_token_authorization: 'yes' } }));
  });
});

describe('token authorization on a non-loopback bind', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'keys-'));
  const keyFile = path.join(dir, 'key_file.json');
  let server: RunningServer;
  let api: string;
  let management: string;

  before(async () => {
    // Bound to every interface; the requests below still go to 127.0.0.1 only.
    server = await startTestServer({ inference_address: 'http://0.0.0.0:0', management_address: 'http://0.0.0.0:0', key_file: keyFile }, new FakeEngine());
    api = server.inferenceUrl.replace('0.0.0.0', '127.0.0.1');
    management = server.managementUrl.replace('0.0.0.0', '127.0.0.1');
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes TorchServe's key_file.json, readable by its owner only", () => {
    const file = JSON.parse(readFileSync(keyFile, 'utf8'));
    assert.equal(file.inference.key, server.keys!.inference);
    assert.equal(file.management.key, server.keys!.management);
    assert.notEqual(file.inference.key, file.management.key);
    assert.equal(statSync(keyFile).mode & 0o077, 0);
  });

  it('refuses a missing or wrong key with 401 in TorchServe form, and takes the right one', async () => {
    const url = `${api}/predictions/mobilenet_v2`;
    for (const headers of [{} as Record<string, string>, { authorization: 'Bearer wrong' }, { authorization: server.keys!.inference }, { authorization: `Bearer ${server.keys!.management}` }]) {
      const r = await call(url, { method: 'POST', body: kitten, headers });
      assert.equal(r.status, 401, JSON.stringify(headers));
      assert.equal(r.body.type, 'InvalidKeyException');
      assert.equal(r.body.code, 401);
    }
    const ok = await call(url, { method: 'POST', body: kitten, headers: { authorization: `Bearer ${server.keys!.inference}` } });
    assert.equal(ok.status, 200);
  });

  it('leaves /ping open for health probes; guards the management API with its own key', async () => {
    assert.equal((await call(`${api}/ping`)).status, 200);
    assert.equal((await call(`${management}/models`)).status, 401);
    assert.equal((await call(`${management}/models`, { headers: { authorization: `Bearer ${server.keys!.inference}` } })).status, 401);
    assert.equal((await call(`${management}/models`, { headers: { authorization: `Bearer ${server.keys!.management}` } })).status, 200);
  });

  it('serves the demo page and its scripts without a key; its model list, model files and labels only with one', async () => {
    for (const p of ['/', '/demo/app.js', '/demo/style.css', '/browser-runtime/model-host.js', '/ort/ort.webgpu.min.mjs', '/demo/samples/kitten.jpg']) {
      const r = await fetch(`${api}${p}`);
      assert.equal(r.status, 200, p);
      await r.arrayBuffer();
    }
    for (const p of ['/demo/models', '/demo/models/mobilenet_v2/1.0/model.onnx', '/demo/models/mobilenet_v2/1.0/labels.json']) {
      const refused = await call(`${api}${p}`);
      assert.equal(refused.status, 401, p);
      assert.equal(refused.body.type, 'InvalidKeyException');
      const r = await fetch(`${api}${p}`, { headers: { authorization: `Bearer ${server.keys!.inference}` } });
      assert.equal(r.status, 200, p);
      await r.arrayBuffer();
    }
  });
});

describe('token authorization decided by the route that matched', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'keys-'));
  let server: RunningServer;
  let api: string;
  let management: string;
  let metrics: string;
  before(async () => {
    server = await startTestServer(
      { inference_address: 'http://0.0.0.0:0', management_address: 'http://0.0.0.0:0', metrics_address: 'http://0.0.0.0:0', key_file: path.join(dir, 'key_file.json') },
      new FakeEngine(),
    );
    [api, management, metrics] = [server.inferenceUrl, server.managementUrl, server.metricsUrl].map((u) => u.replace('0.0.0.0', '127.0.0.1')) as [string, string, string];
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('no spelling of a protected route (case, trailing slash, encoding, dot segments) gets past the key', async () => {
    const routes = protectedRoutes({ inference: api, management, metrics }, server.keys!);
    assert.deepEqual(await routeLeaks(routes, kitten), []);
  });

  it('the open routes answer their exact paths only', async () => {
    for (const p of ['/ping', '/v2/health/live', '/v2/health/ready', '/', '/api-description', '/demo/app.js', '/browser-runtime/model-host.js']) {
      const r = await fetch(`${api}${p}`);
      assert.equal(r.status, 200, p);
      await r.arrayBuffer();
    }
    for (const p of ['/PING', '/ping/', '/Demo/app.js', '/demo/app.js/', '/V2/health/live']) {
      assert.equal((await call(`${api}${p}`)).status, 401, p);
    }
  });
});

describe('token authorization on loopback', () => {
  it('is off by default', async () => {
    const server = await startTestServer({}, new FakeEngine());
    try {
      assert.equal(server.keys, null);
      assert.equal((await call(`${server.inferenceUrl}/predictions/mobilenet_v2`, { method: 'POST', body: kitten })).status, 200);
    } finally {
      await server.close();
    }
  });
});

describe('keys given in the settings', () => {
  it('are the keys every replica shares: taken as given, written to key_file, and too short a key stops the start', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'keys-'));
    const given = { inference: 'inference-key-from-a-secret', management: 'management-key-from-a-secret' };
    const server = await startTestServer(
      { enable_token_authorization: 'true', inference_key: given.inference, management_key: given.management, key_file: path.join(dir, 'key_file.json') },
      new FakeEngine(),
    );
    try {
      assert.deepEqual(server.keys, given);
      const written = JSON.parse(readFileSync(path.join(dir, 'key_file.json'), 'utf8'));
      assert.deepEqual([written.inference.key, written.management.key], [given.inference, given.management]);
      const predict = (key: string) => call(`${server.inferenceUrl}/predictions/mobilenet_v2`, { method: 'POST', body: kitten, headers: { authorization: `Bearer ${key}` } });
      assert.equal((await predict(given.inference)).status, 200);
      assert.equal((await predict(given.management)).status, 401);
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
    for (const bad of ['short', 'has a space in it, long enough']) {
      assert.throws(() => resolveConfig({ args: { inference_key: bad } }), /inference_key must be at least 16 characters with no spaces/);
    }
  });
});
