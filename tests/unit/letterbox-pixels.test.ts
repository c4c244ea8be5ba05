// The browser-side letterbox and plain resize against the gateway's sharp pipeline, on the real
// fixtures: a detector run in the demo page answers the server's boxes only if its input and
// its placement numbers are the server's.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { preprocessPlaced, UNGATED } from '../../server/image/preprocess.js';
import type { Placement } from '../../browser-runtime/handler-api.js';
import { type InputFit, inputPixels, inputPlacement, letterboxGeometry, letterboxPixels } from '../../browser-runtime/resize-crop.js';
import { readImage } from '../support/paths.js';

const LIMITS = { maxPixels: 40_000_000, maxJpegScans: 100 };
const YOLOX: InputFit = { fit: 'letterbox', size: 416, resize: 416, fill: 114, align: 'top-left' };

/** What a canvas would hand the page: the decoded image as RGBA. */
async function rgba(image: Buffer) {
  const { data, info } = await sharp(image).rotate().removeAlpha().ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** + 0: the gateway's -0 for an uncropped edge is the same place as 0. */
const plain = (p: Placement) => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v + 0]));

/** The largest difference from the gateway's pixels, once the placements are checked equal. */
async function maxDifference(image: Buffer, f: InputFit): Promise<number> {
  const reference = await preprocessPlaced(image, { ...LIMITS, crop: f.size, resize: f.resize, fit: f.fit, fill: f.fill, align: f.align }, UNGATED);
  const { data, width, height } = await rgba(image);
  const mine = inputPixels(data, width, height, f);
  assert.equal(mine.length, reference.pixels.length);
  assert.deepEqual(plain(inputPlacement(width, height, f.fit, f.size, f.resize, f.align)), plain(reference.placement));
  let max = 0;
  for (let i = 0; i < mine.length; i++) max = Math.max(max, Math.abs(mine[i]! - reference.pixels[i]!));
  return max;
}

describe('the letterbox and plain resize in the browser match the gateway', () => {
  for (const name of ['dog_malamute.jpg', 'kitten.jpg', 'bald_eagle.jpg', 'cat_chelsea.png', 'espresso_coffee.png', 'dog_640x480.jpg']) {
    it(`${name}: YOLOX's top-left letterbox, the same bytes`, async () => {
      assert.equal(await maxDifference(readImage(name), YOLOX), 0);
    });
  }

  it('centred, with another grey', async () => {
    assert.equal(await maxDifference(readImage('bald_eagle.jpg'), { ...YOLOX, fill: 0, align: 'centre' }), 0);
  });

  // Enlarged and stretched by a scale that differs a little between the axes: within a level.
  it('an image smaller than the input is enlarged as sharp enlarges it', async () => {
    const small = await sharp(readImage('dog_malamute.jpg')).resize(150, 100, { fit: 'fill' }).png().toBuffer();
    assert.ok((await maxDifference(small, YOLOX)) <= 1);
  });

  it('a plain resize (fit "resize") stretches the whole image as sharp does', async () => {
    assert.ok((await maxDifference(readImage('dog_malamute.jpg'), { ...YOLOX, fit: 'resize', size: 320, resize: 320 })) <= 1);
  });

  it('the crop places the image as the gateway does', async () => {
    assert.equal(await maxDifference(readImage('kitten.jpg'), { fit: 'crop', size: 224, resize: 256, fill: 114, align: 'top-left' }), 0);
  });

  it('the grey fills exactly what the image does not cover', () => {
    const box = letterboxGeometry(4, 2, 8, 'centre');
    const white = new Uint8Array(4 * 2 * 4).fill(255);
    const out = letterboxPixels(white, 4, 2, box, 7);
    const covered = [...Array(64).keys()].filter((p) => out[p * 3] === 255);
    const x = (p: number) => p % 8;
    const y = (p: number) => Math.floor(p / 8);
    assert.equal(covered.length, box.width * box.height);
    assert.ok(covered.every((p) => x(p) >= box.left && x(p) < box.left + box.width && y(p) >= box.top && y(p) < box.top + box.height));
    assert.ok([...Array(64).keys()].every((p) => covered.includes(p) || out[p * 3] === 7));
  });

  it('refuses a buffer that is not width x height RGBA', () => {
    assert.throws(() => letterboxPixels(new Uint8Array(10), 4, 4, letterboxGeometry(4, 4, 8, 'top-left'), 114), RangeError);
  });
});
