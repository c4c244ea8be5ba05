// The image_segmenter's pure parts: the page's per-pixel top class and probability, its compact
// answer, the gateway's TorchServe nested list and PNG class map, and the committed palette model.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { MAX_SEGMENTER_CLASSES, segment, segmentationText, toBase64 } from '../../browser-runtime/handlers/image-segmenter.js';
import { greyscalePng } from '../../server/pipeline/png-class-map.js';
import { parseSegmentation, segmentationJson, segmentationPng } from '../../server/pipeline/segmentation-answer.js';
import { paletteStoreFiles, STORE } from '../../scripts/segmenter-model/model.js';
import { PROJECT_ROOT } from '../../server/ops/paths.js';

// Two classes over a 2x3 image (NCHW: the class-0 plane, then the class-1 plane).
const LOGITS = Float32Array.from([
  // class 0
  0, 1, 2, 3, 4, 5,
  // class 1
  1, 1, 0, 5, -1, 5.5,
]);

const softmaxTop = (a: number, b: number) => 1 / (1 + Math.exp(-Math.abs(a - b)));

describe('segment', () => {
  it("takes each pixel's top class and its softmax probability; the first class wins a tie", () => {
    const s = segment(LOGITS, 2, 2, 3);
    assert.deepEqual([s.width, s.height], [3, 2]);
    assert.deepEqual([...s.classes], [1, 0, 0, 1, 0, 1]);
    const expected = [0, 1, 2, 3, 4, 5].map((i) => softmaxTop(LOGITS[i]!, LOGITS[6 + i]!));
    s.probabilities.forEach((p, i) => assert.ok(Math.abs(p - expected[i]!) < 1e-6, `pixel ${i}: ${p} vs ${expected[i]}`));
    assert.equal(s.probabilities[1], 0.5);
  });

  it('is stable for large logits', () => {
    const s = segment(Float32Array.from([1000, 0]), 2, 1, 1);
    assert.deepEqual([s.classes[0], s.probabilities[0]], [0, 1]);
  });

  it('refuses logits of the wrong length, and more classes than a byte holds', () => {
    assert.throws(() => segment(LOGITS, 2, 2, 2), /12 logits are not 2 classes of 2x2/);
    assert.throws(() => segment(new Float32Array(MAX_SEGMENTER_CLASSES + 1), MAX_SEGMENTER_CLASSES + 1, 1, 1), /257 classes/);
  });
});

describe('the compact answer and its forms', () => {
  const s = segment(LOGITS, 2, 2, 3);

  it('round-trips through the page text exactly', () => {
    const back = parseSegmentation(segmentationText(s));
    assert.deepEqual(back, s);
  });

  it("writes TorchServe's nested list: height rows of width [class, probability]", () => {
    const list = JSON.parse(segmentationJson(s)) as [number, number][][];
    assert.equal(list.length, 2);
    assert.ok(list.every((row) => row.length === 3));
    assert.deepEqual(list[0]![1], [0, 0.5]);
    assert.deepEqual(
      list.flat().map(([c]) => c),
      [...s.classes],
    );
    // Each probability is the float32's exact value.
    assert.deepEqual(
      list.flat().map(([, p]) => p),
      [...s.probabilities],
    );
  });

  it('refuses a page answer whose sizes disagree', () => {
    assert.throws(
      () => parseSegmentation(JSON.stringify({ width: 2, height: 2, classes: toBase64(new Uint8Array(3)), probabilities: toBase64(new Uint8Array(16)) })),
      /2x2 segmentation has 3 classes/,
    );
    assert.throws(() => parseSegmentation('{"width":1}'), /needs width, height/);
  });

  it('encodes the class map as an 8-bit greyscale PNG that sharp reads back', async () => {
    const png = await segmentationPng(segmentationText(s));
    const meta = await sharp(png).metadata();
    assert.deepEqual([meta.width, meta.height, meta.channels, meta.depth], [3, 2, 1, 'uchar']);
    const data = await sharp(png).extractChannel(0).raw().toBuffer();
    assert.equal(png[24], 8, 'bit depth 8');
    assert.equal(png[25], 0, 'colour type 0: greyscale');
    assert.deepEqual([...data], [...s.classes]);
  });

  it('encodes every byte value and a wide image', async () => {
    const values = Uint8Array.from({ length: 300 * 7 }, (_, i) => (i * 31) % 256);
    const { data, info } = await sharp(await greyscalePng(values, 300, 7))
      .extractChannel(0)
      .raw()
      .toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [300, 7]);
    assert.ok(Buffer.from(values).equals(data));
    await assert.rejects(greyscalePng(values, 299, 7), /2100 values are not 299x7/);
  });
});

describe('the palette segmenter fixture', () => {
  it('is what scripts/segmenter-model builds (npm run build:segmenter-model)', () => {
    for (const [rel, bytes] of paletteStoreFiles()) {
      assert.ok(Buffer.from(bytes).equals(readFileSync(path.join(PROJECT_ROOT, STORE, rel))), `${rel} differs from the committed file`);
    }
  });
});
