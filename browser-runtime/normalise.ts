import type { Normalisation } from './protocol.js';

/**
 * uint8 HWC RGB pixels (batch images back to back) to the float32 tensor the model wants.
 * Runs in the page so that only a quarter of the bytes cross the DevTools channel.
 */
export function normalise(pixels: Uint8Array, batch: number, n: Normalisation): Float32Array {
  const plane = n.size * n.size;
  if (pixels.length !== batch * plane * 3) {
    throw new RangeError(`expected ${batch * plane * 3} bytes for ${batch} image(s) of ${n.size}x${n.size}x3, got ${pixels.length}`);
  }
  const bgr = n.channelOrder === 'BGR';
  // (x * scale - mean) / std folded into x * a + b, per output channel; mean and std are
  // given in RGB order, so a BGR model's first channel takes the blue ones.
  const a = new Float32Array(3);
  const b = new Float32Array(3);
  for (let c = 0; c < 3; c++) {
    const src = bgr ? 2 - c : c;
    a[c] = n.scale / n.std[src]!;
    b[c] = -n.mean[src]! / n.std[src]!;
  }
  const out = new Float32Array(pixels.length);
  for (let img = 0; img < batch; img++) {
    const base = img * plane * 3;
    for (let c = 0; c < 3; c++) {
      const src = bgr ? 2 - c : c;
      const ac = a[c]!;
      const bc = b[c]!;
      if (n.layout === 'NCHW') {
        const dst = base + c * plane;
        for (let i = 0; i < plane; i++) out[dst + i] = pixels[base + i * 3 + src]! * ac + bc;
      } else {
        for (let i = 0; i < plane; i++) out[base + i * 3 + c] = pixels[base + i * 3 + src]! * ac + bc;
      }
    }
  }
  return out;
}

export function tensorDims(batch: number, n: Normalisation): number[] {
  return n.layout === 'NCHW' ? [batch, 3, n.size, n.size] : [batch, n.size, n.size, 3];
}
