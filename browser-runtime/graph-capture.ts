// Graph capture on WebGPU (the gateway's graph_capture): onnxruntime-web records a session's GPU
// commands on its first run and replays them after, without walking the graph again on the CPU
// for each run. A replay needs inputs that never move and shapes that never change: so there is
// one session for each batch size the model runs, and each batch size's input is one fixed GPU
// buffer, the normalising pass's own (gpu_preprocess) or one this file writes the normalised
// floats into. The outputs are left to onnxruntime, which keeps them where its replays write:
// onnxruntime-web 1.30 fails later runs whose outputs are bound to buffers of the caller's, at
// random once other sessions share the page (docs/performance.md).

import type * as Ort from 'onnxruntime-web';
import type { OrtModule } from './ort-loader.js';

/** One batch size's session, and its input buffer when the floats come from JavaScript. */
interface CapturedSize {
  session: Ort.InferenceSession;
  upload: GPUBuffer | null;
}

type SessionFor = (options: Ort.InferenceSession.SessionOptions) => Promise<Ort.InferenceSession>;

export class CapturedSessions {
  private constructor(
    private readonly ort: OrtModule,
    private readonly device: GPUDevice,
    private readonly outputName: string,
    private readonly sizes: Map<number, CapturedSize>,
  ) {}

  /**
   * A session for each batch size. Nothing runs yet: a size's first run is its capture. A model
   * with a node onnxruntime places off the GPU is refused here.
   */
  static async create(ort: OrtModule, device: GPUDevice, sessionFor: SessionFor, batchSizes: readonly number[], outputName: string): Promise<CapturedSessions> {
    const made = new CapturedSessions(ort, device, outputName, new Map());
    try {
      for (const batch of batchSizes) {
        const session = await sessionFor({ enableGraphCapture: true, preferredOutputLocation: 'gpu-buffer' });
        made.sizes.set(batch, { session, upload: null });
        if (!session.outputNames.includes(outputName)) throw new Error(`the model has no output named "${outputName}"`);
      }
    } catch (e) {
      await made.release();
      throw e;
    }
    return made;
  }

  /**
   * Floats normalised in JavaScript, written to this batch size's one input buffer. Call it on
   * the page's run queue only: the run before may read that buffer until it ends.
   */
  upload(floats: Float32Array, batch: number, dims: number[]): Ort.Tensor {
    const size = this.size(batch);
    if (!size.upload || size.upload.size !== floats.byteLength) {
      size.upload?.destroy();
      size.upload = this.device.createBuffer({ size: floats.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    }
    this.device.queue.writeBuffer(size.upload, 0, floats.buffer, floats.byteOffset, floats.byteLength);
    return this.ort.Tensor.fromGpuBuffer(size.upload, { dataType: 'float32', dims });
  }

  /**
   * One run of `batch` (a size it was made for) on an input in that size's fixed GPU buffer: the
   * first captures, the later ones replay. Answers the answered output, read back.
   */
  async run(batch: number, inputName: string, input: Ort.Tensor): Promise<{ data: Float32Array; runMs: number }> {
    const t0 = performance.now();
    const results = await this.size(batch).session.run({ [inputName]: input });
    try {
      const output = results[this.outputName]!;
      if (output.type !== 'float32') throw new Error(`output "${this.outputName}" is ${output.type}, expected float32`);
      const data = (await output.getData()) as Float32Array;
      return { data, runMs: performance.now() - t0 };
    } finally {
      for (const t of Object.values(results)) t.dispose();
    }
  }

  async release(): Promise<void> {
    for (const size of this.sizes.values()) {
      await size.session.release().catch(() => undefined);
      size.upload?.destroy();
    }
    this.sizes.clear();
  }

  private size(batch: number): CapturedSize {
    const size = this.sizes.get(batch);
    if (!size) throw new RangeError(`no captured session for batch ${batch}`);
    return size;
  }
}
