// The listeners over TLS, as TorchServe serves them: an https:// address with a PEM key and
// certificate. The real server and Chromium on WASM; the client trusts only the test's own
// self-signed certificate, with verification on. And the start refused, in one line, without them.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import path from 'node:path';
import { PROJECT_ROOT } from '../../server/ops/paths.js';
import type { RunningServer } from '../../server/server.js';
import { image, readImage } from '../support/paths.js';
import { postImage, startTestServer } from '../support/server-harness.js';
import { tempStore } from '../support/temp-store.js';
import { selfSignedCertificate } from '../support/tls.js';

const kitten = readImage('kitten.jpg');

/** One HTTPS request that trusts `ca` alone (undefined: the system's certificates). */
function httpsCall(url: string, ca: Buffer | undefined, method = 'GET', body?: Uint8Array): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, ca, headers: body ? { 'content-type': 'application/octet-stream', 'content-length': body.length } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('HTTPS listeners', () => {
  const made = selfSignedCertificate();
  const ca = readFileSync(made.cert);
  // One image a run: batches are not under test here, and warm-up then runs no larger batch.
  const store = tempStore([{ name: 'mobilenet_v2', from: 'mobilenet_v2', config: { batch_size: 1 } }]);
  let server: RunningServer;

  before(async () => {
    server = await startTestServer({
      model_store: store.root,
      backend: 'wasm',
      wasm_threads: '1',
      load_models: 'mobilenet_v2',
      inference_address: 'https://127.0.0.1:0',
      management_address: 'https://127.0.0.1:0',
      private_key_file: made.key,
      certificate_file: made.cert,
    });
  });
  after(async () => {
    await server?.close();
    made.remove();
    store.remove();
  });

  it('says https for the listeners that serve it, and http for the one that does not', () => {
    assert.match(server.inferenceUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(server.managementUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(server.metricsUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('gives a plain-HTTP request to the https port no prediction', async () => {
    const plain = server.inferenceUrl.replace(/^https:/, 'http:');
    const got = await postImage(`${plain}/predictions/mobilenet_v2`, kitten).then(
      (answer) => answer,
      (e: Error) => e,
    );
    if (!(got instanceof Error)) assert.notEqual(got.status, 200, `a plain-HTTP request was answered ${JSON.stringify(got.body)}`);
  });

  it('classifies the kitten over HTTPS for a client that trusts only the test certificate', async () => {
    const res = await httpsCall(`${server.inferenceUrl}/predictions/mobilenet_v2`, ca, 'POST', kitten);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body[0].class, 'n02123045 tabby, tabby cat');
  });

  it('serves the Management API over HTTPS', async () => {
    const res = await httpsCall(`${server.managementUrl}/models`, ca);
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.body.models.map((m: { modelName: string }) => m.modelName),
      ['mobilenet_v2'],
    );
  });

  it('is refused by a client that does not trust the certificate', async () => {
    await assert.rejects(httpsCall(`${server.inferenceUrl}/ping`, undefined), (e: NodeJS.ErrnoException) => /SELF_SIGNED/.test(e.code ?? ''));
  });
});

describe('HTTPS settings that stop the start', () => {
  const made = selfSignedCertificate();
  after(() => made.remove());

  /** `node dist/server/main.js` with these flags: its exit code and what it wrote to stderr. */
  async function start(args: string[]): Promise<{ code: number; err: string }> {
    const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist/server/main.js'), '--backend', 'wasm', ...args]);
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d));
    const [code] = await once(child, 'exit');
    return { code, err };
  }

  for (const [why, args, says] of [
    [
      'an https address without the PEM files',
      ['--inference-address', 'https://127.0.0.1:0'],
      /^error: inference_address https:\/\/127\.0\.0\.1:0 needs private_key_file and certificate_file \(PEM files\); not set: private_key_file, certificate_file$/,
    ],
    [
      'a key file that cannot be read',
      ['--management-address', 'https://127.0.0.1:0', '--private-key-file', '/nonexistent/key.pem', '--certificate-file', made.cert],
      /^error: private_key_file "\/nonexistent\/key\.pem" cannot be read: ENOENT: no such file or directory$/,
    ],
    [
      'a certificate file that is not PEM',
      ['--metrics-address', 'https://127.0.0.1:0', '--private-key-file', made.key, '--certificate-file', image('kitten.jpg')],
      /^error: certificate_file ".*kitten\.jpg" is not a PEM certificate/,
    ],
  ] as const) {
    it(`${why}: one line that says what to fix, exit 1`, async () => {
      const { code, err } = await start([...args]);
      assert.equal(code, 1);
      assert.equal(err.trim().split('\n').length, 1, err);
      assert.match(err.trim(), says);
    });
  }
});
