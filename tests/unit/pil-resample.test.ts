// "resampling": "pil" against PIL itself, without Python: tests/fixtures/pil-reference/ holds the
// crop PIL made of a test image (bash scripts/pil-reference/run.sh --out tests/fixtures/pil-reference
// tests/fixtures/images/bald_eagle.jpg), and the small cases below were checked with Pillow 9.4.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { resizeGeometry } from '../../browser-runtime/resize-crop.js';
import { pilResizeAndCrop, torchvisionGeometry } from '../../server/image/pil-resample.js';
import { preprocess, UNGATED } from '../../server/image/preprocess.js';
import { ApiError } from '../../server/errors.js';
import { jpegWithFakeEnd } from '../../scripts/hostile/inputs.js';
import { FIXTURES, readImage } from '../support/paths.js';

const OPTS = { resize: 256, crop: 224, maxPixels: 40_000_000, maxJpegScans: 100 };

/** `height` RGB rows, each the grey levels `row`. */
const greyRows = (row: number[], height: number) => Uint8Array.from(Array.from({ length: height }, () => row.flatMap((v) => [v, v, v])).flat());
const firstRow = (rgb: Uint8Array, width: number) => Array.from({ length: width }, (_, x) => rgb[x * 3]!);

describe('torchvisionGeometry (Resize + CenterCrop as torchvision does them)', () => {
  it('truncates the longer side: 773x512 becomes 386x256, not 387', () => {
    // 256 * 773 / 512 = 386.5; int() truncates. The default geometry rounds it to 387.
    assert.deepEqual(torchvisionGeometry(773, 512, 256, 224), { width: 386, height: 256, left: 81, top: 16 });
    assert.equal(resizeGeometry(773, 512, 256, 224).width, 387);
  });
  it('rounds crop offsets half to even, as Python does', () => {
    // 333 - 224 = 109: 54.5 -> 54; 391 - 224 = 167: 83.5 -> 84.
    assert.deepEqual(torchvisionGeometry(230, 300, 256, 224), { width: 256, height: 333, left: 16, top: 54 });
    assert.deepEqual(torchvisionGeometry(230, 300, 300, 224), { width: 300, height: 391, left: 38, top: 84 });
  });
  it('square and portrait', () => {
    assert.deepEqual(torchvisionGeometry(720, 720, 256, 224), { width: 256, height: 256, left: 16, top: 16 });
    assert.deepEqual(torchvisionGeometry(512, 773, 256, 224), { width: 256, height: 386, left: 16, top: 81 });
  });
});

describe('pilResizeAndCrop (PIL bilinear)', () => {
  it('enlarges by interpolating: a 2-pixel row 0|255 to 4 is 0 64 191 255', () => {
    const out = pilResizeAndCrop(greyRows([0, 255], 2), 2, 2, { width: 4, height: 4, left: 0, top: 0 }, 4);
    assert.deepEqual(firstRow(out, 4), [0, 64, 191, 255]);
  });
  it('reduces with the filter widened by the reduction: 0 0 255 255 to 2 is 36 219', () => {
    // Each output weighs 3 source pixels 0.75 0.75 0.25 (over 1.75), not 2 as plain bilinear would.
    const out = pilResizeAndCrop(greyRows([0, 0, 255, 255], 4), 4, 4, { width: 2, height: 2, left: 0, top: 0 }, 2);
    assert.deepEqual(firstRow(out, 2), [36, 219]);
  });
  it('refuses pixels that do not fit the size', () => {
    assert.throws(() => pilResizeAndCrop(new Uint8Array(10), 4, 4, torchvisionGeometry(4, 4, 256, 224), 224), RangeError);
  });
});

describe('"resampling": "pil" with the real sharp against PIL', () => {
  it("bald_eagle.jpg: preprocess gives PIL's crop, byte for byte", async () => {
    const ours = await preprocess(readImage('bald_eagle.jpg'), { ...OPTS, resampling: 'pil' }, UNGATED);
    const { data: pil, info } = await sharp(readFileSync(path.join(FIXTURES, 'pil-reference', 'bald_eagle.jpg.png')))
      .raw()
      .toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height, info.channels], [224, 224, 3]);
    let differing = 0;
    for (let i = 0; i < pil.length; i++) if (ours[i] !== pil[i]) differing++;
    assert.equal(differing, 0, `${differing} of ${pil.length} bytes differ from PIL's`);
  });

  it('orients by EXIF, drops alpha, expands greyscale and refuses a cut JPEG, as the default does', async () => {
    const pil = { ...OPTS, resampling: 'pil' as const };
    const at = (out: Uint8Array, x: number, y: number) => [...out.subarray((y * 224 + x) * 3, (y * 224 + x) * 3 + 3)];
    // Stored 512x256 red | blue, orientation 6: shown 256 wide and 512 tall, red on top.
    const raw = Buffer.alloc(512 * 256 * 3);
    for (let i = 0; i < 512 * 256; i++) raw.set(i % 512 < 256 ? [255, 0, 0] : [0, 0, 255], i * 3);
    const turned = await sharp(raw, { raw: { width: 512, height: 256, channels: 3 } })
      .withMetadata({ orientation: 6 })
      .png()
      .toBuffer();
    const out = await preprocess(turned, pil, UNGATED);
    assert.deepEqual(
      [at(out, 100, 20), at(out, 100, 200)],
      [
        [255, 0, 0],
        [0, 0, 255],
      ],
    );
    // PIL drops alpha before it resizes: the colour is kept exactly.
    const rgba = await sharp(Buffer.alloc(300 * 300 * 4).fill(Buffer.from([10, 20, 30, 128])), { raw: { width: 300, height: 300, channels: 4 } })
      .png()
      .toBuffer();
    assert.deepEqual(at(await preprocess(rgba, pil, UNGATED), 5, 5), [10, 20, 30]);
    const grey = await sharp({ create: { width: 300, height: 300, channels: 3, background: { r: 77, g: 77, b: 77 } } })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    assert.deepEqual(at(await preprocess(grey, pil, UNGATED), 5, 5), [77, 77, 77]);
    const cut = jpegWithFakeEnd(
      await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 10, g: 200, b: 30 } } })
        .jpeg()
        .toBuffer(),
    );
    await assert.rejects(preprocess(cut, pil, UNGATED), (e: unknown) => e instanceof ApiError && e.status === 400);
  });
});
