/**
 * Float32 buffers for a page's input tensors, kept between runs: a batch's tensor is megabytes,
 * and a new typed array is zeroed before it is written, then left to the collector. onnxruntime
 * copies a CPU tensor's data in when the run starts, so a buffer is free again once its run has
 * settled. At most `keep` buffers of each length are kept (one running and one waiting for it).
 */
export class TensorBuffers {
  private readonly free = new Map<number, Float32Array[]>();

  constructor(private readonly keep = 2) {}

  take(length: number): Float32Array {
    return this.free.get(length)?.pop() ?? new Float32Array(length);
  }

  give(buffer: Float32Array): void {
    const list = this.free.get(buffer.length) ?? [];
    if (list.length < this.keep) list.push(buffer);
    this.free.set(buffer.length, list);
  }

  /** Buffers kept now, for tests. */
  get kept(): number {
    let n = 0;
    for (const list of this.free.values()) n += list.length;
    return n;
  }
}
