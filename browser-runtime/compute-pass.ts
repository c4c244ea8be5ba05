// What the page's own WebGPU compute passes share (gpu-normalise.ts, handlers/gpu-segment.ts,
// handlers/gpu-detect.ts): compiling a pipeline where WebGPU reports a bad shader apart from the
// call, one invocation per item over as many workgroups as it takes, and reading results back.

/** Invocations per workgroup: the shaders declare `@workgroup_size(${WORKGROUP})`. */
export const WORKGROUP = 64;

/**
 * The index of the invocation's item, in WGSL: the dispatch may spread its workgroups over y
 * (encodePass), so `id.x` alone does not say it.
 */
export const ITEM_INDEX = `id.x + id.y * groups.x * ${WORKGROUP}u`;

/** The pipeline of `code`'s `main`, or the device's reason why not (WebGPU reports it apart, not by throwing). */
export async function computePipeline(device: GPUDevice, code: string, what: string): Promise<GPUComputePipeline> {
  device.pushErrorScope('validation');
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });
  const error = await device.popErrorScope();
  if (error) throw new Error(`the ${what} shader did not compile: ${error.message}`);
  return pipeline;
}

/**
 * A command encoder holding one pass of `pipeline` over `items` invocations, `bindings` in binding
 * order at group 0; the caller adds its copies and submits it.
 */
export function encodePass(device: GPUDevice, pipeline: GPUComputePipeline, bindings: readonly GPUBufferBinding[], items: number): GPUCommandEncoder {
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: bindings.map((resource, binding) => ({ binding, resource })) }));
  const groups = Math.ceil(items / WORKGROUP);
  // A dispatch's dimension is capped (65535 by default): the rest goes to y.
  const x = Math.max(1, Math.min(groups, 65_535));
  pass.dispatchWorkgroups(x, Math.ceil(groups / x));
  pass.end();
  return encoder;
}

/** Submits `encoder` with copies of `sources` (the bytes of each, back to back) added, and answers them read back. */
export async function submitAndRead(device: GPUDevice, encoder: GPUCommandEncoder, sources: ReadonlyArray<{ buffer: GPUBuffer; bytes: number }>): Promise<ArrayBuffer> {
  const read = device.createBuffer({ size: sources.reduce((n, s) => n + s.bytes, 0), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    let at = 0;
    for (const { buffer, bytes } of sources) {
      encoder.copyBufferToBuffer(buffer, 0, read, at, bytes);
      at += bytes;
    }
    device.queue.submit([encoder.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    return read.getMappedRange().slice(0);
  } finally {
    read.destroy();
  }
}
