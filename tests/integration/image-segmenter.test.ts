// The image_segmenter through the real server, Chromium and WASM, on the palette segmenter
// (tests/fixtures/segmenter-store: each pixel classed as the nearest of five colours). Every
// answer is checked against onnxruntime-node run here on the same pixels, which the server's own
// preprocessing (in this process) gives; the synthetic image's classes are also known outright.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { normalise } from '../../browser-runtime/normalise.js';
import { preprocess, UNGATED } from '../../server/image/preprocess.js';
import type { InferenceGuards } from '../../server/pipeline/inference-core.js';
import { imageOptions } from '../../server/pipeline/image-pipeline.js';
import type { RunningServer } from '../../server/server.js';
import { parseModelConfig } from '../../server/store/model-config.js';
import type { ModelVersion } from '../../server/store/model-store.js';
import { MODEL_NAME, STORE, VERSION } from '../../scripts/segmenter-model/model.js';
import { PROJECT_ROOT } from '../../server/ops/paths.js';
import { readImage } from '../support/paths.js';
import { callUnary, grpcClients } from '../support/grpc-client.js';
import { sendWhileHeld } from '../support/held-requests.js';
import { call, postImage } from '../support/server-harness.js';
import { startTestServer } from '../support/server-harness.js';

const store = path.join(PROJECT_ROOT, STORE);
const config = parseModelConfig(JSON.parse(readFileSync(path.join(store, MODEL_NAME, 'config.json'), 'utf8')));
const SIDE = config.normalisation.size;

/** A 64x64 PNG: quadrants red, green, blue, white, a black square in the middle. */
function paletteClassAt(x: number, y: number): number {
  if (x >= 24 && x < 40 && y >= 24 && y < 40) return 0;
  return y < 32 ? (x < 32 ? 1 : 2) : x < 32 ? 3 : 4;
}
const COLOURS = [
  [0, 0, 0],
  [255, 0, 0],
  [0, 255, 0],
  [0, 0, 255],
  [255, 255, 255],
];
async function paletteImage(): Promise<Buffer> {
  const raw = Buffer.alloc(SIDE * SIDE * 3);
  for (let y = 0; y < SIDE; y++) for (let x = 0; x < SIDE; x++) raw.set(COLOURS[paletteClassAt(x, y)]!, (y * SIDE + x) * 3);
  return sharp(raw, { raw: { width: SIDE, height: SIDE, channels: 3 } })
    .png()
    .toBuffer();
}

/** Per pixel the top class, its probability and the gap to the runner-up, from onnxruntime-node. */
async function reference(session: ort.InferenceSession, image: Buffer): Promise<{ classes: number[]; probabilities: number[]; gaps: number[] }> {
  const guards = { maxImagePixels: 100_000_000, maxJpegScans: 1000 } as InferenceGuards;
  const pixels = await preprocess(image, imageOptions({ config } as ModelVersion, guards), UNGATED);
  const input = normalise(pixels, 1, config.normalisation);
  const out = (await session.run({ [config.inputName]: new ort.Tensor('float32', input, [1, 3, SIDE, SIDE]) }))[config.outputName]!;
  const [, classes, h, w] = out.dims as number[];
  const logits = out.data as Float32Array;
  const plane = h! * w!;
  const r = { classes: [] as number[], probabilities: [] as number[], gaps: [] as number[] };
  for (let i = 0; i < plane; i++) {
    const l = Array.from({ length: classes! }, (_, c) => logits[c * plane + i]!);
    const top = l.indexOf(Math.max(...l));
    const sorted = [...l].sort((a, b) => b - a);
    r.classes.push(top);
    r.probabilities.push(1 / l.reduce((s, v) => s + Math.exp(v - l[top]!), 0));
    r.gaps.push(sorted[0]! - sorted[1]!);
  }
  return r;
}

/** The JSON answer's pairs, checked for TorchServe's shape: height rows of width [class, probability]. */
function pairsOf(body: unknown): [number, number][] {
  assert.ok(Array.isArray(body) && body.length === SIDE, 'height rows');
  for (const row of body as unknown[]) {
    assert.ok(Array.isArray(row) && row.length === SIDE, 'width pairs a row');
    for (const pair of row as unknown[]) assert.ok(Array.isArray(pair) && pair.length === 2 && Number.isInteger(pair[0]) && typeof pair[1] === 'number');
  }
  return (body as [number, number][][]).flat();
}

/**
 * Every pixel's class as onnxruntime-node's, and its probability within 1e-5; but for fewer than
 * 10 near ties, which may fall either way between two runtimes' float rounding.
 */
function assertLikeReference(pairs: [number, number][], ref: Awaited<ReturnType<typeof reference>>, what: string): void {
  let differ = 0;
  pairs.forEach(([cls, p], i) => {
    if (cls !== ref.classes[i]) {
      assert.ok(ref.gaps[i]! < 1e-4, `${what} pixel ${i}: class ${cls}, onnxruntime-node ${ref.classes[i]} by ${ref.gaps[i]}`);
      differ++;
    } else assert.ok(Math.abs(p - ref.probabilities[i]!) < 1e-5, `${what} pixel ${i}: ${p} vs ${ref.probabilities[i]}`);
  });
  assert.ok(differ < 10, `${what}: ${differ} pixels differ`);
}

/** onnxruntime-node's session of the model, for both backends' tests. */
let session: ort.InferenceSession;
before(async () => {
  session = await ort.InferenceSession.create(path.join(store, MODEL_NAME, VERSION, 'model.onnx'), { executionProviders: ['cpu'], logSeverityLevel: 3 });
});
after(async () => {
  await session?.release();
});

describe('image_segmenter on WASM', () => {
  let server: RunningServer;
  let url: string;

  before(async () => {
    server = await startTestServer({ model_store: store, backend: 'wasm' });
    url = `${server.inferenceUrl}/predictions/${MODEL_NAME}`;
  });
  after(async () => {
    await server?.close();
  });

  it('answers the known class of every pixel of a palette image, as onnxruntime-node does', async () => {
    const image = await paletteImage();
    const res = await postImage(url, image);
    assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const pairs = pairsOf(res.body);
    const ref = await reference(session, image);
    pairs.forEach(([cls, p], i) => {
      assert.equal(cls, paletteClassAt(i % SIDE, Math.floor(i / SIDE)), `pixel ${i}`);
      assert.equal(cls, ref.classes[i]);
      assert.ok(Math.abs(p - ref.probabilities[i]!) < 1e-5, `pixel ${i}: ${p} vs ${ref.probabilities[i]}`);
      assert.ok(p > 0.998, `a pure palette colour is near certain: ${p}`);
    });
  });

  it('answers a photo as onnxruntime-node does (resized to the model input)', async () => {
    const image = readImage('dog_malamute.jpg');
    const pairs = pairsOf((await postImage(url, image)).body);
    assertLikeReference(pairs, await reference(session, image), 'the photo');
    assert.ok(new Set(pairs.map(([c]) => c)).size >= 2, 'a photo is not one colour');
  });

  it('answers the class map as an 8-bit greyscale PNG to Accept: image/png', async () => {
    const image = await paletteImage();
    const res = await fetch(url, { method: 'POST', body: image as Uint8Array<ArrayBuffer>, headers: { accept: 'image/png' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/png');
    const png = Buffer.from(await res.arrayBuffer());
    const meta = await sharp(png).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height, meta.channels], ['png', SIDE, SIDE, 1]);
    const map = await sharp(png).extractChannel(0).raw().toBuffer();
    const ref = await reference(session, image);
    assert.deepEqual([...map], ref.classes);
    assert.equal(map[0], 1, 'top-left is red');
  });

  it('answers JSON to a client that prefers it, and 406 to one that takes neither form; then serves on', async () => {
    const image = await paletteImage();
    const json = await call(url, { method: 'POST', body: image as Uint8Array<ArrayBuffer>, headers: { accept: 'application/json;q=1, image/png;q=0.5' } });
    assert.equal(json.status, 200);
    assert.equal(pairsOf(json.body).length, SIDE * SIDE);
    const refused = await call(url, { method: 'POST', body: image as Uint8Array<ArrayBuffer>, headers: { accept: 'text/csv' } });
    assert.equal(refused.status, 406);
    assert.equal(refused.body.code, 406);
    assert.equal(refused.body.type, 'NotAcceptableException');
    assert.match(refused.body.message, /application\/json or image\/png/);
    assert.equal((await call(`${server.inferenceUrl}/ping`)).status, 200);
    assert.equal((await postImage(url, image)).status, 200);
  });

  it('answers KServe v1 instances and TorchServe gRPC Predictions with the same JSON as /predictions', async () => {
    const image = await paletteImage();
    const direct = (await postImage(url, image)).body;
    const v1 = await call(`${server.inferenceUrl}/v1/models/${MODEL_NAME}:predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: [{ data: image.toString('base64') }] }),
    });
    assert.equal(v1.status, 200, JSON.stringify(v1.body).slice(0, 300));
    assert.deepEqual(v1.body.predictions, [direct]);
    const grpc = grpcClients(server.grpc!);
    try {
      const reply = await callUnary<{ prediction: Buffer }>(grpc.torchserve, 'Predictions', { model_name: MODEL_NAME, input: { data: image } });
      assert.deepEqual(JSON.parse(reply.prediction.toString('utf8')), direct);
    } finally {
      grpc.close();
    }
  });

  it("answers a bad image 400 in TorchServe's format", async () => {
    const res = await postImage(url, Buffer.from('not an image'));
    assert.equal(res.status, 400);
    assert.equal(res.body.type, 'BadRequestException');
  });
});

describe('image_segmenter on forced WebGPU: the logits stay on the GPU, reduced there', () => {
  let server: RunningServer;
  let url: string;

  before(async () => {
    // SwiftShader on the CPU, beside the other test files: far more than the default for its load (apis-on-webgpu.test.ts).
    server = await startTestServer({ model_store: store, backend: 'webgpu', default_response_timeout: '1200' });
    url = `${server.inferenceUrl}/predictions/${MODEL_NAME}`;
  });
  after(async () => {
    await server?.close();
  });

  it('runs on WebGPU and answers every pixel as onnxruntime-node does, alone and batched', async () => {
    const [d] = (await call(`${server.managementUrl}/models/${MODEL_NAME}`)).body;
    assert.deepEqual([d.backend, d.parity.passed], ['webgpu', true], d.fallbackReason);
    const images = [await paletteImage(), readImage('dog_malamute.jpg'), readImage('kitten.jpg')];
    const refs = await Promise.all(images.map((image) => reference(session, image)));
    const check = (body: unknown, i: number) => assertLikeReference(pairsOf(body), refs[i]!, `image ${i}`);
    for (const [i, image] of images.entries()) {
      const res = await postImage(url, image);
      assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
      check(res.body, i);
    }
    let next = 0;
    const together = await sendWhileHeld(server.managementUrl, MODEL_NAME, 5, () => postImage(url, images[next++ % 3]!));
    together.forEach((t, i) => {
      assert.equal(t.status, 200);
      check(t.body, i % 3);
    });
    assert.ok(
      together.some((t) => Number(t.headers.get('x-batch-size')) > 1),
      'some ran batched',
    );
  });
});
