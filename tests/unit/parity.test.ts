import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compareOutputs, parityImage } from '../../browser-runtime/parity.js';

const f32 = (xs: number[]) => new Float32Array(xs);

describe('parityImage', () => {
  it('has size * size * 3 bytes', () => {
    assert.equal(parityImage(224).length, 224 * 224 * 3);
    assert.equal(parityImage(7).length, 7 * 7 * 3);
    assert.ok(parityImage(4) instanceof Uint8Array);
  });

  it('is deterministic', () => {
    assert.deepEqual(parityImage(224), parityImage(224));
    assert.deepEqual(parityImage(31), parityImage(31));
  });

  it('is not constant in any channel', () => {
    const img = parityImage(224);
    for (let c = 0; c < 3; c++) {
      const values = new Set<number>();
      for (let i = c; i < img.length; i += 3) values.add(img[i]!);
      assert.ok(values.size > 50, `channel ${c} has only ${values.size} distinct values`);
    }
  });

  it('has R running 0..255 along x and G along y', () => {
    const size = 16;
    const img = parityImage(size);
    const at = (x: number, y: number, c: number) => img[(y * size + x) * 3 + c]!;
    assert.equal(at(0, 0, 0), 0);
    assert.equal(at(size - 1, 0, 0), 255);
    assert.equal(at(0, 0, 1), 0);
    assert.equal(at(0, size - 1, 1), 255);
    // R depends on x only, G on y only.
    assert.equal(at(5, 0, 0), at(5, 9, 0));
    assert.equal(at(0, 5, 1), at(9, 5, 1));
    // Monotone gradients: floor(x * 255 / 15) = 17x.
    for (let x = 0; x < size; x++) assert.equal(at(x, 3, 0), 17 * x);
  });

  it('has B = 128 + 127 sin((x² + y²) / (4 size)), truncated to a byte', () => {
    const size = 10;
    const img = parityImage(size);
    for (const [x, y] of [
      [0, 0],
      [3, 4],
      [9, 9],
      [7, 1],
    ] as const) {
      const expected = Math.trunc(128 + 127 * Math.sin((x * x + y * y) / (size * 4)));
      assert.equal(img[(y * size + x) * 3 + 2], expected, `(${x}, ${y})`);
    }
    assert.equal(img[2], 128, 'sin(0) = 0 at the origin');
  });
});

describe('compareOutputs', () => {
  it('passes equal outputs with zero difference', () => {
    const r = compareOutputs(f32([1, -2, 3.5]), f32([1, -2, 3.5]), 0);
    assert.deepEqual(r, { maxAbsDiff: 0, relativeDiff: 0, tolerance: 0, passed: true });
  });

  it('passes empty outputs', () => {
    assert.deepEqual(compareOutputs(f32([]), f32([]), 0.001), { maxAbsDiff: 0, relativeDiff: 0, tolerance: 0.001, passed: true });
  });

  it('reports the largest absolute difference', () => {
    const r = compareOutputs(f32([0.5, 0.25, 0]), f32([0.5, 0.5, 0.125]), 1);
    assert.equal(r.maxAbsDiff, 0.25);
  });

  it('divides by the largest |reference| when it exceeds 1', () => {
    // Largest |reference| is |-8|; largest difference is 0.5 (at index 1): 0.5 / 8 = 0.0625.
    const r = compareOutputs(f32([2, 4.5, -8]), f32([2, 4, -8]), 0.1);
    assert.equal(r.maxAbsDiff, 0.5);
    assert.equal(r.relativeDiff, 0.0625);
    assert.equal(r.passed, true);
  });

  it('uses a floor of 1 for small references, so the relative difference is the absolute one', () => {
    const r = compareOutputs(f32([0.125, 0.25]), f32([0, 0.5]), 1);
    assert.equal(r.maxAbsDiff, 0.25);
    assert.equal(r.relativeDiff, 0.25);
    const zeros = compareOutputs(f32([0.5, 0]), f32([0, 0]), 1);
    assert.equal(zeros.relativeDiff, 0.5);
  });

  it('takes the scale from the reference, not the candidate', () => {
    // Candidate has a 100, reference stays below 1: the scale is the floor 1, not 100.
    const r = compareOutputs(f32([100]), f32([0.5]), 1000);
    assert.equal(r.relativeDiff, 99.5);
  });

  it('passes within the tolerance, including exactly at it, and fails over it', () => {
    const ref = f32([4, 0, 0, 0]);
    // Difference 0.5 against scale 4: relative 0.125 (all exact in float32).
    const cand = f32([4, 0.5, 0, 0]);
    assert.equal(compareOutputs(cand, ref, 0.2).passed, true);
    assert.equal(compareOutputs(cand, ref, 0.125).passed, true);
    const over = compareOutputs(cand, ref, 0.1);
    assert.equal(over.passed, false);
    assert.equal(over.relativeDiff, 0.125);
    assert.equal(over.tolerance, 0.1);
  });

  it('fails on NaN in the candidate', () => {
    const r = compareOutputs(f32([1, NaN, 3]), f32([1, 2, 3]), 1e9);
    assert.equal(r.passed, false);
    assert.equal(r.maxAbsDiff, Infinity);
  });

  it('fails on NaN in the reference', () => {
    assert.equal(compareOutputs(f32([1, 2, 3]), f32([1, NaN, 3]), 1e9).passed, false);
  });

  it('fails on NaN in both', () => {
    assert.equal(compareOutputs(f32([NaN]), f32([NaN]), 1e9).passed, false);
  });

  it('fails on a length mismatch with infinite differences', () => {
    assert.deepEqual(compareOutputs(f32([1, 2]), f32([1, 2, 3]), 0.5), { maxAbsDiff: Infinity, relativeDiff: Infinity, tolerance: 0.5, passed: false });
    assert.equal(compareOutputs(f32([]), f32([0]), Infinity).passed, false);
  });
});
