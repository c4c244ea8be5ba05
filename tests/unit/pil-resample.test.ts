// torchvision's geometry and PIL's bilinear resample, without Python: the small cases below were
// checked with Pillow 9.4.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resizeGeometry } from '../../browser-runtime/resize-crop.js';
import { pilResizeAndCrop, torchvisionGeometry } from '../../server/pil-resample.js';

/** `width` x `height` RGB, every row `row` (grey levels), every channel the same. */
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
