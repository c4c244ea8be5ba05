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

/**
 * The answer as JSON text, top k highest first. Serialised here rather than by res.json():
 * a JS object would list integer-like keys (class indices, when there are no labels) in
 * numeric order, and TorchServe's format is an object whose order is the ranking.
 */
export function formatAnswer(probabilities: ArrayLike<number>, labels: readonly string[], k: number, format: OutputFormat): string {
  const top = topK(probabilities, k);
  const label = (i: number) => labels[i] ?? String(i);
  if (format === 'classes') {
    return JSON.stringify(top.map((i) => ({ class: label(i), probability: probabilities[i]! })));
  }
  // Two classes can share a short name ("crane", "maillot"): the first, higher one is kept.
  const seen = new Set<string>();
  const members: string[] = [];
  for (const i of top) {
    const name = shortLabel(label(i));
    if (seen.has(name)) continue;
    seen.add(name);
    members.push(`${JSON.stringify(name)}:${JSON.stringify(probabilities[i]!)}`);
  }
  return `{${members.join(',')}}`;
}
