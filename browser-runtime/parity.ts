import type { ParityReport } from './protocol.js';

/**
 * A deterministic, image-like input (smooth gradients plus texture) for comparing two
 * execution providers. Random noise would give a flat output in which a broken provider
 * can hide; this pattern drives the network into confident, varied activations.
 */
export function parityImage(size: number): Uint8Array {
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 3;
      out[i] = (x * 255) / (size - 1);
      out[i + 1] = (y * 255) / (size - 1);
      out[i + 2] = 128 + 127 * Math.sin((x * x + y * y) / (size * 4));
    }
  }
  return out;
}

export function compareOutputs(candidate: Float32Array, reference: Float32Array, tolerance: number): ParityReport {
  if (candidate.length !== reference.length) {
    return { maxAbsDiff: Infinity, relativeDiff: Infinity, tolerance, passed: false };
  }
  let maxAbsDiff = 0;
  let scale = 1;
  for (let i = 0; i < reference.length; i++) {
    const d = Math.abs(candidate[i]! - reference[i]!);
    // NaN must fail the comparison, so it is folded in as Infinity.
    maxAbsDiff = Math.max(maxAbsDiff, Number.isNaN(d) ? Infinity : d);
    scale = Math.max(scale, Math.abs(reference[i]!));
  }
  const relativeDiff = maxAbsDiff / scale;
  return { maxAbsDiff, relativeDiff, tolerance, passed: relativeDiff <= tolerance };
}
