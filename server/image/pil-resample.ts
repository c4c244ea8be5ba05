// TorchServe's image classifier resizes with torchvision on a PIL image: Resize(256) is
// img.resize((w, h), Image.BILINEAR), CenterCrop(224) cuts at rounded offsets. This redoes both
// on decoded pixels, for models whose config asks for "resampling": "pil". Pure.
//
// PIL's bilinear widens its triangle filter by the reduction (antialias) and resamples in two
// passes, horizontal first, each rounded to 8 bits, with weights in 22-bit fixed point
// (Pillow's libImaging/Resample.c). Followed step by step, the crop comes out the same as PIL's
// to the byte from the same decoded pixels (tests/unit/pil-resample.test.ts).

import type { CropGeometry } from '../../browser-runtime/resize-crop.js';

/**
 * torchvision's Resize(resize) + CenterCrop(crop): the shorter side becomes `resize`, the longer
 * int(resize * long / short), truncated; the offsets are Python's round((side - crop) / 2),
 * halves to even.
 */
export function torchvisionGeometry(width: number, height: number, resize: number, crop: number): CropGeometry {
  const long = (short: number, other: number) => Math.trunc((resize * other) / short);
  const [w, h] = width <= height ? [resize, long(width, height)] : [long(height, width), resize];
  return { width: w, height: h, left: roundHalfEven((w - crop) / 2), top: roundHalfEven((h - crop) / 2) };
}

function roundHalfEven(x: number): number {
  const down = Math.floor(x);
  const rest = x - down;
  if (rest !== 0.5) return Math.round(x);
  return down % 2 === 0 ? down : down + 1;
}

const PRECISION_BITS = 22;
const ONE = 2 ** PRECISION_BITS;

/** Source taps for outputs [first, first + count) of one axis, as Pillow's precompute_coeffs makes them. */
interface Taps {
  start: Int32Array;
  count: Int32Array;
  /** `stride` fixed-point weights per output. */
  weights: Int32Array;
  stride: number;
}

function bilinearTaps(inSize: number, outSize: number, first: number, count: number): Taps {
  const scale = inSize / outSize;
  const filterScale = Math.max(1, scale);
  // The triangle reaches 1 pixel either side, `filterScale` source pixels on reduction.
  const support = filterScale;
  const stride = Math.ceil(support) * 2 + 1;
  const taps: Taps = { start: new Int32Array(count), count: new Int32Array(count), weights: new Int32Array(count * stride), stride };
  const raw = new Float64Array(stride);
  const ss = 1 / filterScale;
  for (let o = 0; o < count; o++) {
    const center = (first + o + 0.5) * scale;
    const lo = Math.max(0, Math.trunc(center - support + 0.5));
    const n = Math.min(inSize, Math.trunc(center + support + 0.5)) - lo;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const x = Math.abs((i + lo - center + 0.5) * ss);
      raw[i] = x < 1 ? 1 - x : 0;
      sum += raw[i]!;
    }
    taps.start[o] = lo;
    taps.count[o] = n;
    for (let i = 0; i < n; i++) taps.weights[o * stride + i] = Math.trunc(0.5 + (sum !== 0 ? raw[i]! / sum : raw[i]!) * ONE);
  }
  return taps;
}

/** Pillow's rounding: half up, then clipped to 0..255. Sums stay below 2^31, as in Pillow's ints. */
const clip8 = (sum: number) => {
  const v = (sum + ONE / 2) >> PRECISION_BITS;
  return v < 0 ? 0 : Math.min(v, 255);
};

/** Resamples `lines` rows of `width` RGB pixels along each row: row by row, for the cache. */
function horizontal(src: Uint8Array, width: number, lines: number, taps: Taps): Uint8Array {
  const count = taps.start.length;
  const out = new Uint8Array(lines * count * 3);
  for (let line = 0; line < lines; line++) {
    const row = line * width * 3;
    for (let o = 0; o < count; o++) {
      const n = taps.count[o]!;
      const w0 = o * taps.stride;
      let at = row + taps.start[o]! * 3;
      let r = 0;
      let g = 0;
      let b = 0;
      for (let j = 0; j < n; j++, at += 3) {
        const k = taps.weights[w0 + j]!;
        r = (r + src[at]! * k) | 0;
        g = (g + src[at + 1]! * k) | 0;
        b = (b + src[at + 2]! * k) | 0;
      }
      const dst = (line * count + o) * 3;
      out[dst] = clip8(r);
      out[dst + 1] = clip8(g);
      out[dst + 2] = clip8(b);
    }
  }
  return out;
}

/** Resamples rows of `rowBytes` bytes down the columns: each output row sums whole input rows. */
function vertical(src: Uint8Array, rowBytes: number, taps: Taps): Uint8Array {
  const count = taps.start.length;
  const out = new Uint8Array(count * rowBytes);
  const sums = new Int32Array(rowBytes);
  for (let o = 0; o < count; o++) {
    sums.fill(0);
    const w0 = o * taps.stride;
    for (let j = 0; j < taps.count[o]!; j++) {
      const k = taps.weights[w0 + j]!;
      const row = (taps.start[o]! + j) * rowBytes;
      for (let i = 0; i < rowBytes; i++) sums[i] = sums[i]! + src[row + i]! * k;
    }
    for (let i = 0; i < rowBytes; i++) out[o * rowBytes + i] = clip8(sums[i]!);
  }
  return out;
}

/**
 * RGB pixels (`width` x `height`, HWC) to the `crop` x `crop` RGB square cut at `g` from the
 * image PIL's bilinear resize would make at `g.width` x `g.height`. Only the rows and columns
 * the crop needs are computed; each is what PIL computes for it.
 */
export function pilResizeAndCrop(rgb: Uint8Array, width: number, height: number, g: CropGeometry, crop: number): Uint8Array {
  if (rgb.length !== width * height * 3) throw new RangeError(`${rgb.length} bytes are not ${width}x${height} RGB`);
  const cols = bilinearTaps(width, g.width, g.left, crop);
  const rows = bilinearTaps(height, g.height, g.top, crop);
  // Horizontal pass over the source rows the vertical pass reads, as PIL does.
  const firstRow = rows.start[0]!;
  const lastRow = rows.start[crop - 1]! + rows.count[crop - 1]!;
  const band = horizontal(rgb.subarray(firstRow * width * 3), width, lastRow - firstRow, cols);
  for (let o = 0; o < crop; o++) rows.start[o] = rows.start[o]! - firstRow;
  return vertical(band, crop * 3, rows);
}
