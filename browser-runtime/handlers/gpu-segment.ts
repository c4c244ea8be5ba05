// The image_segmenter's reduction on the GPU: on a WebGPU session the logits [batch, classes,
// height, width] stay where the model wrote them, and one compute pass writes each pixel's top
// class and its softmax probability, what image-segmenter.ts's segment() computes in JavaScript.
// Only that is read back: 8 bytes a pixel instead of 4 a class (a 21-class model at 520x520 reads
// 2.2 MB, not 22.7 MB), and no JavaScript loop over every logit.

import type { Segmentation } from './image-segmenter.js';

const WORKGROUP = 64;

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
  let i = id.x + id.y * groups.x * ${WORKGROUP}u;
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

  /** Its pipeline compiled, or the device's reason why not (WebGPU reports it apart, not by throwing). */
  static async create(device: GPUDevice): Promise<GpuSegmenter> {
    device.pushErrorScope('validation');
    const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: SHADER }), entryPoint: 'main' } });
    const error = await device.popErrorScope();
    if (error) throw new Error(`the segmenting shader did not compile: ${error.message}`);
    return new GpuSegmenter(device, pipeline);
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
    const read = this.device.createBuffer({ size: pixels * 8, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    try {
      this.device.queue.writeBuffer(params, 0, Uint32Array.of(pixels, plane, classes, 0));
      const encoder = this.device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(this.pipeline);
      pass.setBindGroup(
        0,
        this.device.createBindGroup({
          layout: this.pipeline.getBindGroupLayout(0),
          entries: [
            { binding: 0, resource: { buffer: logits, size: pixels * classes * 4 } },
            { binding: 1, resource: { buffer: top } },
            { binding: 2, resource: { buffer: probability } },
            { binding: 3, resource: { buffer: params } },
          ],
        }),
      );
      const groups = Math.ceil(pixels / WORKGROUP);
      // A dispatch's dimension is capped (65535 by default): the rest goes to y.
      const x = Math.min(groups, 65_535);
      pass.dispatchWorkgroups(x, Math.ceil(groups / x));
      pass.end();
      encoder.copyBufferToBuffer(top, 0, read, 0, pixels * 4);
      encoder.copyBufferToBuffer(probability, 0, read, pixels * 4, pixels * 4);
      this.device.queue.submit([encoder.finish()]);
      await read.mapAsync(GPUMapMode.READ);
      const bytes = read.getMappedRange();
      const classIndex = new Uint32Array(bytes, 0, pixels);
      const probabilities = new Float32Array(bytes, pixels * 4, pixels);
      return Array.from({ length: count }, (_, i) => ({
        width,
        height,
        classes: Uint8Array.from(classIndex.subarray(i * plane, (i + 1) * plane)),
        probabilities: probabilities.slice(i * plane, (i + 1) * plane),
      }));
    } finally {
      for (const buffer of [top, probability, params, read]) buffer.destroy();
    }
  }
}
