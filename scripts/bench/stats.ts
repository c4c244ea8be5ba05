// Small numeric helpers and the one record every benchmark job returns, so that run.ts can take
// medians across runs without knowing what each job measured.

export interface Figure {
  /** Stable identifier: the same figure across runs is matched by key. */
  key: string;
  label: string;
  unit: string;
  value: number;
}

/** Nearest-rank percentile; NaN for no samples, so a missing figure shows as such, not as 0. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** Middle value; the mean of the two middle ones for an even count (matters for --runs 2). */
export { median } from '../../server/ops/median.js';

export function fmt(x: number): string {
  if (Number.isNaN(x)) return 'n/a';
  // Counts and batch sizes read better without decimals.
  if (Number.isInteger(x)) return String(x);
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : x.toFixed(2);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `step` until roughly `budgetMs` is used or `maxRuns` is reached, after `warmup` untimed
 * runs. The budget, not a fixed count, bounds the time: a batch of 16 costs 16x a batch of 1.
 */
export async function timeRuns(step: () => Promise<void>, opts: { warmup: number; maxRuns: number; minRuns: number; budgetMs: number }): Promise<number[]> {
  let warmMs = 0;
  for (let i = 0; i < opts.warmup; i++) {
    const t = performance.now();
    await step();
    warmMs = performance.now() - t;
  }
  const runs = Math.max(opts.minRuns, Math.min(opts.maxRuns, Math.floor(opts.budgetMs / Math.max(warmMs, 0.1))));
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await step();
    times.push(performance.now() - t);
  }
  return times;
}
