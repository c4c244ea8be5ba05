import type { InferenceEngine, InferOutput, WorkerStatus } from '../../server/bridge/inference-engine.js';
import { BridgeError } from '../../server/bridge/bridge-error.js';
import type { ModelVersion } from '../../server/model-store.js';

/**
 * Stands in for Chromium to test the HTTP contract fast. Answers logits that put class
 * `winner` first; records what it was sent so tests can check the pixels that crossed.
 */
export class FakeEngine implements InferenceEngine {
  healthyNow = true;
  failWith: BridgeError | null = null;
  calls: Array<{ key: string; pixels: Uint8Array; batch: number }> = [];

  constructor(private readonly winner = 281) {}

  async start(): Promise<void> {}

  async infer(model: ModelVersion, pixels: Uint8Array, batch: number): Promise<InferOutput> {
    this.calls.push({ key: model.key, pixels, batch });
    if (this.failWith) throw this.failWith;
    const data = new Float32Array(1000 * batch);
    for (let i = 0; i < data.length; i++) data[i] = -(i % 1000) / 100;
    for (let b = 0; b < batch; b++) data[b * 1000 + this.winner] = 10;
    return { data, dims: [batch, 1000], inferMs: 1, roundTripMs: 2 };
  }

  status(model: ModelVersion): WorkerStatus {
    return { key: model.key, state: this.healthyNow ? 'ready' : 'failed', runtime: null, error: null, startedAt: new Date(0) };
  }

  healthy(): boolean {
    return this.healthyNow;
  }

  async close(): Promise<void> {}
}
