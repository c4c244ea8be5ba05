// Model output to the answer a client reads. Pure: tested without a browser.

import type { OutputFormat } from '../store/model-config.js';
import { shortLabel } from '../store/model-config.js';
import { topK } from '../../browser-runtime/top-k.js';

export { softmax, topK } from '../../browser-runtime/top-k.js';

/**
 * The answer as JSON text, from classes already ranked highest first (the page ranks them).
 * Serialised here rather than by res.json(): a JS object would list integer-like keys (class
 * indices, when there are no labels) in numeric order, and TorchServe's format is an object
 * whose order is the ranking.
 */
export function formatRanked(classes: ArrayLike<number>, probabilities: ArrayLike<number>, labels: readonly string[], format: OutputFormat): string {
  const label = (i: number) => labels[i] ?? String(i);
  const n = Math.min(classes.length, probabilities.length);
  if (format === 'classes') {
    return JSON.stringify(Array.from({ length: n }, (_, r) => ({ class: label(classes[r]!), probability: probabilities[r]! })));
  }
  // Two classes can share a short name ("crane", "maillot"): the first, higher one is kept.
  const seen = new Set<string>();
  const members: string[] = [];
  for (let r = 0; r < n; r++) {
    const name = shortLabel(label(classes[r]!));
    if (seen.has(name)) continue;
    seen.add(name);
    members.push(`${JSON.stringify(name)}:${JSON.stringify(probabilities[r]!)}`);
  }
  return `{${members.join(',')}}`;
}

/** Ranks a whole probability vector and formats the top k. */
export function formatAnswer(probabilities: ArrayLike<number>, labels: readonly string[], k: number, format: OutputFormat): string {
  const top = topK(probabilities, k);
  return formatRanked(
    top,
    top.map((i) => probabilities[i]!),
    labels,
    format,
  );
}
