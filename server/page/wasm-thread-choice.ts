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
import { median } from '../ops/median.js';

/** A model whose single-image run takes less than this, on the threads it loaded with, gets one thread. */
export const SHORT_RUN_MS = 2;

/** Served runs that settle a model's threads, by their median time per image. */
export const SERVED_RUNS = 32;

export interface ThreadChoice {
  threads: number;
  why: string;
}

/**
 * The threads a page asked for `backend` starts on: one where WebGPU is asked for outright (its
 * WASM session only checks the model at load, and its pool would sit idle), else one a core.
 * Under `auto` a page may well end on WebGPU too, but is not loaded again for it: a WebGPU load
 * (its shaders, its parity run) costs far more than an idle pool.
 */
export function startingWasmThreads(backend: 'auto' | 'wasm' | 'webgpu', cores: number): number {
  return backend === 'webgpu' ? 1 : Math.max(1, cores);
}

/**
 * The threads a WASM page of this model should run: `singleRunMs` from its load or the median of
 * its served runs, `cores` the default. Null for a page on WebGPU: whatever it started on stays.
 */
export function wasmThreadsFor(info: Pick<ModelRuntimeInfo, 'backend' | 'singleRunMs'>, cores: number): ThreadChoice | null {
  if (info.backend === 'webgpu') return null;
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
    return median(this.perImageMs);
  }
}
