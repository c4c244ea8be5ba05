import type * as Ort from 'onnxruntime-web';
import type { OrtModule } from './ort-loader.js';
import type { Normalisation } from './protocol.js';
import { normalise, tensorDims } from './normalise.js';

export interface RunOutput {
  data: Float32Array;
  dims: number[];
  inferMs: number;
}

/**
 * One inference session and what it needs to turn pixels into output. onnxruntime-web
 * rejects overlapping run() calls on one session, so runs are chained.
 */
export class ModelRunner {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly ort: OrtModule,
    readonly session: Ort.InferenceSession,
    private readonly inputName: string,
    private readonly outputName: string,
    private readonly normalisation: Normalisation,
  ) {}

  run(pixels: Uint8Array, batch: number): Promise<RunOutput> {
    const next = this.tail.then(() => this.runNow(pixels, batch));
    this.tail = next.catch(() => undefined);
    return next;
  }

  private async runNow(pixels: Uint8Array, batch: number): Promise<RunOutput> {
    const input = new this.ort.Tensor('float32', normalise(pixels, batch, this.normalisation), tensorDims(batch, this.normalisation));
    const t0 = performance.now();
    const results = await this.session.run({ [this.inputName]: input });
    const inferMs = performance.now() - t0;
    input.dispose();
    const output = results[this.outputName];
    if (!output) throw new Error(`the model has no output named "${this.outputName}"`);
    const data = (await output.getData()) as Float32Array;
    const dims = [...output.dims];
    for (const t of Object.values(results)) t.dispose();
    if (!(data instanceof Float32Array)) throw new Error(`output "${this.outputName}" is ${output.type}, expected float32`);
    return { data, dims, inferMs };
  }
}
