// Hostile JPEGs against the real server, sharp and Chromium: scan bombs that hide their scans
// behind bytes libjpeg passes over, markers libjpeg refuses, and decodes that overrun their
// deadline (killed with their process, their slot back at once) or whose process dies. After
// each, the server still answers the kitten and says it is ready.

import { once } from 'node:events';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata, status as Code } from '@grpc/grpc-js';
import sharp from 'sharp';
import { jpegScanBomb } from '../../scripts/hostile/inputs.js';
import { jpegPassedOverVariants, jpegRefusedVariants } from '../../scripts/hostile/jpeg-markers.js';
import { PROJECT_ROOT } from '../../server/ops/paths.js';
import { descendantsAndSelf, readOr, statFields } from '../../server/ops/process-tree.js';
import type { RunningServer } from '../../server/server.js';
import { callFails, type GrpcClients, grpcClients } from '../support/grpc-client.js';
import { readImage } from '../support/paths.js';
import { call, postImage, startTestServer, servesKitten } from '../support/server-harness.js';
import { ANY_PORTS, spawnServer } from '../support/spawned-server.js';
import { tempStore } from '../support/temp-store.js';
import { alive } from '../support/processes.js';

const kitten = readImage('kitten.jpg');
const TABBY = 'n02123045 tabby, tabby cat';
const MAX_SCANS = 20_000;
// Within max_jpeg_scans, and minutes of libjpeg's time (each scan a pass over 36 megapixels):
// far past the 2 s deadline of the "strict" model on any machine.
const slowBomb = jpegScanBomb(6000, 6000, MAX_SCANS - 1);
/** The kitten as a progressive JPEG: scans of its own, separated by tables. */
const progressiveKitten = () => sharp(kitten).jpeg({ progressive: true }).toBuffer();

/** Waits for `done` to hold, checking every 50 ms; fails after `ms` (generous: it waits for events, not for time). */
async function until(done: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    assert.ok(Date.now() < end, `timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('hostile JPEGs against the real server', () => {
  const store = tempStore([
    // Batches are not under test here: one image a run, so that warm-up runs no larger batch.
    { name: 'mobilenet_v2', from: 'mobilenet_v2', config: { batch_size: 1 } },
    // A model with a deadline of its own, short enough to run out during a slow decode. Its
    // requests never get past decoding: the null model, which loads at a fraction of MobileNet's cost.
    { name: 'strict', from: 'null_model', config: { batch_size: 1, response_timeout: 2 } },
  ]);
  let server: RunningServer;
  let api: string;
  let grpc: GrpcClients;
  const stillServing = () => servesKitten(api);

  before(async () => {
    server = await startTestServer({ model_store: store.root, backend: 'wasm', wasm_threads: '1', max_jpeg_scans: String(MAX_SCANS), decode_slots: '2' });
    api = server.inferenceUrl;
    grpc = grpcClients(server.grpc!);
  });
  after(async () => {
    grpc?.close();
    await server?.close();
    store.remove();
  });

  it('scan bombs hidden behind bytes libjpeg passes over are refused with 400 from their markers, by every protocol', async () => {
    const { started } = server.decodes.stats;
    const variants = jpegPassedOverVariants(jpegScanBomb(64, 64, MAX_SCANS + 10_000));
    for (const v of variants) {
      const r = await postImage(`${api}/predictions/mobilenet_v2`, v.bytes);
      assert.equal(r.status, 400, `${v.name}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.type, 'BadRequestException');
      assert.match(r.body.message, /more than 20000 scans \(max_jpeg_scans\)/, v.name);
    }
    // The one reported: a single 0x00 byte after the frame header.
    const reported = variants.find((v) => v.name === 'one 0x00 byte after the frame header')!.bytes;
    const v1 = await call(`${api}/v1/models/mobilenet_v2:predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: [{ data: reported.toString('base64') }] }),
    });
    assert.equal(v1.status, 400);
    assert.match(v1.body.error, /more than 20000 scans/);
    const failed = await callFails(grpc.torchserve, 'Predictions', { model_name: 'mobilenet_v2', input: { data: reported } });
    assert.equal(failed.code, Code.INVALID_ARGUMENT);
    assert.match(failed.details, /more than 20000 scans/);
    assert.equal(server.decodes.stats.started, started, 'none of them reached a decoder');
    await stillServing();
  });

  it('JPEGs with markers libjpeg refuses are answered 400, saying which, before decoding', async () => {
    const { started } = server.decodes.stats;
    for (const v of jpegRefusedVariants(await progressiveKitten())) {
      const r = await postImage(`${api}/predictions/mobilenet_v2`, v.bytes);
      assert.equal(r.status, 400, `${v.name}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.message, /^The JPEG image could not be read: /, v.name);
    }
    assert.equal(server.decodes.stats.started, started);
    await stillServing();
  });

  it('a kitten with bytes libjpeg passes over is classified as the kitten', async () => {
    for (const v of jpegPassedOverVariants(await progressiveKitten())) {
      const r = await postImage(`${api}/predictions/mobilenet_v2?topk=1`, v.bytes);
      assert.equal(r.status, 200, `${v.name}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body[0].class, TABBY, v.name);
    }
  });

  it('a decode past its deadline is killed: 504, its slot back at once, its process gone and replaced', async () => {
    const pidsBefore = server.decodes.pids();
    const { abandoned } = server.decodes.stats;
    const answer = postImage(`${api}/predictions/strict`, slowBomb);
    // The heavy lane leaves the other slot to ordinary images meanwhile.
    await stillServing();
    const r = await answer;
    assert.equal(r.status, 504, JSON.stringify(r.body));
    assert.match(r.body.message, /decoding the image took it past 2\.0 s \(raise response_timeout in strict's config\.json/);
    // Answered 504 only once its decode was given up and its slot freed.
    const stats = server.decodes.stats;
    assert.equal(stats.abandoned, abandoned + 1);
    assert.equal(stats.running, 0);
    assert.equal(stats.waiting, 0);
    await server.decodes.reaped();
    const pidsAfter = server.decodes.pids();
    const killed = pidsBefore.filter((pid) => !pidsAfter.includes(pid));
    assert.equal(killed.length, 1, `before ${pidsBefore}, after ${pidsAfter}`);
    assert.equal(alive(killed[0]!), false, 'the process that ran the killed decode is gone');
    assert.equal(pidsAfter.length, 2);
    assert.ok(pidsAfter.every(alive));
    await stillServing();
  });

  it("a gRPC client's own deadline kills the decode too", async () => {
    const { abandoned } = server.decodes.stats;
    const failed = await callFails(grpc.torchserve, 'Predictions', { model_name: 'mobilenet_v2', input: { data: slowBomb } }, new Metadata(), { deadline: Date.now() + 1500 });
    assert.equal(failed.code, Code.DEADLINE_EXCEEDED);
    await until(() => server.decodes.stats.abandoned === abandoned + 1, 'the decode given up at the deadline');
    await until(() => server.decodes.stats.running === 0, 'its slot back');
    await server.decodes.reaped();
    assert.ok(server.decodes.pids().every(alive));
    await stillServing();
  });

  it('a decode process that dies fails its request with 500 and is replaced; the server keeps serving', async () => {
    const pidsBefore = server.decodes.pids();
    const answer = postImage(`${api}/predictions/mobilenet_v2`, slowBomb);
    await until(() => server.decodes.stats.running === 1, 'the bomb decoding');
    for (const pid of pidsBefore) process.kill(pid, 'SIGKILL');
    const r = await answer;
    assert.equal(r.status, 500, JSON.stringify(r.body));
    assert.equal(r.body.type, 'InternalServerException');
    assert.match(r.body.message, /image decode process ended \(SIGKILL\) while decoding/);
    await until(() => server.decodes.pids().length === 2 && server.decodes.pids().every((pid) => !pidsBefore.includes(pid)), 'both processes replaced');
    await stillServing();
  });
});

describe('decode processes end with the server', () => {
  // The bomb never reaches a model: the null model spares each start MobileNet's load.
  const store = tempStore([{ name: 'null_model', from: 'null_model', config: { batch_size: 1 } }]);
  after(() => store.remove());
  const decoders = (root: number) => descendantsAndSelf(root).filter((pid) => readOr(`/proc/${pid}/cmdline`)?.includes('decode-worker.js'));
  // Gone, or ended and waiting for whoever adopted it to reap it.
  const running = (pid: number) => !['Z', 'X', undefined].includes(statFields(pid)?.[0]);

  // CPU ticks (utime + stime) a process has used.
  const ticks = (pid: number) => Number(statFields(pid)?.[11] ?? 0) + Number(statFields(pid)?.[12] ?? 0);

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    it(`${signal} to the server ends its decode processes, idle or decoding`, async () => {
      const main = path.join(PROJECT_ROOT, 'dist/server/main.js');
      // A short response timeout: SIGTERM waits for the predictions in flight, the bomb's included, until then.
      const settings = ['--max-jpeg-scans', String(MAX_SCANS), '--default-response-timeout', '5', '--decode-slots', '2'];
      const server = await spawnServer(process.execPath, [main, '--model-store', store.root, '--backend', 'wasm', '--wasm-threads', '1', ...settings, ...ANY_PORTS], {});
      const pids = decoders(server.child.pid!);
      assert.equal(pids.length, 2, server.output());
      // One of them busy with minutes of decoding when the server goes.
      const answer = postImage(`${server.inferenceUrl()}/predictions/null_model`, slowBomb).catch(() => null);
      await until(() => pids.some((pid) => ticks(pid) > 100), 'a decode process busy');
      const exited = once(server.child, 'exit');
      server.child.kill(signal);
      await exited;
      await until(() => !pids.some(running), `decode processes ${pids} ended`);
      await answer;
    });
  }
});
