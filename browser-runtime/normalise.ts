import type { Normalisation } from './protocol.js';

/**
 * uint8 HWC RGB pixels (batch images back to back) to the float32 tensor the model wants.
 * Runs in the page so that only a quarter of the bytes cross the DevTools channel. `into`, when
 * given, is written instead of a new array (a buffer the caller reuses: a batch's tensor is
 * megabytes, and a fresh one is zeroed first).
 */
export function normalise(pixels: Uint8Array, batch: number, n: Normalisation, into?: Float32Array): Float32Array {
  const plane = n.size * n.size;
  checkPixelCount(pixels.length, batch, n);
  if (into && into.length !== pixels.length) throw new RangeError(`a buffer of ${into.length} values for ${pixels.length} pixels`);
  const out = into ?? new Float32Array(pixels.length);
  const lut = channelTables(n);
  // Where each source channel (R, G, B) goes: a BGR model's first channel is the blue one.
  const bgr = n.channelOrder === 'BGR';
  const [r, g, b] = bgr ? [2, 1, 0] : [0, 1, 2];
  // One pass over the pixels in order, three writes each: the input is read once, sequentially.
  for (let img = 0; img < batch; img++) {
    const base = img * plane * 3;
    if (n.layout === 'NCHW') {
      const oR = base + r * plane;
      const oG = base + g * plane;
      const oB = base + b * plane;
      for (let i = 0, j = base; i < plane; i++, j += 3) {
        out[oR + i] = lut[pixels[j]!]!;
        out[oG + i] = lut[256 + pixels[j + 1]!]!;
        out[oB + i] = lut[512 + pixels[j + 2]!]!;
      }
    } else {
      for (let j = base; j < base + plane * 3; j += 3) {
        out[j + r] = lut[pixels[j]!]!;
        out[j + g] = lut[256 + pixels[j + 1]!]!;
        out[j + b] = lut[512 + pixels[j + 2]!]!;
      }
    }
  }
  return out;
}

/** A RangeError unless `length` bytes are `batch` images of the model's input size. */
export function checkPixelCount(length: number, batch: number, n: Normalisation): void {
  const want = batch * n.size * n.size * 3;
  if (length !== want) throw new RangeError(`expected ${want} bytes for ${batch} image(s) of ${n.size}x${n.size}x3, got ${length}`);
}

/**
 * Every value a pixel can take, normalised, for the source channels R, G and B in turn (256
 * each): x * (scale / std) + (-mean / std) with both factors float32, as it was computed per
 * pixel before, so the tensor is the same to the bit.
 */
function channelTables(n: Normalisation): Float32Array {
  const lut = new Float32Array(768);
  for (let c = 0; c < 3; c++) {
    const a = Math.fround(n.scale / n.std[c]!);
    const b = Math.fround(-n.mean[c]! / n.std[c]!);
    for (let v = 0; v < 256; v++) lut[c * 256 + v] = v * a + b;
  }
  return lut;
}

export function tensorDims(batch: number, n: Normalisation): number[] {
  return n.layout === 'NCHW' ? [batch, 3, n.size, n.size] : [batch, n.size, n.size, 3];
}
