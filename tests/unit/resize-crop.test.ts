// The browser-side resize and crop against the gateway's sharp pipeline, on the real fixtures:
// a local run in the demo page is only comparable with the server's if its input is the same.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { preprocess, UNGATED } from '../../server/image/preprocess.js';
import { resizeAndCrop, resizeGeometry } from '../../browser-runtime/resize-crop.js';
import { readImage } from '../support/paths.js';

const OPTS = { resize: 256, crop: 224, maxPixels: 40_000_000, maxJpegScans: 100 };

/** What a canvas would hand the page: the decoded image as RGBA. */
async function rgba(image: Buffer) {
  const { data, info } = await sharp(image).rotate().removeAlpha().ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

async function compare(image: Buffer) {
  const reference = await preprocess(image, OPTS, UNGATED);
  const { data, width, height } = await rgba(image);
  const mine = resizeAndCrop(data, width, height, resizeGeometry(width, height, OPTS.resize, OPTS.crop), OPTS.crop);
  assert.equal(mine.length, reference.length);
  let sum = 0;
  let max = 0;
  for (let i = 0; i < mine.length; i++) {
    const d = Math.abs(mine[i]! - reference[i]!);
    sum += d;
    max = Math.max(max, d);
  }
  return { mean: sum / mine.length, max };
}

describe('resizeAndCrop matches sharp', () => {
  for (const name of ['kitten.jpg', 'espresso_coffee.png', 'bald_eagle.jpg', 'cat_chelsea.png', 'dog_malamute.jpg', 'dog_640x480.jpg']) {
    it(`${name}: the same bytes`, async () => {
      const { max } = await compare(readImage(name));
      assert.equal(max, 0);
    });
  }

  it('an image smaller than the crop is enlarged as sharp enlarges it', async () => {
    const small = await sharp(readImage('dog_malamute.jpg')).resize(150, 100, { fit: 'fill' }).png().toBuffer();
    const { max } = await compare(small);
    assert.equal(max, 0);
  });

  it('a reduction of 4x or more shrinks by a whole factor first, as libvips does', async () => {
    const large = await sharp(readImage('dog_malamute.jpg')).resize(3000, 2250, { fit: 'fill' }).png().toBuffer();
    const { max } = await compare(large);
    assert.equal(max, 0);
  });

  it('a large JPEG stays close though sharp decodes it at a fraction of its size', async () => {
    const large = await sharp(readImage('dog_malamute.jpg')).resize(3000, 2250, { fit: 'fill' }).jpeg().toBuffer();
    const { mean } = await compare(large);
    assert.ok(mean < 1.5, `mean difference ${mean}`);
  });

  it('refuses a buffer that is not width x height RGBA', () => {
    assert.throws(() => resizeAndCrop(new Uint8Array(10), 4, 4, resizeGeometry(4, 4, 256, 224), 224), RangeError);
  });
});
