/**
 * Float32 buffers for a page's input tensors, kept between runs: a batch's tensor is megabytes,
 * and a new typed array is zeroed before it is written, then left to the collector. onnxruntime
 * copies a CPU tensor's data in when the run starts, so a buffer is free again once its run has
 * settled. At most `keep` buffers are kept (one running and one waiting for it), the largest
 * ones: a smaller batch gets a view of a larger buffer, so what is kept never passes `keep`
 * tensors of the largest batch, however the batch sizes vary.
 */
export class TensorBuffers {
  private readonly free: Float32Array[] = [];

  constructor(private readonly keep = 2) {}

  /** A buffer of exactly `length` values: a kept one (or a view of one) when one is large enough. */
  take(length: number): Float32Array {
    const at = this.free.findIndex((b) => b.length >= length);
    const whole = at >= 0 ? this.free.splice(at, 1)[0]! : new Float32Array(length);
    return whole.length === length ? whole : whole.subarray(0, length);
  }

  /** Gives back what take() answered, once its run has settled. */
  give(view: Float32Array): void {
    const whole = view.length * 4 === view.buffer.byteLength ? view : new Float32Array(view.buffer);
    if (this.free.length < this.keep) {
      this.free.push(whole);
      return;
    }
    let smallest = 0;
    for (let i = 1; i < this.free.length; i++) if (this.free[i]!.length < this.free[smallest]!.length) smallest = i;
    if (this.free[smallest]!.length < whole.length) this.free[smallest] = whole;
  }

  /** Values held by the kept buffers, for tests. */
  get keptValues(): number {
    return this.free.reduce((n, b) => n + b.length, 0);
  }
}
