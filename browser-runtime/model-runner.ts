import type * as Ort from 'onnxruntime-web';
import type { OrtModule } from './ort-loader.js';
import type { Normalisation } from './protocol.js';
import { checkPixelCount, normalise, tensorDims } from './normalise.js';
import type { GpuNormaliser } from './gpu-normalise.js';
import type { CapturedSessions } from './graph-capture.js';
import { TensorBuffers } from './tensor-buffers.js';
import { Turns } from './turns.js';
import type { Outputs } from './handlers/page-handler.js';

export interface RunOutput {
  /** One row of `width` values per image asked for (padding dropped). */
  data: Float32Array;
  width: number;
  ranBatch: number;
  normaliseMs: number;
  /** Waiting in this page for the run before it to finish. */
  waitMs: number;
  runMs: number;
}

/** The sizes a session runs: every size on WASM; on WebGPU, powers of two and the largest. */
export function batchSizesFor(backend: 'wasm' | 'webgpu', maxBatch: number): number[] {
  if (backend === 'wasm') return Array.from({ length: maxBatch }, (_, i) => i + 1);
  const sizes = new Set<number>([maxBatch]);
  for (let s = 1; s < maxBatch; s *= 2) sizes.add(s);
  return [...sizes].sort((a, b) => a - b);
}

/**
 * The page's one run queue: every runner of the page takes its turns on it, so that models
 * sharing a page (the gateway's share_pages) take turns on its one onnxruntime instance and WASM
 * thread pool, as two runs of one model do, and each run's wait behind the others is measured
 * the same way.
 */
const pageRuns = new Turns();

/**
 * One inference session and what it needs to turn pixels into output. onnxruntime-web rejects
 * overlapping run() calls on one session, so runs take turns (on the page's queue). A batch whose
 * size the session was not warmed up with is padded to the next size it was: on WebGPU a new
 * input shape can mean new shader pipelines, far slower than the padding.
 */
export class ModelRunner {
  private readonly buffers = new TensorBuffers();
  batchSizes: number[] = [1];

  constructor(
    private readonly ort: OrtModule,
    readonly session: Ort.InferenceSession,
    private readonly inputName: string,
    private readonly outputName: string,
    private readonly normalisation: Normalisation,
  ) {}

  /** Set on a WebGPU session where the gateway asks (gpu_preprocess): the pixels are normalised on the GPU. */
  gpuInput: GpuNormaliser | null = null;

  /**
   * Set on a WebGPU session where the gateway asks (graph_capture): a session for each batch
   * size, whose runs replay the GPU commands their first recorded.
   */
  captured: CapturedSessions | null = null;

  /** The WebGPU device of a WebGPU session: where outputs a handler keeps on the GPU live. */
  device: GPUDevice | null = null;

  /**
   * Pads the batch to a size the session runs and normalises it in JavaScript (unless the GPU
   * normalises it) at once, then queues the run behind any run in progress. On the queue, the
   * input goes where the run reads it: a tensor of the JavaScript floats; or, on WebGPU, a fixed
   * buffer the run before may still be reading until then (the normalising pass's with
   * gpu_preprocess, the captured session's otherwise).
   */
  run(pixels: Uint8Array, batch: number): Promise<RunOutput> {
    const { gpuInput, captured } = this;
    let padded: { pixels: Uint8Array; ranBatch: number };
    let floats: Float32Array | null = null;
    const t0 = performance.now();
    try {
      checkPixelCount(pixels.length, batch, this.normalisation);
      padded = this.padded(pixels, batch);
      if (!gpuInput) floats = normalise(padded.pixels, padded.ranBatch, this.normalisation, this.buffers.take(padded.pixels.length));
    } catch (e) {
      return Promise.reject(e);
    }
    const { ranBatch } = padded;
    const dims = tensorDims(ranBatch, this.normalisation);
    const queuedAt = performance.now();
    return pageRuns
      .take(async () => {
        const t1 = performance.now();
        const input = gpuInput ? gpuInput.tensor(padded.pixels, ranBatch) : captured ? captured.upload(floats!, ranBatch, dims) : new this.ort.Tensor('float32', floats!, dims);
        const normaliseMs = queuedAt - t0 + performance.now() - t1;
        const { data, runMs } = captured ? await captured.run(ranBatch, this.inputName, input) : await this.runSession(input);
        const width = data.length / ranBatch;
        return { data: data.subarray(0, width * batch), width, ranBatch, normaliseMs, waitMs: t1 - queuedAt, runMs };
      })
      .finally(() => {
        if (floats) this.buffers.give(floats);
      });
  }

  /**
   * The handler's input tensors, queued behind any run in progress; answers every output, copied
   * out of onnxruntime (or, where the session leaves it on the GPU, its buffer there), how long
   * the run waited and took, and `release`, to call once the outputs are no longer read.
   */
  runFeeds(feeds: Record<string, Ort.Tensor>): Promise<{ outputs: Outputs; runMs: number; waitMs: number; release: () => void }> {
    const queuedAt = performance.now();
    return pageRuns.take(async () => {
      const waitMs = performance.now() - queuedAt;
      const t0 = performance.now();
      try {
        const results = await this.session.run(feeds);
        const runMs = performance.now() - t0;
        const outputs: Outputs = {};
        // Held until released: onnxruntime reuses an output's GPU buffer once its tensor is disposed.
        const held: Ort.Tensor[] = [];
        for (const [name, t] of Object.entries(results)) {
          if (t.location === 'gpu-buffer' && this.device) {
            outputs[name] = { data: new Float32Array(0), dims: [...t.dims], gpu: { buffer: t.gpuBuffer as GPUBuffer, device: this.device, read: () => t.getData() } };
            held.push(t);
            continue;
          }
          outputs[name] = { data: await t.getData(), dims: [...t.dims] };
          t.dispose();
        }
        return { outputs, runMs, waitMs, release: () => held.forEach((t) => t.dispose()) };
      } finally {
        for (const t of Object.values(feeds)) t.dispose();
      }
    });
  }

  /** Releases the sessions once the runs queued before it have ended. */
  release(): Promise<void> {
    return pageRuns.take(async () => {
      await this.captured?.release();
      await this.session.release();
    });
  }

  /**
   * The batch size the model's first input fixes, where its file fixes one (exports made for one
   * image at a time): the session cannot run any other.
   */
  fixedBatch(): number | null {
    const first = this.session.inputMetadata.find((m) => m.name === this.inputName) ?? this.session.inputMetadata[0];
    const dim = first && 'shape' in first ? first.shape[0] : undefined;
    return typeof dim === 'number' && dim > 0 ? dim : null;
  }

  /** A tensor already in the model's input layout, run as it is; answers the raw output. */
  runTensor(data: Float32Array, dims: number[]): Promise<{ data: Float32Array; dims: number[]; runMs: number }> {
    return pageRuns.take(() => this.runSession(new this.ort.Tensor('float32', data, dims)));
  }

  /** The batch size the session runs for `batch` images, and the pixels padded with zeros to it. */
  private padded(pixels: Uint8Array, batch: number): { pixels: Uint8Array; ranBatch: number } {
    const ranBatch = this.batchSizes.find((s) => s >= batch);
    if (ranBatch === undefined) throw new RangeError(`batch ${batch} is larger than the largest batch size ${this.batchSizes.at(-1)}`);
    const image = pixels.length / batch;
    if (ranBatch === batch || !Number.isInteger(image)) return { pixels, ranBatch };
    const out = new Uint8Array(image * ranBatch);
    out.set(pixels);
    return { pixels: out, ranBatch };
  }

  /** session.run on one input; the tensors are released and the float32 output copied out. */
  private async runSession(input: Ort.Tensor): Promise<{ data: Float32Array; dims: number[]; runMs: number }> {
    const t0 = performance.now();
    const results = await this.session.run({ [this.inputName]: input });
    const runMs = performance.now() - t0;
    input.dispose();
    const output = results[this.outputName];
    if (!output) throw new Error(`the model has no output named "${this.outputName}"`);
    const data = await output.getData();
    const dims = [...output.dims];
    for (const t of Object.values(results)) t.dispose();
    if (!(data instanceof Float32Array)) throw new Error(`output "${this.outputName}" is ${output.type}, expected float32`);
    return { data, dims, runMs };
  }
}
