// Softmax and top-k: run in the page so that only the answer crosses the DevTools channel,
// and used by the gateway's tests as the reference. Pure.

/** Softmax of `row` (float64 accumulation), written into `out`. */
export function softmaxInto(row: ArrayLike<number>, out: Float64Array | Float32Array): void {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) max = Math.max(max, row[i]!);
  let sum = 0;
  for (let i = 0; i < row.length; i++) {
    const e = Math.exp(row[i]! - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < row.length; i++) out[i] = out[i]! / sum;
}

export function softmax(row: ArrayLike<number>): Float64Array {
  const out = new Float64Array(row.length);
  softmaxInto(row, out);
  return out;
}

/** Indices of the k largest values, largest first; ties keep the lower index first. */
export function topK(values: ArrayLike<number>, k: number): number[] {
  const n = Math.min(k, values.length);
  if (n <= 0) return [];
  const better = (a: number, b: number) => values[a]! > values[b]! || (values[a]! === values[b]! && a < b);
  if (n > 64) {
    const idx = Array.from({ length: values.length }, (_, i) => i);
    idx.sort((a, b) => (better(a, b) ? -1 : better(b, a) ? 1 : 0));
    return idx.slice(0, n);
  }
  // Small k (the usual 5): one pass with a sorted insertion list, no full sort of 1000 classes.
  const top: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (top.length === n && !better(i, top[n - 1]!)) continue;
    let j = top.length === n ? n - 1 : top.length;
    while (j > 0 && better(i, top[j - 1]!)) {
      top[j] = top[j - 1]!;
      j--;
    }
    top[j] = i;
  }
  return top;
}
