// Files the server must not serve or trust, through the real server and Chromium: model parts
// that link outside the store, and a key file left readable by others or planted as a link.

import { after, before, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { log } from '../../server/ops/log.js';
import { PROJECT_ROOT } from '../../server/ops/paths.js';
import type { RunningServer } from '../../server/server.js';
import { MODELS, readImage } from '../support/paths.js';
import { call, postImage, startTestServer } from '../support/server-harness.js';
import { tempStore } from '../support/temp-store.js';
import { ANY_PORTS } from '../support/spawned-server.js';

const kitten = readImage('kitten.jpg');
const TABBY = 'n02123045 tabby, tabby cat';

describe('untrusted files against the real server', () => {
  // A good model, one whose labels link to /etc/passwd, one whose model.onnx links out of the store.
  const store = tempStore([
    { name: 'mobilenet_v2', from: 'mobilenet_v2', config: { batch_size: 1 } },
    { name: 'evil_link', from: 'mobilenet_v2_int8' },
    { name: 'evil_onnx', from: 'mobilenet_v2_int8' },
  ]);
  const labels = path.join(store.root, 'evil_link', 'labels.txt');
  rmSync(labels);
  symlinkSync('/etc/passwd', labels);
  const onnx = path.join(store.root, 'evil_onnx', '1.0', 'model.onnx');
  rmSync(onnx);
  symlinkSync(path.join(MODELS, 'mobilenet_v2_int8', '1.0', 'model.onnx'), onnx);

  const keyDir = mkdtempSync(path.join(os.tmpdir(), 'keys-'));
  const keyFile = path.join(keyDir, 'key_file.json');
  writeFileSync(keyFile, '{"inference": {"key": "an old key"}}\n');
  chmodSync(keyFile, 0o644);

  let server: RunningServer;
  let warnings: string[];
  let headers: { inference: Record<string, string>; management: Record<string, string> };

  before(async () => {
    const warn = mock.method(log, 'warn');
    try {
      server = await startTestServer({ model_store: store.root, backend: 'wasm', wasm_threads: '1', enable_token_authorization: 'true', key_file: keyFile });
    } finally {
      warnings = warn.mock.calls.map((c) => String(c.arguments[0]));
      warn.mock.restore();
    }
    const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
    headers = { inference: bearer(server.keys!.inference), management: bearer(server.keys!.management) };
  });
  after(async () => {
    await server?.close();
    store.remove();
    rmSync(keyDir, { recursive: true, force: true });
  });

  it('starts without the models that link outside the store, saying which part and where to', () => {
    assert.ok(
      warnings.some((l) => /evil_link skipped: evil_link\/labels\.txt leads outside the model store .*\/etc\/passwd/.test(l)),
      JSON.stringify(warnings),
    );
    assert.ok(
      warnings.some((l) => /evil_onnx version 1\.0 skipped: evil_onnx\/1\.0\/model\.onnx leads outside/.test(l)),
      JSON.stringify(warnings),
    );
  });

  it('lists only the good model, on the demo page and the Management API', async () => {
    const demo = await call(`${server.inferenceUrl}/demo/models`, { headers: headers.inference });
    assert.equal(demo.status, 200);
    assert.deepEqual(
      demo.body.models.map((m: { modelName: string }) => m.modelName),
      ['mobilenet_v2'],
    );
    const models = await call(`${server.managementUrl}/models`, { headers: headers.management });
    assert.deepEqual(
      models.body.models.map((m: { modelName: string }) => m.modelName),
      ['mobilenet_v2'],
    );
  });

  it('serves nothing of them: 404, and no line of /etc/passwd', async () => {
    for (const p of ['/demo/models/evil_link/1.0/labels.json', '/demo/models/evil_link/1.0/model.onnx', '/demo/models/evil_onnx/1.0/model.onnx']) {
      const r = await call(`${server.inferenceUrl}${p}`, { headers: headers.inference });
      assert.equal(r.status, 404, p);
      assert.equal(r.body.type, 'ResourceNotFoundException', p);
      assert.ok(!JSON.stringify(r.body).includes('root:'), p);
    }
    const predict = await postImage(`${server.inferenceUrl}/predictions/evil_link`, kitten, 'POST');
    assert.equal(predict.status, 401, 'the key is still needed');
    const r = await call(`${server.inferenceUrl}/predictions/evil_link`, { method: 'POST', body: kitten, headers: headers.inference });
    assert.equal(r.body.type, 'ModelNotFoundException');
  });

  it('refuses to register them through the Management API: 400, naming the part and no path', async () => {
    for (const [name, part] of [
      ['evil_link', 'evil_link/labels.txt'],
      ['evil_onnx', 'evil_onnx/1.0/model.onnx'],
    ] as const) {
      const r = await call(`${server.managementUrl}/models?url=${name}&synchronous=true`, { method: 'POST', headers: headers.management });
      assert.equal(r.status, 400, name);
      assert.equal(r.body.type, 'BadRequestException');
      assert.equal(r.body.message, `${name} cannot be registered: ${part} leads outside the model store`);
    }
  });

  it('the good model still classifies the kitten', async () => {
    const r = await call(`${server.inferenceUrl}/predictions/mobilenet_v2?topk=1`, { method: 'POST', body: kitten, headers: headers.inference });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body[0].class, TABBY);
  });

  it('a model file gone after start: 404 and a fixed message, never the path the file system named', async () => {
    const file = path.join(store.root, 'mobilenet_v2', '1.0', 'model.onnx');
    rmSync(file);
    const r = await call(`${server.inferenceUrl}/demo/models/mobilenet_v2/1.0/model.onnx`, { headers: headers.inference });
    assert.equal(r.status, 404);
    assert.deepEqual(r.body, { code: 404, type: 'ResourceNotFoundException', message: 'Requested resource is not found, please refer to API document.' });
    assert.ok(!JSON.stringify(r.body).includes(store.root) && !JSON.stringify(r.body).includes('model.onnx'), JSON.stringify(r.body));
    const still = await call(`${server.inferenceUrl}/predictions/mobilenet_v2?topk=1`, { method: 'POST', body: kitten, headers: headers.inference });
    assert.equal(still.body[0].class, TABBY, 'the loaded model serves on');
  });

  it('replaced the old key file, mode 644, by one of mode 600 holding the keys, and said so', () => {
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    const keys = JSON.parse(readFileSync(keyFile, 'utf8'));
    assert.equal(keys.inference.key, server.keys!.inference);
    assert.equal(keys.management.key, server.keys!.management);
    assert.ok(
      warnings.some((l) => l.includes(`key_file ${keyFile} had mode 644; replaced by one readable by its owner only (600)`)),
      JSON.stringify(warnings),
    );
  });
});

describe('a key file planted as a symbolic link', () => {
  it('stops the server at start with one plain line naming it; what it points at is untouched', () => {
    const store = tempStore([{ name: 'mobilenet_v2', from: 'mobilenet_v2_int8' }]);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'keys-'));
    const target = path.join(dir, 'somewhere-else');
    writeFileSync(target, 'untouched\n');
    const link = path.join(dir, 'key_file.json');
    symlinkSync(target, link);
    try {
      const run = spawnSync(
        process.execPath,
        [path.join(PROJECT_ROOT, 'dist/server/main.js'), '--model-store', store.root, '--backend', 'wasm', '--enable-token-authorization', 'true', '--key-file', link, ...ANY_PORTS],
        // A bound on a hang: it stops before Chromium starts.
        { encoding: 'utf8', timeout: 180_000 },
      );
      assert.equal(run.status, 1, run.stdout + run.stderr);
      assert.equal(run.stderr, `error: key_file ${link} is a symbolic link; the API keys are not written through it (point key_file at a regular file)\n`);
      assert.equal(readFileSync(target, 'utf8'), 'untouched\n');
      assert.ok(lstatSync(link).isSymbolicLink());
    } finally {
      store.remove();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
