import type { HandlerItem, ImageResult, InferenceEngine, ItemResult, ModelStatus, Tensor, TensorResult } from '../../server/page/inference-engine.js';
import type { BridgeError } from '../../server/page/bridge-error.js';
import type { ModelVersion } from '../../server/store/model-store.js';
import { softmax, topK } from '../../browser-runtime/top-k.js';

/**
 * Stands in for Chromium to test the HTTP contract fast. Ranks logits that put class `winner`
 * first; records what it was sent so tests can check the pixels that crossed.
 */
export class FakeEngine implements InferenceEngine {
  healthyNow = true;
  failWith: BridgeError | null = null;
  calls: Array<{ key: string; pixels: Uint8Array; k: number }> = [];

  constructor(private readonly winner = 281) {}

  async start(): Promise<void> {}

  async infer(model: ModelVersion, pixels: Uint8Array, k: number): Promise<ImageResult> {
    this.calls.push({ key: model.key, pixels, k });
    if (this.failWith) throw this.failWith;
    const logits = Array.from({ length: 1000 }, (_, i) => (i === this.winner ? 10 : -i / 100));
    const p = softmax(logits);
    const top = topK(p, k);
    return {
      classes: Int32Array.from(top),
      probabilities: Float32Array.from(top.map((i) => p[i]!)),
      timing: { batch: 1, queueMs: 0, transferMs: 1, inferMs: 1 },
    };
  }

  /** Answers at once, without batches: nothing waits for an image still decoding. */
  expect(): () => void {
    return () => undefined;
  }

  /** Answers each item as an object detector would: one box, the whole original image (the first two numbers sent). */
  async handle(model: ModelVersion, item: HandlerItem): Promise<ItemResult> {
    this.calls.push({ key: model.key, pixels: item.bytes, k: 0 });
    if (this.failWith) throw this.failWith;
    return { answer: JSON.stringify([{ [model.labels[0] ?? '0']: [0, 0, item.meta[0], item.meta[1]], score: 1 }]), timing: { batch: 1, queueMs: 0, transferMs: 1, inferMs: 1 } };
  }

  async runTensor(_model: ModelVersion, { data, dims }: Tensor): Promise<TensorResult> {
    if (this.failWith) throw this.failWith;
    // One row of 1000 per image: the first input value of each image at index 0, the rest zero.
    const n = dims[0] ?? 1;
    const per = data.length / n;
    const out = new Float32Array(n * 1000);
    for (let i = 0; i < n; i++) out[i * 1000] = data[i * per]!;
    return { data: out, dims: [n, 1000], timing: { batch: 1, queueMs: 0, transferMs: 1, inferMs: 1 } };
  }

  status(): ModelStatus {
    const state = this.healthyNow ? 'ready' : 'failed';
    return {
      state,
      loadedAtStartup: true,
      workers: [{ id: 0, state, runtime: null, error: null, startedAt: new Date(0), pid: null, sandbox: null }],
      batchSize: 1,
      maxBatchDelayMs: 0,
      queueSize: 100,
      queued: 0,
      batchesInFlight: 0,
    };
  }

  added: string[] = [];
  removed: string[] = [];
  scaled: Array<[string, number]> = [];
  async addModel(model: ModelVersion): Promise<void> {
    this.added.push(model.key);
  }
  async removeModel(model: ModelVersion): Promise<void> {
    this.removed.push(model.key);
  }
  async scale(model: ModelVersion, workers: number): Promise<void> {
    this.scaled.push([model.key, workers]);
  }

  healthy(): boolean {
    return this.healthyNow;
  }

  async close(): Promise<void> {}
}
