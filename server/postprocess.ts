// Model output to the answer a client reads. Pure: tested without a browser.

import type { OutputFormat } from './model-config.js';
import { shortLabel } from './model-config.js';

export function softmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    out[i] = Math.exp(logits[i]! - max);
    sum += out[i]!;
  }
  for (let i = 0; i < out.length; i++) out[i]! /= sum;
  return out;
}

/** Indices of the k largest values, largest first; ties keep the lower index first. */
export function topK(values: ArrayLike<number>, k: number): number[] {
  const idx = Array.from({ length: values.length }, (_, i) => i);
  idx.sort((a, b) => values[b]! - values[a]! || a - b);
  return idx.slice(0, Math.min(k, values.length));
}

export type ClassesAnswer = Array<{ class: string; probability: number }>;
export type TorchServeAnswer = Record<string, number>;

export function formatAnswer(
  probabilities: ArrayLike<number>,
  labels: readonly string[],
  k: number,
  format: OutputFormat,
): ClassesAnswer | TorchServeAnswer {
  const top = topK(probabilities, k);
  const label = (i: number) => labels[i] ?? String(i);
  if (format === 'torchserve') {
    // Insertion order is highest first, as TorchServe's image_classifier answers.
    const out: TorchServeAnswer = {};
    for (const i of top) out[shortLabel(label(i))] = probabilities[i]!;
    return out;
  }
  return top.map((i) => ({ class: label(i), probability: probabilities[i]! }));
}
