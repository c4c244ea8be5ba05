// Hostile requests against the real server, sharp and Chromium: each attack that once took the
// server down, stalled it or got past a key, replayed. After each, the server still answers
// the kitten correctly.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deeplyNestedV2Request, jpegScanBomb, jpegWithFakeEnd, multipart, multipartCuts, v2BinaryRequest } from '../../scripts/hostile/inputs.js';
import { PROJECT_ROOT } from '../../server/ops/paths.js';
import type { RunningServer } from '../../server/server.js';
import { readImage } from '../support/paths.js';
import { connect, head } from '../support/raw-http.js';
import { spawnServer, ANY_GRPC_PORTS, type SpawnedServer } from '../support/spawned-server.js';
import { protectedRoutes, routeLeaks } from '../support/route-spellings.js';
import { freezePage, type FrozenPage } from '../support/frozen-page.js';
import { call, postImage, startTestServer, type Answer, servesKitten } from '../support/server-harness.js';
import { tempStore } from '../support/temp-store.js';
import { HANG_LIMIT_MS, until } from '../support/until.js';

const kitten = readImage('kitten.jpg');
const TABBY = 'n02123045 tabby, tabby cat';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends `count` at once and resolves, with all their answers, after letting the held page go once one was refused. */
async function floodHeldPage(page: FrozenPage, count: number, send: () => Promise<Answer>, refused = (a: Answer) => a.status === 503): Promise<Answer[]> {
  let answers: Array<Promise<Answer>> = [];
  try {
    let refusedWhileHeld = 0;
    answers = Array.from({ length: count }, () =>
      send().then((a) => {
        if (refused(a)) refusedWhileHeld++;
        return a;
      }),
    );
    await until('a request refused while the page is held', () => refusedWhileHeld > 0);
  } finally {
    page.thaw();
  }
  return Promise.all(answers);
}

async function timed<T>(work: Promise<T>): Promise<T & { ms: number }> {
  const t0 = performance.now();
  const r = await work;
  return { ...r, ms: performance.now() - t0 };
}

describe('hostile input against the real server', () => {
  const store = tempStore([
    // Batches are not under test here: one image a run, so that warm-up runs no larger batch.
    { name: 'mobilenet_v2', from: 'mobilenet_v2', config: { batch_size: 1 } },
    // A model with a deadline of its own, a small part of what one slow decode takes. Its requests
    // never get past decoding: the null model, which loads at a fraction of MobileNet's cost.
    { name: 'strict', from: 'null_model', config: { batch_size: 1, response_timeout: 0.5 } },
    // The target of the queue flood, whose answers are not under test: the null model, so that
    // the hundred tensors it lets in cost no hundred MobileNet runs.
    { name: 'queued', from: 'null_model', config: { batch_size: 4 } },
  ]);
  let server: RunningServer;
  let api: string;
  const stillServing = () => servesKitten(api);

  before(async () => {
    server = await startTestServer({ model_store: store.root, backend: 'wasm', wasm_threads: '1', max_jpeg_scans: '1000' });
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

  it('JPEG scan bombs: refused before decoding past max_jpeg_scans; within it, they never hold up an ordinary photo', async () => {
    // 100,000 identical scans over 6000x6000: about 500 s of decoding, refused from its markers.
    const bomb = jpegScanBomb(6000, 6000, 100_000);
    const refused = await Promise.all(Array.from({ length: 4 }, () => timed(postImage(`${api}/predictions/mobilenet_v2`, bomb))));
    for (const r of refused) {
      assert.equal(r.status, 400);
      assert.match(r.body.message, /more than 1000 scans \(max_jpeg_scans\)/);
      // A bound far below the decode it would be, far above anything a slow machine takes to refuse.
      assert.ok(r.ms < 60_000, `answered in ${r.ms.toFixed(0)} ms`);
    }
    // 900 scans: allowed, seconds of decoding each, and a decode cannot be stopped once begun.
    // One sent with the default deadline answers only once its decode is over: the yardstick for
    // the others, whose model answers at its deadline, a small part of one such decode.
    const slow = jpegScanBomb(6000, 6000, 900);
    const order: string[] = [];
    const settled = <T>(name: string, p: Promise<T>) => p.finally(() => order.push(name));
    const whole = settled('whole decode', postImage(`${api}/predictions/mobilenet_v2?topk=1`, slow));
    const heavy = Array.from({ length: 3 }, () => settled('strict', postImage(`${api}/predictions/strict`, slow)));
    // Once one is answered at its deadline, the heavy decodes are under way: a kitten now.
    await Promise.race(heavy);
    const cat = await postImage(`${api}/predictions/mobilenet_v2?topk=1`, kitten);
    assert.equal(cat.body[0].class, TABBY);
    assert.ok(!order.includes('whole decode'), 'the kitten was answered beside the heavy decodes, not after them');
    assert.equal((await call(`${api}/ping`)).status, 200, 'ready: the heavy lane leaves a slot for ordinary images');
    for (const r of await Promise.all(heavy)) {
      assert.equal(r.status, 504, JSON.stringify(r.body));
      assert.match(r.body.message, /response_timeout in strict's config\.json/);
    }
    assert.equal((await whole).status, 200);
    assert.deepEqual(order, ['strict', 'strict', 'strict', 'whole decode'], "each of strict's requests answered at its deadline, before one whole decode was over");
    await stillServing();
  });

  it('a JPEG cut short and given a fake end marker is refused, not classified on grey', async () => {
    const r = await postImage(`${api}/predictions/mobilenet_v2`, jpegWithFakeEnd(kitten));
    assert.equal(r.status, 400);
    assert.match(r.body.message, /could not be decoded.*premature end/i);
  });

  it('KServe v2: malformed requests are 400 {"error"}, never 500', async () => {
    const post = (body: string) => call(`${api}/v2/models/mobilenet_v2/infer`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    const cases: Array<[string, RegExp]> = [
      ['{"inputs":[null]}', /inputs\[0\] must be an object/],
      ['{"inputs":[{"name":"input","shape":[1,3,224,224],"datatype":"FP32","data":[1]}],"outputs":"x"}', /"outputs" must be an array/],
      ['{"inputs":[{"name":"input","shape":"x","datatype":"FP32"}]}', /shape/],
      ['{"inputs":[{"name":"input","shape":[1000000000,3,224,224],"datatype":"FP32","data":[1]}]}', /more than the request carries/],
      ['[]', /JSON object/],
      ['null', /JSON object/],
      [deeplyNestedV2Request(100_000), /nests deeper than/],
    ];
    for (const [body, message] of cases) {
      const r = await timed(post(body));
      assert.equal(r.status, 400, `${body.slice(0, 80)}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.error, message);
      // A bound on a stall, not a measure of speed: the refusal needs no work worth timing.
      assert.ok(r.ms < 30_000, `answered in ${r.ms.toFixed(0)} ms`);
    }
    await stillServing();
  });

  it("KServe v2 goes through the model's queue: a flood past job_queue_size gets 503 with Retry-After at once", async () => {
    const { body, headers } = v2BinaryRequest([1, 3, 224, 224]);
    // The page held still, so the queue fills however fast the machine runs the model.
    const page = await freezePage(server.managementUrl, 'queued');
    const answers = await floodHeldPage(page, 150, () => call(`${api}/v2/models/queued/infer`, { method: 'POST', body: body as Uint8Array<ArrayBuffer>, headers }));
    const byStatus = new Map<number, number>();
    for (const a of answers) byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
    assert.deepEqual([...byStatus.keys()].sort(), [200, 503], JSON.stringify(Object.fromEntries(byStatus)));
    assert.ok(byStatus.get(503)! > 0 && byStatus.get(200)! >= 100, JSON.stringify(Object.fromEntries(byStatus)));
    const refused = answers.find((a) => a.status === 503)!;
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.match(refused.body.error, /job_queue_size 100/);
    await stillServing();
  });
});

describe('tight limits against the real server', () => {
  const store = tempStore([{ name: 'mobilenet_v2', from: 'mobilenet_v2', config: { batch_size: 1 } }]);
  const MiB = 1024 * 1024;
  let server: RunningServer;
  let api: string;

  before(async () => {
    server = await startTestServer({
      model_store: store.root,
      backend: 'wasm',
      wasm_threads: '1',
      max_inflight_bytes: String(16 * MiB),
      job_queue_size: '4',
      max_connections: '40',
      max_request_size: String(6 * MiB),
      // The budget itself is under test here: one client may hold all of it, at any pace.
      max_client_upload_bytes: '0',
      min_upload_rate: '0',
    });
    api = server.inferenceUrl;
  });
  after(async () => {
    await server?.close();
    store.remove();
  });

  const classify = async () => (await postImage(`${api}/predictions/mobilenet_v2?topk=1`, kitten)).body[0].class;

  it('past the byte budget a request is refused before its body is read; bodies still arriving do not make the server unready', async () => {
    // Two uploads that send all but the last bytes of 6 MiB and stall: 12 MiB of 16 held.
    const stalled = await Promise.all(Array.from({ length: 2 }, () => connect(api)));
    for (const c of stalled) c.write(head('POST', '/predictions/mobilenet_v2', { 'Content-Length': 6 * MiB }) + 'x'.repeat(6 * MiB - 10));
    await until('both stalled bodies held', () => server.uploads.bytesArriving === 2 * (6 * MiB - 10));
    const third = await connect(api);
    third.write(head('POST', '/predictions/mobilenet_v2', { 'Content-Length': 6 * MiB })); // no body at all
    const refused = await third.answer;
    assert.equal(refused.status, 503);
    assert.equal(refused.headers['retry-after'], '1');
    assert.equal(refused.headers['connection'], 'close');
    assert.match(refused.body, /max_inflight_bytes/);
    // Clients set the pace of their uploads: readiness counts only work taken in, so stalled
    // uploads cannot take the replica out of a balancer's rotation.
    assert.equal((await call(`${api}/v2/health/ready`)).status, 200);
    assert.equal((await call(`${api}/ping`)).status, 200);
    assert.equal(await classify(), TABBY, 'a small request still fits');
    for (const c of stalled) c.socket.destroy();
    await until('their bytes given back', () => server.admission.bytesHeld === 0);
  });

  it('a model with job_queue_size requests in progress refuses more with 503, before decoding them', async () => {
    // The page held still: the requests taken stay in progress while the rest come.
    const page = await freezePage(server.managementUrl, 'mobilenet_v2');
    const answers = await floodHeldPage(page, 30, () => postImage(`${api}/predictions/mobilenet_v2?topk=1`, kitten));
    const refused = answers.filter((a) => a.status === 503);
    assert.ok(refused.length > 0 && refused.every((a) => /job_queue_size 4/.test(a.body.message) && a.headers.get('retry-after') === '1'));
    assert.ok(answers.every((a) => a.status === 503 || a.body[0].class === TABBY));
  });

  it('KServe v2 tensors are held against the same byte budget: a flood of 5 MB tensors is let in a few at a time', async () => {
    const { body, headers } = v2BinaryRequest([8, 3, 224, 224]);
    // The page held still: a tensor let in holds its bytes while the rest come.
    const page = await freezePage(server.managementUrl, 'mobilenet_v2');
    let settled = 0;
    let flood: Array<Promise<Answer>> = [];
    try {
      flood = Array.from({ length: 10 }, () => call(`${api}/v2/models/mobilenet_v2/infer`, { method: 'POST', body: body as Uint8Array<ArrayBuffer>, headers }).finally(() => settled++));
      await until('six refused while the page is held (nothing else can end meanwhile)', () => settled >= 6);
    } finally {
      page.thaw();
    }
    const answers = await Promise.all(flood);
    const statuses = answers.map((a) => a.status);
    assert.ok(
      statuses.every((s) => s === 200 || s === 503),
      statuses.join(','),
    );
    assert.ok(statuses.filter((s) => s === 503).length >= 6, `16 MiB holds one 5 MB tensor and its copy at a time: ${statuses.join(',')}`);
    assert.ok(statuses.includes(200));
    assert.equal(answers.find((a) => a.status === 200)!.body.outputs[0].shape.join(','), '8,1000');
    assert.equal(await classify(), TABBY);
  });

  it('an endless upload refused before its end (413 past max_request_size, 400 for a form without a boundary) is answered and its connection closed: the rest is not read', async () => {
    for (const [headers, status] of [
      [{ 'Transfer-Encoding': 'chunked' }, 413],
      [{ 'Transfer-Encoding': 'chunked', 'Content-Type': 'multipart/form-data' }, 400],
    ] as const) {
      const c = await connect(api);
      c.write(head('POST', '/predictions/mobilenet_v2', headers));
      const chunk = Buffer.alloc(64 * 1024, 1);
      const frame = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
      let open = true;
      void c.closed.then(() => (open = false));
      // Bounded by the bytes a server that reads on would take; the time bound only stops a hang.
      const t0 = performance.now();
      while (open && c.written() < 64 * MiB && performance.now() - t0 < HANG_LIMIT_MS) {
        if (!c.write(frame)) await Promise.race([new Promise((r) => c.socket.once('drain', r)), c.closed, sleep(100)]);
      }
      const answer = await c.answer;
      assert.equal(answer.status, status);
      assert.equal(answer.headers['connection'], 'close');
      assert.equal(open, false, 'the server closed the connection');
      assert.ok(c.written() < 64 * MiB, `${(c.written() / MiB).toFixed(0)} MiB sent before the server closed it`);
    }
    assert.equal(await classify(), TABBY);
  });

  it('past max_connections new connections are closed at once; the server serves again when they go', async () => {
    // 45 against a bound of 40. Keep-alive connections of earlier requests may still hold places
    // (more are dropped) or time out meanwhile: at least 5 are closed either way. Closed as they
    // come, they get no byte; one that timed out waiting for its request would get a 408.
    const conns = await Promise.all(Array.from({ length: 45 }, () => connect(api)));
    const unanswered = conns.map(() => false);
    conns.forEach((c, i) => c.answer.catch((e: Error) => (unanswered[i] = /\(0 bytes in\)/.test(e.message))));
    await until('5 connections closed as they came', () => unanswered.filter(Boolean).length >= 5);
    const dropped = conns.filter((_, i) => unanswered[i]);
    dropped[0]!.write(head('GET', '/ping', {}));
    await assert.rejects(dropped[0]!.answer, /closed without a full answer/);
    for (const c of conns) c.socket.destroy();
    // The server sees them go when it does: until then a new connection may be dropped too.
    await until('serving again once they have gone', () =>
      call(`${api}/ping`).then(
        (r) => r.status === 200,
        () => false,
      ),
    );
    assert.equal(await classify(), TABBY);
  });
});

describe('token authorization and the last line of defence, in a server process of its own', () => {
  // One process serves both: the key test first, then the fault, which the server must outlive.
  const store = tempStore([{ name: 'mobilenet_v2', from: 'mobilenet_v2', config: { batch_size: 1 } }]);
  const keys = mkdtempSync(path.join(os.tmpdir(), 'keys-'));
  const keyFile = path.join(keys, 'key_file.json');
  let server: SpawnedServer;
  let urls: { inference: string; management: string; metrics: string };
  let key: { inference: string; management: string };
  // Bound to every interface, so token authorization is on; requests still go to 127.0.0.1.
  const local = (u: string) => u.replace('0.0.0.0', '127.0.0.1');

  before(async () => {
    const any = 'http://0.0.0.0:0';
    server = await spawnServer(
      process.execPath,
      [
        '--import',
        path.join(PROJECT_ROOT, 'dist/tests/support/fault-after-start.js'),
        path.join(PROJECT_ROOT, 'dist/server/main.js'),
        '--model-store',
        store.root,
        '--backend',
        'wasm',
        '--inference-address',
        any,
        '--management-address',
        any,
        '--metrics-address',
        any,
        ...ANY_GRPC_PORTS,
        '--key-file',
        keyFile,
      ],
      { TS_WASM_THREADS: '1' },
    );
    urls = {
      inference: local(server.inferenceUrl()),
      management: local(server.managementUrl()),
      metrics: local(/metrics on (http:\/\/[\d.:]+)\/metrics/.exec(server.output())![1]!),
    };
    const file = JSON.parse(readFileSync(keyFile, 'utf8'));
    key = { inference: file.inference.key, management: file.management.key };
  });
  after(() => {
    if (server?.child.exitCode === null) server.child.kill('SIGKILL');
    store.remove();
    rmSync(keys, { recursive: true, force: true });
  });

  it('no spelling of a protected route (case, trailing slash, encoding, dot segments) gets past the key', async () => {
    assert.deepEqual(await routeLeaks(protectedRoutes(urls, key), kitten), []);
    const r = await call(`${urls.inference}/predictions/mobilenet_v2?topk=1`, { method: 'POST', body: kitten, headers: { authorization: `Bearer ${key.inference}` } });
    assert.equal(r.body[0].class, TABBY);
  });

  it('an exception thrown outside any request is logged, and the server keeps serving', async () => {
    const { child } = server;
    // Once it serves: on this signal, fault-after-start.ts throws from a timer, outside any request.
    child.kill('SIGUSR2');
    await server.logged(/uncaught exception/);
    assert.match(server.output(), /a fault outside any request/);
    const r = await call(`${urls.inference}/predictions/mobilenet_v2?topk=1`, { method: 'POST', body: kitten, headers: { authorization: `Bearer ${key.inference}` } });
    assert.equal(r.body[0].class, TABBY);
    assert.equal(child.exitCode, null);
  });
});
