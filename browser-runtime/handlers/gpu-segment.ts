// The image_segmenter's reduction on the GPU: on a WebGPU session the logits [batch, classes,
// height, width] stay where the model wrote them, and one compute pass writes each pixel's top
// class and its softmax probability, what image-segmenter.ts's segment() computes in JavaScript.
// Only that is read back: 8 bytes a pixel instead of 4 a class (a 21-class model at 520x520 reads
// 2.2 MB, not 22.7 MB), and no JavaScript loop over every logit.

import { computePipeline, encodePass, ITEM_INDEX, submitAndRead, WORKGROUP } from '../compute-pass.js';
import type { Segmentation } from './image-segmenter.js';

/** One invocation per pixel: the first class wins a tie, as in segment(); 1 / sum(exp(l - max)). */
const SHADER = /* wgsl */ `
struct Params {
  pixels: u32,   // pixels in the batch
  plane: u32,    // pixels per image
  classes: u32,
};
@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read_write> top: array<u32>;
@group(0) @binding(2) var<storage, read_write> probability: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = ${ITEM_INDEX};
  if (i >= p.pixels) { return; }
  let base = (i / p.plane) * p.classes * p.plane + i % p.plane;
  var best = 0u;
  var most = logits[base];
  for (var c = 1u; c < p.classes; c++) {
    let v = logits[base + c * p.plane];
    if (v > most) { most = v; best = c; }
  }
  var sum = 0.0;
  for (var c = 0u; c < p.classes; c++) { sum += exp(logits[base + c * p.plane] - most); }
  top[i] = best;
  probability[i] = 1.0 / sum;
}
`;

export class GpuSegmenter {
  private constructor(
    private readonly device: GPUDevice,
    private readonly pipeline: GPUComputePipeline,
  ) {}

  static async create(device: GPUDevice): Promise<GpuSegmenter> {
    return new GpuSegmenter(device, await computePipeline(device, SHADER, 'segmenting'));
  }

  /**
   * The first `count` images of `logits` (a GPU buffer of float32 [batch, classes, height,
   * width]), each as segment() answers it. The buffer must stay unchanged until this settles.
   */
  async segment(logits: GPUBuffer, count: number, classes: number, height: number, width: number): Promise<Segmentation[]> {
    const plane = height * width;
    const pixels = count * plane;
    if (logits.size < pixels * classes * 4) throw new RangeError(`a buffer of ${logits.size} bytes does not hold ${count} images of ${classes} classes of ${height}x${width}`);
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC;
    const top = this.device.createBuffer({ size: pixels * 4, usage });
    const probability = this.device.createBuffer({ size: pixels * 4, usage });
    const params = this.device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    try {
      this.device.queue.writeBuffer(params, 0, Uint32Array.of(pixels, plane, classes, 0));
      const encoder = encodePass(this.device, this.pipeline, [{ buffer: logits, size: pixels * classes * 4 }, { buffer: top }, { buffer: probability }, { buffer: params }], pixels);
      const bytes = await submitAndRead(this.device, encoder, [
        { buffer: top, bytes: pixels * 4 },
        { buffer: probability, bytes: pixels * 4 },
      ]);
      const classIndex = new Uint32Array(bytes, 0, pixels);
      const probabilities = new Float32Array(bytes, pixels * 4, pixels);
      return Array.from({ length: count }, (_, i) => ({
        width,
        height,
        classes: Uint8Array.from(classIndex.subarray(i * plane, (i + 1) * plane)),
        probabilities: probabilities.slice(i * plane, (i + 1) * plane),
      }));
    } finally {
      for (const buffer of [top, probability, params]) buffer.destroy();
    }
  }
}
