// The object detector's first cut on the GPU: on a WebGPU session the raw rows [batch, rows, 5 +
// classes] stay where the model wrote them, and one compute pass keeps the rows that may score at
// least the threshold, each as its index, best class and the raw values the answer is made from.
// Only those are read back (YOLOX-Nano: a few dozen rows of 32 bytes instead of 3549 of 340), and
// object-detector.ts makes the boxes from them exactly as from the whole output: the pass only
// filters (a hair below the threshold, so that float32 rounding never drops a row JavaScript keeps)
// and JavaScript scores and thresholds again in the same arithmetic as before.

import { computePipeline, encodePass, ITEM_INDEX, submitAndRead, WORKGROUP } from '../compute-pass.js';

/** Values kept a row: index, class, cx, cy, w, h, objectness, class score. */
export const KEPT_VALUES = 8;

const SHADER = /* wgsl */ `
struct Params {
  rows: u32,        // rows per image
  width: u32,       // values per row: 5 + classes
  total: u32,       // rows in the batch
  cap: u32,         // rows kept per image at most
  threshold: f32,
};
@group(0) @binding(0) var<storage, read> raw: array<f32>;
@group(0) @binding(1) var<storage, read_write> counts: array<atomic<u32>>;
@group(0) @binding(2) var<storage, read_write> kept: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = ${ITEM_INDEX};
  if (i >= p.total) { return; }
  let at = i * p.width;
  let objectness = raw[at + 4u];
  if (objectness < p.threshold) { return; }
  var cls = 0u;
  var best = raw[at + 5u];
  for (var c = 1u; c < p.width - 5u; c++) {
    let s = raw[at + 5u + c];
    if (s > best) { best = s; cls = c; }
  }
  if (objectness * best < p.threshold) { return; }
  let image = i / p.rows;
  let slot = atomicAdd(&counts[image], 1u);
  if (slot >= p.cap) { return; }
  let to = (image * p.cap + slot) * ${KEPT_VALUES}u;
  kept[to] = f32(i % p.rows);
  kept[to + 1u] = f32(cls);
  for (var v = 0u; v < 5u; v++) { kept[to + 2u + v] = raw[at + v]; }
  kept[to + 7u] = best;
}
`;

/** One image's rows that may score at least the threshold, in row order; null where more than the cap did. */
export type KeptRows = Float32Array | null;

export class GpuDetectionFilter {
  private constructor(
    private readonly device: GPUDevice,
    private readonly pipeline: GPUComputePipeline,
  ) {}

  static async create(device: GPUDevice): Promise<GpuDetectionFilter> {
    return new GpuDetectionFilter(device, await computePipeline(device, SHADER, "detection filter's"));
  }

  /**
   * For each of the first `count` images of `raw` (float32 [batch, rows, width] on the GPU): its
   * kept rows, KEPT_VALUES each, sorted by row; or null where more than `cap` rows passed (the
   * caller reads the whole output instead). The buffer must stay unchanged until this settles.
   */
  async filter(raw: GPUBuffer, count: number, rows: number, width: number, threshold: number, cap: number): Promise<KeptRows[]> {
    const total = count * rows;
    if (raw.size < total * width * 4) throw new RangeError(`a buffer of ${raw.size} bytes does not hold ${count} images of ${rows} rows of ${width}`);
    const countsBytes = Math.max(16, count * 4);
    const keptBytes = count * cap * KEPT_VALUES * 4;
    const counts = this.device.createBuffer({ size: countsBytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    const kept = this.device.createBuffer({ size: keptBytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    const params = this.device.createBuffer({ size: 32, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    try {
      const words = new ArrayBuffer(32);
      new Uint32Array(words, 0, 4).set([rows, width, total, cap]);
      // A hair below: the GPU's float32 product must not drop a row whose score JavaScript rounds up to the threshold.
      new Float32Array(words, 16, 1)[0] = threshold * (1 - 1e-5);
      this.device.queue.writeBuffer(params, 0, words);
      this.device.queue.writeBuffer(counts, 0, new Uint32Array(countsBytes / 4));
      const encoder = encodePass(this.device, this.pipeline, [{ buffer: raw, size: total * width * 4 }, { buffer: counts }, { buffer: kept }, { buffer: params }], total);
      const bytes = await submitAndRead(this.device, encoder, [
        { buffer: counts, bytes: countsBytes },
        { buffer: kept, bytes: keptBytes },
      ]);
      const found = new Uint32Array(bytes, 0, count);
      const all = new Float32Array(bytes, countsBytes, count * cap * KEPT_VALUES);
      return Array.from({ length: count }, (_, image) => {
        const n = found[image]!;
        if (n > cap) return null;
        return sortedByRow(all.slice(image * cap * KEPT_VALUES, (image * cap + n) * KEPT_VALUES));
      });
    } finally {
      for (const buffer of [counts, kept, params]) buffer.destroy();
    }
  }
}

/** The kept rows in row order: the GPU appends them in whatever order its invocations ran. */
function sortedByRow(kept: Float32Array): Float32Array {
  const n = kept.length / KEPT_VALUES;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => kept[a * KEPT_VALUES]! - kept[b * KEPT_VALUES]!);
  const out = new Float32Array(kept.length);
  order.forEach((from, to) => out.set(kept.subarray(from * KEPT_VALUES, (from + 1) * KEPT_VALUES), to * KEPT_VALUES));
  return out;
}
