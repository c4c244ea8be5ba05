// The page's own WebGPU compute passes in the real Chromium (SwiftShader here), against the
// JavaScript they stand in for. Normalising (gpu_preprocess): the pass writes what normalise.ts
// writes, for both layouts and both channel orders, and for pixel counts whose bytes are no whole
// number of 4-byte words, to the last bit of float32. Segmenting (the image_segmenter on WebGPU):
// each pixel's class and probability as segment() gives them, ties and padding images included.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { toolChromiumFlags } from '../../server/chromium/chromium-flags.js';
import { findChromium } from '../../server/chromium/find-chromium.js';
import { startRuntimeAssets } from '../../server/page/runtime-assets.js';
import { ModelStore } from '../../server/store/model-store.js';
import { NULL_MODELS } from '../support/paths.js';

type Case = [channelOrder: 'RGB' | 'BGR', layout: 'NCHW' | 'NHWC', size: number];

/** In the page: each case's pixels through the GPU pass and through normalise.ts; answers the largest difference of each. */
async function compareInPage(base: string, cases: Case[]): Promise<Array<{ length: number; expected: number; worst: number }>> {
  const ort = await import(`${base}ort/ort.webgpu.min.mjs`);
  const { GpuNormaliser } = await import(`${base}browser-runtime/gpu-normalise.js`);
  const { normalise } = await import(`${base}browser-runtime/normalise.js`);
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter');
  const device = await adapter.requestDevice();
  const out = [];
  for (const [channelOrder, layout, size] of cases) {
    const n = { size, channelOrder, layout, scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
    const batch = 2;
    const pixels = new Uint8Array(batch * size * size * 3).map((_, i) => (i * 37 + 11) % 256);
    const gpu = await GpuNormaliser.create(device, ort, n);
    const buffer = gpu.tensor(pixels, batch).gpuBuffer as GPUBuffer;
    const read = device.createBuffer({ size: buffer.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(buffer, 0, read, 0, buffer.size);
    device.queue.submit([encoder.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const got = new Float32Array(read.getMappedRange().slice(0));
    const want = normalise(pixels, batch, n) as Float32Array;
    let worst = 0;
    want.forEach((v: number, i: number) => (worst = Math.max(worst, Math.abs(v - got[i]!) / Math.max(1, Math.abs(v)))));
    out.push({ length: got.length, expected: want.length, worst });
    gpu.destroy();
  }
  return out;
}

/** In the page: logits of `images` images through the GPU pass and through segment(); the worst probability difference, and whether every class agreed. */
async function segmentInPage(base: string, classes: number, height: number, width: number, images: number, count: number) {
  const { GpuSegmenter } = await import(`${base}browser-runtime/handlers/gpu-segment.js`);
  const { segment } = await import(`${base}browser-runtime/handlers/image-segmenter.js`);
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter');
  const device = await adapter.requestDevice();
  const per = classes * height * width;
  // Spread out, with every pixel's classes 2 and 3 tied at its top in the first image.
  const logits = new Float32Array(images * per).map((_, i) => Math.sin(i * 12.9898) * 8);
  for (let i = 0; i < height * width; i++) logits[2 * height * width + i] = logits[3 * height * width + i] = 100;
  const buffer = device.createBuffer({ size: logits.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(buffer, 0, logits);
  const got = await (await GpuSegmenter.create(device)).segment(buffer, count, classes, height, width);
  let worst = 0;
  let classesAgree = got.length === count;
  for (let i = 0; i < count; i++) {
    const want = segment(logits.subarray(i * per, (i + 1) * per), classes, height, width);
    classesAgree &&= got[i].width === width && got[i].height === height && want.classes.every((c: number, j: number) => c === got[i].classes[j]);
    want.probabilities.forEach((p: number, j: number) => (worst = Math.max(worst, Math.abs(p - got[i].probabilities[j]))));
  }
  return { worst, classesAgree, firstTopClass: got[0].classes[0], firstProbability: got[0].probabilities[0] };
}

/** In the page: YOLOX rows of `images` images filtered on the GPU, then decoded; against decodeYolox on the whole output. */
async function detectInPage(base: string, images: number, cap: number) {
  const { GpuDetectionFilter } = await import(`${base}browser-runtime/handlers/gpu-detect.js`);
  const { decodeKeptRows, decodeYolox } = await import(`${base}browser-runtime/handlers/object-detector.js`);
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter');
  const device = await adapter.requestDevice();
  // A 128 px input, strides 8, 16 and 32: 336 rows of 5 + 4 classes.
  const [rows, width, size, strides, threshold] = [336, 9, 128, [8, 16, 32], 0.25];
  const raw = new Float32Array((images + 1) * rows * width).map((_, i) => Math.abs(Math.sin(i * 12.9898)) ** 2);
  const buffer = device.createBuffer({ size: raw.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(buffer, 0, raw);
  const kept = await (await GpuDetectionFilter.create(device)).filter(buffer, images, rows, width, threshold, cap);
  return kept.map((k: Float32Array | null, i: number) => {
    const whole = decodeYolox(raw.subarray(i * rows * width, (i + 1) * rows * width), rows, size, strides, threshold);
    return { overflowed: k === null, found: whole.length, same: k !== null && JSON.stringify(decodeKeptRows(k, rows, size, strides, threshold)) === JSON.stringify(whole) };
  });
}

describe("the page's WebGPU passes, in Chromium (SwiftShader)", () => {
  let browser: Browser;
  let page: Page;
  let assets: Awaited<ReturnType<typeof startRuntimeAssets>>;

  before(async () => {
    assets = await startRuntimeAssets(await ModelStore.open(NULL_MODELS));
    browser = await puppeteer.launch({ executablePath: findChromium(process.env['CHROME_PATH'] ?? null), headless: true, pipe: true, args: toolChromiumFlags() });
    page = await browser.newPage();
    // The runtime page's origin serves the page's scripts and onnxruntime-web; its channel is not needed.
    await page.goto(assets.pageUrl, { waitUntil: 'load' });
  });
  after(async () => {
    await browser?.close();
    await assets?.close();
  });

  it('writes what normalise.ts writes, in both layouts and channel orders, whatever the byte count', async () => {
    const cases: Case[] = [
      ['RGB', 'NCHW', 4],
      ['BGR', 'NCHW', 5],
      ['RGB', 'NHWC', 3],
      ['BGR', 'NHWC', 7],
    ];
    const results = await page.evaluate(compareInPage, assets.pageUrl, cases);
    results.forEach((r, i) => {
      assert.equal(r.length, r.expected, `case ${cases[i]}: the buffer holds the tensor`);
      // One float32 rounding apart at most: the GPU rounds the product and the sum apart.
      assert.ok(r.worst <= 2 ** -22, `case ${cases[i]}: relative difference ${r.worst}`);
    });
  });

  it('segments as segment() does: the first class wins a tie, and only the images asked for are read', async () => {
    // 3 images in the buffer, 2 asked for (the third is the batch's padding); 7 classes of 5x9.
    const r = await page.evaluate(segmentInPage, assets.pageUrl, 7, 5, 9, 3, 2);
    assert.ok(r.classesAgree, "every pixel's class");
    assert.equal(r.firstTopClass, 2, 'a tie between classes 2 and 3 goes to 2');
    assert.ok(Math.abs(r.firstProbability - 0.5) < 1e-6, `a two-way tie is one half: ${r.firstProbability}`);
    assert.ok(r.worst < 1e-6, `largest probability difference ${r.worst}`);
  });

  it("keeps the detector's rows that pass, so that they decode to what the whole output does; more than the cap is said", async () => {
    const within = await page.evaluate(detectInPage, assets.pageUrl, 2, 336);
    assert.equal(within.length, 2, 'the padding image is not read');
    for (const r of within) {
      assert.ok(r.found > 5 && r.found < 336, `some rows pass and some do not: ${r.found}`);
      assert.deepEqual([r.overflowed, r.same], [false, true]);
    }
    const over = await page.evaluate(detectInPage, assets.pageUrl, 1, 4);
    assert.deepEqual(
      over.map((r: { overflowed: boolean }) => r.overflowed),
      [true],
      'more rows passed than the cap',
    );
  });
});
