// Uploads that stall, against the real server and Chromium: one client's stalled bodies are held
// to its own bound while another client (a second loopback address) is served and readiness
// stays true; a body that stops arriving is answered 408, its connection closed and its bytes
// given back. Small settings; every wait is for an event or a state, with generous bounds.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningServer } from '../../server/server.js';
import { readImage } from '../support/paths.js';
import { connect, head, type RawAnswer, type RawConnection } from '../support/raw-http.js';
import { call, postImage, startTestServer } from '../support/server-harness.js';
import { tempStore } from '../support/temp-store.js';

const kitten = readImage('kitten.jpg');
const TABBY = 'n02123045 tabby, tabby cat';
const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(done: () => boolean | Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await done())) {
    assert.ok(Date.now() < end, `timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** A kitten sent as the raw body of /predictions, over a connection of its own from `from`. */
async function kittenFrom(api: string, from: string): Promise<RawAnswer> {
  const c = await connect(api, from);
  c.write(head('POST', '/predictions/mobilenet_v2?topk=1', { 'Content-Length': kitten.length, 'Content-Type': 'image/jpeg' }));
  c.write(kitten);
  const answer = await c.answer;
  c.socket.destroy();
  return answer;
}

const ROUTES = ['/predictions/mobilenet_v2', '/v2/models/mobilenet_v2/infer', '/v1/models/mobilenet_v2:predict'] as const;
/** /predictions answers in TorchServe's shape, /v1 and /v2 in KServe's. */
const errorOf = (path: string, body: string): { status?: number; type?: string; message: string } => {
  const parsed = JSON.parse(body);
  return path.startsWith('/predictions') ? { status: parsed.code, type: parsed.type, message: parsed.message } : { message: parsed.error };
};

describe("one client's stalled uploads are held to its own bound", () => {
  // Batches are not under test here: one image a run, so that warm-up runs no larger batch.
  const store = tempStore([{ name: 'mobilenet_v2', from: 'mobilenet_v2', config: { batch_size: 1 } }]);
  let server: RunningServer;
  let api: string;

  before(async () => {
    server = await startTestServer({
      model_store: store.root,
      backend: 'wasm',
      wasm_threads: '1',
      max_request_size: String(MiB),
      max_inflight_bytes: String(16 * MiB),
      max_client_upload_bytes: String(4 * MiB),
      min_upload_rate: '0',
    });
    api = server.inferenceUrl;
  });
  after(async () => {
    await server?.close();
    store.remove();
  });

  it('12 uploads from 127.0.0.1 that stall one byte short: at most 4 MiB of them held, the rest 429; 127.0.0.2 is served and /ping stays 200', { timeout: 120_000 }, async () => {
    const body = Buffer.alloc(MiB - 1, 'x');
    const stalled: Array<{ path: string; c: RawConnection; answer: RawAnswer | null }> = [];
    for (let i = 0; i < 12; i++) {
      const path = ROUTES[i % ROUTES.length]!;
      const c = await connect(api, '127.0.0.1');
      const entry = { path, c, answer: null as RawAnswer | null };
      c.answer.then((a) => (entry.answer = a)).catch(() => undefined);
      c.write(Buffer.concat([Buffer.from(head('POST', path, { 'Content-Length': MiB, 'Content-Type': 'application/octet-stream' })), body]));
      stalled.push(entry);
    }
    // Settled: every upload is either answered or wholly in and waiting for its last byte.
    const held = () => server.uploads.bytesArrivingFrom('127.0.0.1');
    await until(() => held() === stalled.filter((s) => !s.answer).length * (MiB - 1), 'every stalled upload to be refused or wholly read');
    const refused = stalled.filter((s) => s.answer);
    const waiting = stalled.length - refused.length;
    assert.ok(waiting >= 1 && waiting <= 4, `${waiting} uploads held: 4 MiB holds four bodies of 1 MiB less a byte`);
    assert.ok(held() <= 4 * MiB);
    for (const { path, answer } of refused) {
      assert.equal(answer!.status, 429, `${path}: ${answer!.body}`);
      assert.equal(answer!.headers['retry-after'], '1');
      assert.equal(answer!.headers['connection'], 'close');
      const error = errorOf(path, answer!.body);
      assert.match(error.message, /max_client_upload_bytes 4194304/);
      if (path.startsWith('/predictions')) assert.deepEqual([error.status, error.type], [429, 'TooManyRequestsException']);
    }
    await Promise.all(refused.map((s) => s.c.closed));

    // That client's next body is refused before it is read; another client is not affected.
    const same = await kittenFrom(api, '127.0.0.1');
    assert.equal(same.status, 429, same.body);
    const other = await kittenFrom(api, '127.0.0.2');
    assert.equal(other.status, 200, other.body);
    assert.equal(JSON.parse(other.body)[0].class, TABBY);
    assert.equal((await call(`${api}/ping`)).status, 200, 'ready: bodies still arriving do not take the replica out of rotation');
    assert.equal((await call(`${api}/v2/health/ready`)).status, 200);

    // Gone, the stalled uploads give their bytes back, and the client is served again.
    for (const s of stalled) s.c.socket.destroy();
    await until(() => server.uploads.bytesArriving === 0 && server.admission.bytesHeld === 0, 'the bytes to return to the budget');
    const again = await kittenFrom(api, '127.0.0.1');
    assert.equal(again.status, 200, again.body);
  });
});

describe('a body that stops arriving is answered 408', () => {
  // Batches are not under test here: one image a run, so that warm-up runs no larger batch.
  const store = tempStore([{ name: 'mobilenet_v2', from: 'mobilenet_v2', config: { batch_size: 1 } }]);
  let server: RunningServer;
  let api: string;

  before(async () => {
    server = await startTestServer({ model_store: store.root, backend: 'wasm', wasm_threads: '1', max_request_size: String(MiB), min_upload_rate: '1000', upload_rate_window: '1' });
    api = server.inferenceUrl;
  });
  after(async () => {
    await server?.close();
    store.remove();
  });

  const cases = [
    ...ROUTES.map((path) => ({ path, type: 'application/octet-stream', prefix: '' })),
    { path: '/predictions/mobilenet_v2', type: 'multipart/form-data; boundary=B', prefix: '--B\r\nContent-Disposition: form-data; name="data"; filename="k.jpg"\r\n\r\n' },
  ];
  for (const { path, type, prefix } of cases) {
    it(`${path} (${type.split(';')[0]}): moving, it is read; stalled, 408, the connection closed and its bytes given back at once`, { timeout: 120_000 }, async () => {
      const c = await connect(api, '127.0.0.1');
      c.write(head('POST', path, { 'Content-Length': MiB, 'Content-Type': type }) + prefix);
      const chunk = Buffer.alloc(16 * 1024, 'x');
      // Well above the minimum pace until the server holds some of it: a body still moving is not cut.
      for (let sent = 0; server.uploads.bytesArrivingFrom('127.0.0.1') === 0; sent++) {
        assert.ok(sent < 40, 'the server read none of the body');
        c.write(chunk);
        await sleep(50);
      }
      assert.ok(server.admission.bytesHeld > 0, 'the bytes read are held against the budget');
      // Then nothing more: the next window falls short.
      const answer = await c.answer;
      assert.equal(server.uploads.bytesArriving, 0, 'given back before the answer was written');
      assert.equal(server.admission.bytesHeld, 0);
      assert.equal(answer.status, 408, answer.body);
      assert.equal(answer.headers['connection'], 'close');
      const error = errorOf(path, answer.body);
      assert.match(error.message, /fewer than 1000 bytes per second over 1 s \(min_upload_rate, upload_rate_window\)/);
      if (path.startsWith('/predictions')) assert.deepEqual([error.status, error.type], [408, 'RequestTimeoutException']);
      await c.closed;
    });
  }

  it('the server serves on', async () => {
    assert.equal((await call(`${api}/ping`)).status, 200);
    const r = await postImage(`${api}/predictions/mobilenet_v2?topk=1`, kitten);
    assert.equal(r.body[0].class, TABBY);
  });
});
