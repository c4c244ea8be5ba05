// Normalising on the GPU (the gateway's gpu_preprocess): a WebGPU page uploads the uint8 pixels
// as they came, a quarter of the float32 tensor's bytes, and one compute pass writes the model's
// float32 input where the session reads it (Tensor.fromGpuBuffer), with no JavaScript loop over
// the pixels. The same factors as normalise.ts's tables, computed in f32 (a value may differ in
// its last bit): answers agree within the parity tolerance, which the load's parity run checks on
// this path.

import type * as Ort from 'onnxruntime-web';
import type { OrtModule } from './ort-loader.js';
import type { Normalisation } from './protocol.js';
import { computePipeline, encodePass, ITEM_INDEX, WORKGROUP } from './compute-pass.js';
import { tensorDims } from './normalise.js';

/** One invocation per pixel: its three bytes in, its three channels out, in the model's layout and order. */
const SHADER = /* wgsl */ `
struct Params {
  pixels: u32,          // pixels in the batch
  plane: u32,           // pixels per image
  nchw: u32,
  bgr: u32,
  // Per source channel (R, G, B): x * a + b, the factors normalise.ts's tables use.
  a: vec4<f32>,
  b: vec4<f32>,
};
@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

fn byteAt(i: u32) -> f32 {
  return f32((src[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu);
}

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = ${ITEM_INDEX};
  if (i >= p.pixels) { return; }
  let image = i / p.plane;
  let at = i % p.plane;
  for (var c = 0u; c < 3u; c++) {
    // c is the model's channel; in BGR order it reads the image's channel 2 - c.
    let source = select(c, 2u - c, p.bgr == 1u);
    let v = byteAt(i * 3u + source) * p.a[source] + p.b[source];
    let index = select(i * 3u + c, image * 3u * p.plane + c * p.plane + at, p.nchw == 1u);
    dst[index] = v;
  }
}
`;

interface BatchBuffers {
  src: GPUBuffer;
  dst: GPUBuffer;
  params: GPUBuffer;
}

export class GpuNormaliser {
  /** By batch size: a run reuses its size's buffers (runs are one at a time on the page's queue). */
  private readonly buffers = new Map<number, BatchBuffers>();

  private constructor(
    private readonly device: GPUDevice,
    private readonly ort: OrtModule,
    private readonly normalisation: Normalisation,
    private readonly pipeline: GPUComputePipeline,
  ) {}

  /** Its pipeline compiled (compute-pass.ts), or why not. */
  static async create(device: GPUDevice, ort: OrtModule, normalisation: Normalisation): Promise<GpuNormaliser> {
    return new GpuNormaliser(device, ort, normalisation, await computePipeline(device, SHADER, 'normalising'));
  }

  /**
   * `batch` images of uint8 RGB, back to back, as the model's float32 input on the GPU. Queued on
   * the device before the run that reads it, so the run sees it written; the tensor views this
   * size's buffer, which the next run of the same size writes again: call it only on the page's
   * run queue, just before session.run.
   */
  tensor(pixels: Uint8Array, batch: number): Ort.Tensor {
    const b = this.buffersFor(batch);
    const whole = pixels.byteLength - (pixels.byteLength % 4);
    // writeBuffer takes whole 4-byte words: the last few bytes go through a padded copy.
    if (whole > 0) this.device.queue.writeBuffer(b.src, 0, pixels.buffer, pixels.byteOffset, whole);
    if (whole < pixels.byteLength) {
      const tail = new Uint8Array(4);
      tail.set(pixels.subarray(whole));
      this.device.queue.writeBuffer(b.src, whole, tail);
    }
    this.device.queue.submit([encodePass(this.device, this.pipeline, [{ buffer: b.src }, { buffer: b.dst }, { buffer: b.params }], pixels.byteLength / 3).finish()]);
    return this.ort.Tensor.fromGpuBuffer(b.dst, { dataType: 'float32', dims: tensorDims(batch, this.normalisation) });
  }

  private buffersFor(batch: number): BatchBuffers {
    const known = this.buffers.get(batch);
    if (known) return known;
    const { size, layout, channelOrder, scale, mean, std } = this.normalisation;
    const plane = size * size;
    const pixels = batch * plane;
    const src = this.device.createBuffer({ size: Math.ceil((pixels * 3) / 4) * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    const dst = this.device.createBuffer({ size: pixels * 3 * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    const params = this.device.createBuffer({ size: 48, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    const words = new ArrayBuffer(48);
    new Uint32Array(words, 0, 4).set([pixels, plane, layout === 'NCHW' ? 1 : 0, channelOrder === 'BGR' ? 1 : 0]);
    const factors = new Float32Array(words, 16, 8);
    for (let c = 0; c < 3; c++) {
      factors[c] = scale / std[c]!;
      factors[4 + c] = -mean[c]! / std[c]!;
    }
    this.device.queue.writeBuffer(params, 0, words);
    const made = { src, dst, params };
    this.buffers.set(batch, made);
    return made;
  }

  destroy(): void {
    for (const b of this.buffers.values()) for (const buffer of [b.src, b.dst, b.params]) buffer.destroy();
    this.buffers.clear();
  }
}
