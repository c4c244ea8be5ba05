// How many WASM threads a model's pages get when nobody set a number (wasm_threads 0, and none
// in the model's config.json). onnxruntime-web runs every session of a page on one global thread
// pool whose threads spin after each run, and nothing in it turns that off but a pool of one
// thread. The spin pays where runs are long (MobileNetV2 served 40 images/s at c=32 on 2 threads,
// 29 on one) and is pure cost where they are short (a null model on one thread: 2.4 core-ms of
// renderer per image at c=1 against 11.8, and more images/s at c=32): BENCHMARKS.md. So the
// number follows what the model's runs cost: at load where they are short already (a load
// slowed by others loading beside it only makes them look longer), else from the first runs it
// serves. Pure.

import type { ModelRuntimeInfo } from '../../browser-runtime/protocol.js';

/** A model whose single-image run takes less than this, on the threads it loaded with, gets one thread. */
export const SHORT_RUN_MS = 2;

/** Served runs that settle a model's threads, by their median time per image. */
export const SERVED_RUNS = 32;

export interface ThreadChoice {
  threads: number;
  why: string;
}

/** The threads a page of this model should run, as loaded: `info` from its first load, `cores` the default. */
export function wasmThreadsFor(info: Pick<ModelRuntimeInfo, 'backend' | 'singleRunMs'>, cores: number): ThreadChoice {
  if (info.backend === 'webgpu') return { threads: 1, why: 'WebGPU runs the model; WASM only checked it at load' };
  if (info.singleRunMs !== null && info.singleRunMs < SHORT_RUN_MS) {
    return { threads: 1, why: `a run of one image takes ${info.singleRunMs.toFixed(2)} ms, shorter than a thread pool's spin after it` };
  }
  return { threads: Math.max(1, cores), why: 'one a core' };
}

/** A model version's served runs, until they settle its threads: once. */
export class ServedRuns {
  private readonly perImageMs: number[] = [];
  settled = false;

  constructor(private readonly needed = SERVED_RUNS) {}

  /** Adds a run's session.run time per image; answers the median once `needed` are in, and never again. */
  add(ms: number): number | null {
    if (this.settled) return null;
    this.perImageMs.push(ms);
    if (this.perImageMs.length < this.needed) return null;
    this.settled = true;
    const sorted = this.perImageMs.sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  }
}
