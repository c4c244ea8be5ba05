import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalise, tensorDims } from '../../browser-runtime/normalise.js';
import type { Normalisation } from '../../browser-runtime/protocol.js';

const IMAGENET_MEAN: [number, number, number] = [0.485, 0.456, 0.406];
const IMAGENET_STD: [number, number, number] = [0.229, 0.224, 0.225];

function norm(overrides: Partial<Normalisation> = {}): Normalisation {
  return { size: 1, channelOrder: 'RGB', layout: 'NCHW', scale: 1, mean: [0, 0, 0], std: [1, 1, 1], ...overrides };
}

function assertClose(actual: ArrayLike<number>, expected: readonly number[], tol = 1e-6): void {
  assert.equal(actual.length, expected.length, 'length');
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol, `[${i}]: got ${actual[i]}, expected ${expected[i]}`);
  }
}

/** A 2x2 RGB image whose pixel i is (3i+1, 3i+2, 3i+3), plus an offset. */
function image2x2(offset = 0): number[] {
  return Array.from({ length: 12 }, (_, i) => i + 1 + offset);
}

describe('normalise', () => {
  it('applies (x * scale - mean) / std per channel with the ImageNet numbers', () => {
    const n = norm({ scale: 1 / 255, mean: IMAGENET_MEAN, std: IMAGENET_STD });
    const out = normalise(new Uint8Array([255, 0, 128]), 1, n);
    assert.ok(out instanceof Float32Array);
    assertClose(out, [
      (255 / 255 - 0.485) / 0.229, // 0.515 / 0.229 = 2.24890...
      (0 / 255 - 0.456) / 0.224, // -2.03571...
      (128 / 255 - 0.406) / 0.225, // 0.09596... / 0.225 = 0.42649...
    ]);
    // The same, written out as decimals.
    assertClose(out, [2.2489082969, -2.0357142857, 0.4264923747]);
  });

  it('covers the full 0..255 range for each channel', () => {
    const n = norm({ scale: 1 / 255, mean: IMAGENET_MEAN, std: IMAGENET_STD });
    for (let v = 0; v <= 255; v += 17) {
      const out = normalise(new Uint8Array([v, v, v]), 1, n);
      assertClose(
        out,
        [0, 1, 2].map((c) => (v / 255 - IMAGENET_MEAN[c]!) / IMAGENET_STD[c]!),
      );
    }
  });

  it('works with a caffe-style scale of 1 and large means', () => {
    const n = norm({ scale: 1, mean: [123.68, 116.779, 103.939], std: [58.393, 57.12, 57.375] });
    assertClose(normalise(new Uint8Array([200, 100, 0]), 1, n), [(200 - 123.68) / 58.393, (100 - 116.779) / 57.12, (0 - 103.939) / 57.375]);
  });

  it('places a 2x2 image as planes in NCHW', () => {
    const out = normalise(new Uint8Array(image2x2()), 1, norm({ size: 2, layout: 'NCHW' }));
    // R plane (pixels 0..3), then G, then B.
    assert.deepEqual([...out], [1, 4, 7, 10, 2, 5, 8, 11, 3, 6, 9, 12]);
  });

  it('keeps pixel order and channels interleaved in NHWC', () => {
    const out = normalise(new Uint8Array(image2x2()), 1, norm({ size: 2, layout: 'NHWC' }));
    assert.deepEqual([...out], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('reverses the channels for BGR, in both layouts', () => {
    const nchw = normalise(new Uint8Array(image2x2()), 1, norm({ size: 2, layout: 'NCHW', channelOrder: 'BGR' }));
    assert.deepEqual([...nchw], [3, 6, 9, 12, 2, 5, 8, 11, 1, 4, 7, 10]);
    const nhwc = normalise(new Uint8Array(image2x2()), 1, norm({ size: 2, layout: 'NHWC', channelOrder: 'BGR' }));
    assert.deepEqual([...nhwc], [3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10]);
  });

  it('normalises each channel with its own mean and std (RGB)', () => {
    const n = norm({ size: 2, layout: 'NHWC', mean: [1, 2, 3], std: [2, 4, 8] });
    const px = image2x2();
    const expected = px.map((v, i) => (v - [1, 2, 3][i % 3]!) / [2, 4, 8][i % 3]!);
    assertClose(normalise(new Uint8Array(px), 1, n), expected);
  });

  it('with BGR, applies mean and std by RGB channel, as protocol.ts documents', () => {
    // Normalisation.mean/std are documented as "per channel (in RGB order)".
    const n = norm({ size: 1, layout: 'NCHW', channelOrder: 'BGR', mean: [10, 20, 30], std: [1, 2, 5] });
    const out = normalise(new Uint8Array([100, 100, 100]), 1, n);
    // Output is B, G, R; B uses mean[2]/std[2], R uses mean[0]/std[0].
    assertClose(out, [(100 - 30) / 5, (100 - 20) / 2, (100 - 10) / 1]);
  });

  it('lays a batch of 2 out image after image', () => {
    const a = image2x2(0);
    const b = image2x2(100);
    const n = norm({ size: 2, layout: 'NCHW' });
    const out = normalise(new Uint8Array([...a, ...b]), 2, n);
    assert.equal(out.length, 24);
    assert.deepEqual([...out.subarray(0, 12)], [1, 4, 7, 10, 2, 5, 8, 11, 3, 6, 9, 12]);
    assert.deepEqual([...out.subarray(12)], [101, 104, 107, 110, 102, 105, 108, 111, 103, 106, 109, 112]);
    // Each half equals the single-image result.
    assert.deepEqual([...out.subarray(12)], [...normalise(new Uint8Array(b), 1, n)]);

    const nhwc = normalise(new Uint8Array([...a, ...b]), 2, norm({ size: 2, layout: 'NHWC', channelOrder: 'BGR' }));
    assert.deepEqual([...nhwc.subarray(12)], [103, 102, 101, 106, 105, 104, 109, 108, 107, 112, 111, 110]);
  });

  it('does not change its input', () => {
    const px = new Uint8Array(image2x2());
    normalise(px, 1, norm({ size: 2, scale: 1 / 255, mean: IMAGENET_MEAN, std: IMAGENET_STD }));
    assert.deepEqual([...px], image2x2());
  });

  it('throws RangeError for the wrong number of bytes', () => {
    const n = norm({ size: 2 });
    assert.throws(() => normalise(new Uint8Array(11), 1, n), RangeError);
    assert.throws(() => normalise(new Uint8Array(13), 1, n), RangeError);
    assert.throws(
      () => normalise(new Uint8Array(12), 2, n),
      (e: unknown) => e instanceof RangeError && /expected 24 bytes/.test(e.message) && /got 12/.test(e.message),
    );
    assert.throws(() => normalise(new Uint8Array(224 * 224 * 4), 1, norm({ size: 224 })), RangeError, 'RGBA is not RGB');
  });

  it('accepts a batch of 0 with no bytes', () => {
    assert.equal(normalise(new Uint8Array(0), 0, norm({ size: 4 })).length, 0);
  });
});

/**
 * The per-pixel formula the tables replace, kept here as the reference: the tensor the models'
 * reference answers were computed from.
 */
function perPixel(pixels: Uint8Array, batch: number, n: Normalisation): Float32Array {
  const plane = n.size * n.size;
  const out = new Float32Array(pixels.length);
  for (let img = 0; img < batch; img++) {
    for (let c = 0; c < 3; c++) {
      const src = n.channelOrder === 'BGR' ? 2 - c : c;
      const a = Math.fround(n.scale / n.std[src]!);
      const b = Math.fround(-n.mean[src]! / n.std[src]!);
      for (let i = 0; i < plane; i++) {
        const at = n.layout === 'NCHW' ? img * plane * 3 + c * plane + i : img * plane * 3 + i * 3 + c;
        out[at] = pixels[img * plane * 3 + i * 3 + src]! * a + b;
      }
    }
  }
  return out;
}

describe('normalise against the per-pixel formula', () => {
  const pixels = Uint8Array.from({ length: 2 * 5 * 5 * 3 }, (_, i) => (i * 97 + (i >> 3)) & 255);
  for (const layout of ['NCHW', 'NHWC'] as const) {
    for (const channelOrder of ['RGB', 'BGR'] as const) {
      it(`is the same to the bit, ${layout} ${channelOrder}, every byte value`, () => {
        const n = norm({ size: 5, layout, channelOrder, scale: 1 / 255, mean: IMAGENET_MEAN, std: IMAGENET_STD });
        assert.deepEqual(normalise(pixels, 2, n), perPixel(pixels, 2, n));
        const every = Uint8Array.from({ length: 16 * 16 * 3 }, (_, i) => i % 256);
        const n16 = { ...n, size: 16 };
        assert.deepEqual(normalise(every, 1, n16), perPixel(every, 1, n16));
      });
    }
  }

  it('writes into a buffer it is given, over what was there', () => {
    const n = norm({ size: 5, scale: 1 / 255, mean: IMAGENET_MEAN, std: IMAGENET_STD });
    const into = new Float32Array(pixels.length).fill(Number.NaN);
    assert.equal(normalise(pixels, 2, n, into), into);
    assert.deepEqual(into, perPixel(pixels, 2, n));
    assert.throws(() => normalise(pixels, 2, n, new Float32Array(3)), RangeError);
  });
});

describe('tensorDims', () => {
  it('gives [batch, 3, size, size] for NCHW', () => {
    assert.deepEqual(tensorDims(1, norm({ size: 224, layout: 'NCHW' })), [1, 3, 224, 224]);
    assert.deepEqual(tensorDims(8, norm({ size: 299, layout: 'NCHW' })), [8, 3, 299, 299]);
  });

  it('gives [batch, size, size, 3] for NHWC', () => {
    assert.deepEqual(tensorDims(1, norm({ size: 224, layout: 'NHWC' })), [1, 224, 224, 3]);
    assert.deepEqual(tensorDims(4, norm({ size: 2, layout: 'NHWC' })), [4, 2, 2, 3]);
  });

  it('describes as many elements as normalise returns', () => {
    for (const layout of ['NCHW', 'NHWC'] as const) {
      const n = norm({ size: 3, layout });
      const out = normalise(new Uint8Array(2 * 3 * 3 * 3), 2, n);
      assert.equal(
        tensorDims(2, n).reduce((a, b) => a * b, 1),
        out.length,
      );
    }
  });
});
