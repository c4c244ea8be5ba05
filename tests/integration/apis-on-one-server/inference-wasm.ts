// The real server, real Chromium, real models, WASM backend: the two models as the repo ships them.

import { before, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import sharp from 'sharp';
import { ChromiumEngine } from '../../../server/page/chromium-engine.js';
import { SERVED_RUNS, SHORT_RUN_MS } from '../../../server/page/wasm-thread-choice.js';
import type { RunningServer } from '../../../server/server.js';
import { EXPECTED, LABELS, readImage } from '../../support/paths.js';
import { call, postForm, postImage } from '../../support/server-harness.js';
import type { ServerSource } from '../../support/shared-server.js';
import { until } from '../../support/until.js';

const kitten = readImage('kitten.jpg');
type Classes = Array<{ class: string; probability: number }>;
const top1Index = (answer: Classes) => LABELS.indexOf(answer[0]!.class);

export const inferenceWasmSuite = (shared: ServerSource) =>
  describe('inference on WASM through Chromium', () => {
    let server: RunningServer;
    let api: string;

    before(async () => {
      server = await shared();
      api = server.inferenceUrl;
    });

    it('is healthy once every model is loaded', async () => {
      assert.deepEqual((await call(`${api}/ping`)).body, { health: 'healthy!', status: 'Healthy' });
    });

    it("a model's own wasm_threads sets its pages' threads; the others are chosen by what their runs cost", async () => {
      const described = async (model: string) => (await call(`${server.managementUrl}/models/${model}`)).body[0];
      assert.equal((await described('one_thread')).wasmThreads, 1);
      assert.equal((await described('mobilenet_v2')).wasmThreads, os.availableParallelism(), 'long runs: one a core');
      // Short runs are seen at load on a quiet machine, or else in its first served runs. A busy
      // machine (the stress run's CPU hogs) can make even the null model's runs look long: its
      // served runs are reported as a quiet machine times them, so that the verdict, and the
      // reload on one thread it leads to, do not rest on how busy the machine is.
      type SawRun = (slot: { model: { name: string } }, runMsPerImage: number) => void;
      const engine = ChromiumEngine.prototype as unknown as { sawRun: SawRun };
      const sawRun = engine.sawRun;
      const quiet = mock.method(engine, 'sawRun', function (this: ChromiumEngine, slot: { model: { name: string } }, ms: number) {
        return sawRun.call(this, slot, slot.model.name === 'short_runs' ? SHORT_RUN_MS / 4 : ms);
      });
      try {
        for (let i = 0; i < SERVED_RUNS; i++) assert.equal((await postImage(`${api}/predictions/short_runs`, kitten)).status, 200);
        await until('short_runs on one WASM thread', async () => (await described('short_runs')).wasmThreads === 1);
      } finally {
        quiet.mock.restore();
      }
      const short = await described('short_runs');
      assert.equal(short.wasmThreads, 1, 'short runs: one thread');
      assert.equal(short.workers.length, 1, 'the page loaded first is gone');
      assert.equal(short.workers[0].status, 'READY');
      for (const model of ['one_thread', 'short_runs']) assert.equal((await postImage(`${api}/predictions/${model}`, kitten)).status, 200);
    });

    it('the kitten is a tabby, within 0.05 of the onnxruntime-node reference', async () => {
      const res = await postImage(`${api}/predictions/mobilenet_v2`, kitten);
      assert.equal(res.status, 200);
      const answer = res.body as Classes;
      assert.equal(answer.length, 5);
      assert.equal(answer[0]!.class, 'n02123045 tabby, tabby cat');
      assert.ok(Math.abs(answer[0]!.probability - EXPECTED['kitten.jpg']!.fp32_dequant_top1_prob) < 0.05, `p=${answer[0]!.probability}`);
      assert.deepEqual(
        answer.slice(1, 3).map((a) => a.class),
        ['n02123159 tiger cat', 'n02124075 Egyptian cat'],
      );
    });

    it('raw POST, PUT, multipart and versioned requests give the same numbers', async () => {
      const answers = [
        await postImage(`${api}/predictions/mobilenet_v2`, kitten),
        await postImage(`${api}/predictions/mobilenet_v2`, kitten, 'PUT', 'image/jpeg'),
        await postForm(`${api}/predictions/mobilenet_v2`, { data: kitten }),
        await postImage(`${api}/predictions/mobilenet_v2/1.0`, kitten),
      ];
      for (const a of answers) assert.deepEqual(a.body, answers[0]!.body);
    });

    for (const [file, expected] of Object.entries(EXPECTED)) {
      it(`${file}: expected top-1 on both models`, async () => {
        for (const model of ['mobilenet_v2', 'mobilenet_v2_int8']) {
          const res = await postImage(`${api}/predictions/${model}`, readImage(file));
          assert.equal(res.status, 200, JSON.stringify(res.body));
          assert.ok(expected.accept_top1.includes(top1Index(res.body)), `${model}: ${res.body[0].class}`);
        }
        const fp32 = (await postImage(`${api}/predictions/mobilenet_v2`, readImage(file))).body as Classes;
        assert.equal(top1Index(fp32), expected.expected_top1);
        assert.ok(Math.abs(fp32[0]!.probability - expected.fp32_dequant_top1_prob) < 0.05);
      });
    }

    it('every raster format sharp reads gives the tabby', async () => {
      for (const format of ['png', 'webp', 'gif', 'tiff', 'avif'] as const) {
        const bytes = await sharp(kitten).toFormat(format).toBuffer();
        const res = await postImage(`${api}/predictions/mobilenet_v2`, bytes);
        assert.equal(res.status, 200, `${format}: ${JSON.stringify(res.body)}`);
        assert.ok(EXPECTED['kitten.jpg']!.accept_top1.includes(top1Index(res.body)), `${format}: ${res.body[0].class}`);
      }
    });

    it('EXIF orientation is applied: a sideways-stored kitten answers like the upright one', async () => {
      const upright = (await postImage(`${api}/predictions/mobilenet_v2`, await sharp(kitten).jpeg({ quality: 95 }).toBuffer())).body as Classes;
      // Pixels stored rotated 90 degrees anticlockwise, tagged "rotate 90 clockwise to display".
      const sideways = await sharp(await sharp(kitten).rotate(270).toBuffer())
        .withMetadata({ orientation: 6 })
        .jpeg({ quality: 95 })
        .toBuffer();
      const answer = (await postImage(`${api}/predictions/mobilenet_v2`, sideways)).body as Classes;
      assert.equal(answer[0]!.class, upright[0]!.class);
      assert.ok(Math.abs(answer[0]!.probability - upright[0]!.probability) < 0.03, `${answer[0]!.probability} vs ${upright[0]!.probability}`);
      // And the tag matters: the same pixels without it are a different picture to the model.
      const untagged = await sharp(kitten).rotate(270).jpeg({ quality: 95 }).toBuffer();
      const wrong = (await postImage(`${api}/predictions/mobilenet_v2`, untagged)).body as Classes;
      assert.ok(Math.abs(wrong[0]!.probability - upright[0]!.probability) > 0.01 || wrong[0]!.class !== upright[0]!.class);
    });

    it('topk=1000 returns every class, probabilities summing to 1', async () => {
      const res = await postImage(`${api}/predictions/mobilenet_v2?topk=1000`, kitten);
      const answer = res.body as Classes;
      assert.equal(answer.length, 1000);
      assert.equal(new Set(answer.map((a) => a.class)).size, 1000);
      assert.ok(Math.abs(answer.reduce((s, a) => s + a.probability, 0) - 1) < 1e-6);
    });

    it('bad requests get TorchServe errors and the server keeps serving', async () => {
      const text = await postImage(`${api}/predictions/mobilenet_v2`, Buffer.from('just some words'));
      assert.equal(text.status, 400);
      assert.equal(text.body.type, 'BadRequestException');
      const empty = await postImage(`${api}/predictions/mobilenet_v2`, new Uint8Array(0));
      assert.equal(empty.status, 400);
      const truncated = await postImage(`${api}/predictions/mobilenet_v2`, kitten.subarray(0, kitten.length / 3));
      assert.equal(truncated.status, 400);
      assert.deepEqual((await postImage(`${api}/predictions/resnet-18`, kitten)).body, { code: 404, type: 'ModelNotFoundException', message: 'Model not found: resnet-18' });
      assert.equal((await postImage(`${api}/predictions/mobilenet_v2/2.0`, kitten)).body.type, 'ModelVersionNotFoundException');
      assert.equal((await call(`${api}/predictions/mobilenet_v2`)).status, 405);
      const after = await postImage(`${api}/predictions/mobilenet_v2`, kitten);
      assert.equal(after.body[0].class, 'n02123045 tabby, tabby cat');
      assert.equal((await call(`${api}/ping`)).status, 200);
    });

    it('the model description says where each model runs and on which adapter', async () => {
      const [d] = (await call(`${server.managementUrl}/models/mobilenet_v2`)).body;
      assert.equal(d.status, 'ready');
      assert.equal(d.backend, 'wasm');
      assert.equal(d.ortBuild, 'wasm', 'a page asked for WASM loads the WASM build');
      assert.equal(d.fallbackReason, null, 'WASM was asked for: nothing fell back');
      assert.equal(d.parity, null);
      assert.ok(d.wasmThreads >= 1);
    });

    it('the Server-Timing header has every stage', async () => {
      const res = await postImage(`${api}/predictions/mobilenet_v2`, kitten);
      const stages = Object.fromEntries((res.headers.get('server-timing') ?? '').split(', ').map((s) => s.split(';dur=')));
      for (const stage of ['decode', 'transfer', 'infer', 'post', 'total']) assert.ok(Number(stages[stage]) >= 0, stage);
      assert.ok(Number(stages['infer']) > 0);
    });
  });
