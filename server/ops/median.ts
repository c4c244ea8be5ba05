/**
 * Middle value, NaNs left out; the mean of the two middle ones for an even count. NaN for no
 * values. For the server's own decisions (wasm-thread-choice.ts) and the benchmarks alike.
 */
export function median(xs: readonly number[]): number {
  const v = xs.filter((x) => !Number.isNaN(x));
  if (v.length === 0) return NaN;
  const sorted = [...v].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
