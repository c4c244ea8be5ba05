// The resize-and-crop geometry the gateway's preprocessing uses (server/image/preprocess.ts, with
// sharp), and the same resampling redone on decoded pixels, so that a run in the visitor's
// browser sees the input the server would. Pure: tested against sharp without a browser.
//
// It follows libvips' resize with sharp's "linear" kernel step by step, because the model
// notices: resampled within one level but not exactly, the kitten's top probabilities moved
// by 0.007. Vertical first, each pass rounded to 8 bits; a triangle filter as wide as the
// reduction, taken from libvips' table of 1/64-pixel positions, its weights truncated to 12-bit
// fixed point, the edge repeated past the image; reductions of 4x or more start with a box
// shrink by an integer factor; enlargements interpolate bilinearly.

import type { Placement } from './handler-api.js';

export interface CropGeometry {
  /** Size of the resized image the crop is cut from. */
  width: number;
  height: number;
  left: number;
  top: number;
}

/** Resize so the shorter side is `resize`, then the centre `crop` square: torchvision's Resize + CenterCrop. */
export function resizeGeometry(width: number, height: number, resize: number, crop: number): CropGeometry {
  const s = resize / Math.min(width, height);
  const w = Math.max(crop, Math.round(width * s));
  const h = Math.max(crop, Math.round(height * s));
  return { width: w, height: h, left: Math.floor((w - crop) / 2), top: Math.floor((h - crop) / 2) };
}

/** How an image is fitted to the model's square input. */
export type Fit = 'crop' | 'letterbox' | 'resize';

/**
 * A letterbox: the whole image scaled by `scale` to `width` x `height`, within a square of side
 * `size` whose rest (`left`, `top` and what is past the image) is filled with one grey. Detectors
 * see the whole image this way, undistorted; their boxes map back by the same numbers.
 */
export interface Letterbox {
  size: number;
  scale: number;
  width: number;
  height: number;
  left: number;
  top: number;
}

/** `align` 'top-left' is YOLOX's (the image at the corner), 'centre' the other common choice. */
export function letterboxGeometry(width: number, height: number, size: number, align: 'top-left' | 'centre'): Letterbox {
  const scale = Math.min(size / width, size / height);
  // Truncated, as YOLOX's preprocessing does (int(w * r)); never below a pixel.
  const w = Math.max(1, Math.min(size, Math.floor(width * scale)));
  const h = Math.max(1, Math.min(size, Math.floor(height * scale)));
  const [left, top] = align === 'centre' ? [Math.floor((size - w) / 2), Math.floor((size - h) / 2)] : [0, 0];
  return { size, scale, width: w, height: h, left, top };
}

/** Where a resized image (cropped, or letterboxed) sits in the input: how its positions map back to the `width` x `height` original. */
export function placementIn(width: number, height: number, fitted: CropGeometry | Letterbox): Placement {
  // A crop is cut at (left, top) of the resized image; a letterbox puts the image at (left, top).
  const [left, top] = 'size' in fitted ? [fitted.left, fitted.top] : [-fitted.left, -fitted.top];
  return { width, height, scaleX: fitted.width / width, scaleY: fitted.height / height, left, top };
}

/** How an image of `width` x `height` is placed in the `size` square input for each fit. */
export function inputPlacement(width: number, height: number, fit: Fit, size: number, resize: number, align: 'top-left' | 'centre'): Placement {
  if (fit === 'letterbox') return placementIn(width, height, letterboxGeometry(width, height, size, align));
  if (fit === 'resize') return placementIn(width, height, { width: size, height: size, left: 0, top: 0 });
  return placementIn(width, height, resizeGeometry(width, height, resize, size));
}

/** Interleaved pixels; `channels` is 4 only for the RGBA input, whose alpha is dropped. */
interface Pixels {
  /** Float only between the two passes of an enlargement, which libvips does in one step. */
  data: Uint8Array | Uint8ClampedArray | Float32Array;
  width: number;
  height: number;
  channels: 3 | 4;
}

type Axis = 'x' | 'y';

const FIXED_SHIFT = 12;
const FIXED_ONE = 1 << FIXED_SHIFT;
// libvips reduces by an integer factor first once the reduction is at least twice this.
const REDUCE_GAP = 2;

/** Source taps for outputs [first, first + count) of one axis: sample indices and weights. */
interface Taps {
  start: Int32Array;
  count: Int32Array;
  /** `stride` per output; fixed point for reductions, plain for enlargements. */
  weights: Float64Array;
  stride: number;
  fixed: boolean;
}

/** C's rint in its default mode: halves to even. */
const rint = (v: number) => (Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v));

// libvips tabulates its masks at this many sub-pixel positions and snaps each output to one.
const SUBPIXELS = 64;

/**
 * libvips' reduce (reduceh/reducev): a triangle as wide as the reduction, its mask taken from a
 * table of 1/64-pixel positions; samples past the edge repeat the edge (its embed "copy").
 */
function reduceTaps(shrink: number, extraPixels: number, first: number, count: number): Taps {
  const points = 2 * rint(shrink) + 1;
  // Where the resize drops or invents part of a pixel, the margins share it.
  const offset = (1 + extraPixels) / 2 - 1;
  const lead = Math.ceil(points / 2) - 1;
  const taps: Taps = { start: new Int32Array(count), count: new Int32Array(count), weights: new Float64Array(count * points), stride: points, fixed: true };
  const raw = new Float64Array(points);
  for (let o = 0; o < count; o++) {
    const centre = (first + o + 0.5) * shrink - 0.5 - offset;
    // As libvips' C casts do: truncated, then the fraction snapped to the nearest table entry.
    const whole = Math.trunc(centre);
    const at = ((Math.trunc(centre * SUBPIXELS * 2) & (SUBPIXELS * 2 - 1)) + 1) >> 1;
    const half = at / SUBPIXELS + points / 2 - 1;
    let sum = 0;
    for (let i = 0; i < points; i++) {
      raw[i] = Math.max(0, 1 - Math.abs((i - half) / shrink));
      sum += raw[i]!;
    }
    taps.start[o] = whole - lead;
    taps.count[o] = points;
    for (let i = 0; i < points; i++) taps.weights[o * points + i] = Math.trunc((raw[i]! / sum) * FIXED_ONE);
  }
  return taps;
}

/** libvips' enlargement with the linear kernel: bilinear, sampled at o * scale - 0.5. */
function enlargeTaps(inSize: number, outSize: number, first: number, count: number): Taps {
  const scale = inSize / outSize;
  const taps: Taps = { start: new Int32Array(count), count: new Int32Array(count), weights: new Float64Array(count * 2), stride: 2, fixed: false };
  for (let o = 0; o < count; o++) {
    const x = Math.min(inSize - 1, Math.max(0, (first + o) * scale - 0.5));
    const i = Math.min(inSize - 2, Math.floor(x));
    const t = x - i;
    taps.start[o] = Math.max(0, i);
    taps.count[o] = inSize > 1 ? 2 : 1;
    taps.weights[o * 2] = inSize > 1 ? 1 - t : 1;
    taps.weights[o * 2 + 1] = t;
  }
  return taps;
}

const extent = (p: Pixels, axis: Axis) => (axis === 'x' ? p.width : p.height);

/** Applies taps along one axis, the other kept whole; taps outside the image read its edge. Output is RGB, 8-bit unless `unrounded`. */
function resample(src: Pixels, axis: Axis, taps: Taps, unrounded = false): Pixels {
  const count = taps.start.length;
  const width = axis === 'x' ? count : src.width;
  const height = axis === 'y' ? count : src.height;
  const out = unrounded ? new Float32Array(width * height * 3) : new Uint8Array(width * height * 3);
  const c = src.channels;
  const along = axis === 'x' ? c : src.width * c;
  const across = axis === 'x' ? src.width * c : c;
  const lines = axis === 'x' ? src.height : src.width;
  // A tap past either edge reads the edge sample.
  const last = extent(src, axis) - 1;
  const outAlong = axis === 'x' ? 3 : width * 3;
  const outAcross = axis === 'x' ? width * 3 : 3;
  const round = taps.fixed ? FIXED_ONE / 2 : 0.5;
  const scale = taps.fixed ? 1 / FIXED_ONE : 1;
  for (let o = 0; o < count; o++) {
    const s = taps.start[o]!;
    const n = taps.count[o]!;
    const w0 = o * taps.stride;
    const inside = s >= 0 && s + n - 1 <= last;
    for (let line = 0; line < lines; line++) {
      const lineBase = line * across;
      const outBase = line * outAcross + o * outAlong;
      for (let ch = 0; ch < 3; ch++) {
        let sum = 0;
        if (inside) for (let j = 0; j < n; j++) sum += src.data[lineBase + (s + j) * along + ch]! * taps.weights[w0 + j]!;
        else for (let j = 0; j < n; j++) sum += src.data[lineBase + Math.min(last, Math.max(0, s + j)) * along + ch]! * taps.weights[w0 + j]!;
        if (unrounded) {
          out[outBase + ch] = sum * scale;
          continue;
        }
        const v = Math.floor((sum + round) * scale);
        out[outBase + ch] = v < 0 ? 0 : Math.min(v, 255);
      }
    }
  }
  return { data: out, width, height, channels: 3 };
}

/** libvips' shrinkh/shrinkv: the mean of each `factor` samples, rounded; a last partial block averages what it has. */
function boxShrink(src: Pixels, axis: Axis, factor: number): Pixels {
  const size = extent(src, axis);
  const count = Math.ceil(size / factor);
  const taps: Taps = { start: new Int32Array(count), count: new Int32Array(count), weights: new Float64Array(count * factor), stride: factor, fixed: false };
  for (let o = 0; o < count; o++) {
    const n = Math.min(factor, size - o * factor);
    taps.start[o] = o * factor;
    taps.count[o] = n;
    for (let j = 0; j < n; j++) taps.weights[o * factor + j] = 1 / n;
  }
  return resample(src, axis, taps);
}

/** Resizes one axis from its size to `outSize`, keeping outputs [first, first + count). */
function resizeAxis(src: Pixels, axis: Axis, outSize: number, first: number, count: number, unrounded = false): Pixels {
  const inSize = extent(src, axis);
  if (outSize > inSize) return resample(src, axis, enlargeTaps(inSize, outSize, first, count), unrounded);
  let shrink = inSize / outSize;
  let extraPixels = outSize * shrink - inSize;
  let img = src;
  const whole = Math.max(1, Math.floor(inSize / outSize / REDUCE_GAP));
  if (whole > 1) {
    img = boxShrink(src, axis, whole);
    shrink /= whole;
    extraPixels /= whole;
  }
  return resample(img, axis, reduceTaps(shrink, extraPixels, first, count));
}

/**
 * RGBA pixels (`width` x `height`, as canvas getImageData gives them) to the `crop` x `crop`
 * RGB square, HWC uint8, cut at `g` from the image resized to `g.width` x `g.height`.
 * Only the crop's rows and columns are computed.
 */
export function resizeAndCrop(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number, g: CropGeometry, crop: number): Uint8Array {
  if (rgba.length !== width * height * 4) throw new RangeError(`${rgba.length} bytes are not ${width}x${height} RGBA`);
  const enlarging = g.height > height && g.width > width;
  const rows = resizeAxis({ data: rgba, width, height, channels: 4 }, 'y', g.height, g.top, crop, enlarging);
  return resizeAxis(rows, 'x', g.width, g.left, crop).data as Uint8Array;
}

/**
 * RGBA pixels to the letterbox `box` (the `box.size` square, RGB, HWC uint8) as the gateway makes
 * it with sharp: the whole image resized to `box.width` x `box.height`, then extended with `fill`.
 */
export function letterboxPixels(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number, box: Letterbox, fill: number): Uint8Array {
  if (rgba.length !== width * height * 4) throw new RangeError(`${rgba.length} bytes are not ${width}x${height} RGBA`);
  const enlarging = box.height > height && box.width > width;
  const rows = resizeAxis({ data: rgba, width, height, channels: 4 }, 'y', box.height, 0, box.height, enlarging);
  const resized = resizeAxis(rows, 'x', box.width, 0, box.width).data;
  const out = new Uint8Array(box.size * box.size * 3).fill(fill);
  const line = box.width * 3;
  for (let y = 0; y < box.height; y++) out.set(resized.subarray(y * line, (y + 1) * line), ((box.top + y) * box.size + box.left) * 3);
  return out;
}

/** How the model's config fits images to its input (preprocessing's fit, size, resize, fill, align). */
export interface InputFit {
  fit: Fit;
  size: number;
  resize: number;
  fill: number;
  align: 'top-left' | 'centre';
}

/** RGBA pixels to the model's input square, as the gateway's preprocessing makes it for `f`. */
export function inputPixels(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number, f: InputFit): Uint8Array {
  if (f.fit === 'letterbox') return letterboxPixels(rgba, width, height, letterboxGeometry(width, height, f.size, f.align), f.fill);
  const g = f.fit === 'resize' ? { width: f.size, height: f.size, left: 0, top: 0 } : resizeGeometry(width, height, f.resize, f.size);
  return resizeAndCrop(rgba, width, height, g, f.size);
}
