// What this machine can hold, read once at start: the upper bounds every numeric setting is
// checked against, and the defaults of the settings that depend on the machine. Pure but for
// readMachine(), so the arithmetic is tested without the machine.

import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface Machine {
  cores: number;
  /** Physical memory, or the cgroup's limit when it is lower (a container). */
  memoryBytes: number;
  /** The soft limit on open file descriptors: every socket, file and pipe takes one. */
  openFiles: number;
  /** libuv's thread pool, which sharp's decodes share with file reads. */
  threadPoolSize: number;
}

const MiB = 1024 * 1024;

/** A Chromium renderer holding a model and its WASM heap: what one worker page costs, roughly. */
export const PAGE_BYTES = 256 * MiB;

/** Bounds that come from the software rather than the machine; each says why. */
export const FIXED_BOUNDS = {
  // Every batch size is warmed up at load, and a batch of 64 images is already ~1.3 GB of
  // activations in a WASM heap that cannot grow past 4 GiB.
  batchSize: 64,
  // A batch that waits longer than this for company costs its first request more than it saves.
  maxBatchDelayMs: 10_000,
  // An hour; timers in Node overflow past 24.8 days and would fire at once.
  responseTimeoutS: 3600,
  startupTimeoutS: 3600,
  jobQueueSize: 10_000,
  // libvips' own default ceiling (16383 x 16383).
  imagePixels: 268_402_689,
  requestSize: 1024 * MiB,
  // Worker pages of one model, and the most max_workers may be raised to: 256 GiB of renderers.
  workers: 1024,
  // Every class of an ImageNet model; each one answered is a line of JSON.
  topk: 1000,
  // The resize's shorter side and the crop's side: a 4096 x 4096 input is already 200 MB of
  // float32 per image in the page, and the same again for each image of a batch.
  imageSide: 4096,
  // onnxruntime-web's WASM threads a page: its pool, not the machine, is what more would wait on.
  wasmThreads: 16,
} as const;

/** A numeric setting's range, and where its upper bound comes from, for the message that refuses it. */
export interface Range {
  min: number;
  max: number;
  integer: boolean;
  unit?: string;
  why: string;
}

/** The ranges a model's config.json and the Management API share. */
export const RANGES = {
  workers: { min: 1, max: FIXED_BOUNDS.workers, integer: true, why: '1024 pages of 256 MiB are 256 GiB; all models together stay within max_workers' },
  batchSize: { min: 1, max: FIXED_BOUNDS.batchSize, integer: true, why: 'the largest batch runs at load, in a WASM heap of at most 4 GiB' },
  maxBatchDelayMs: { min: 0, max: FIXED_BOUNDS.maxBatchDelayMs, integer: false, unit: 'milliseconds', why: 'a longer wait costs the first request more than batching saves' },
  responseTimeoutS: { min: 0.001, max: FIXED_BOUNDS.responseTimeoutS, integer: false, unit: 'seconds', why: 'a prediction still running after an hour is stuck' },
  // Whole seconds, as TorchServe's; 0 gives a worker no time at all (its registration fails).
  startupTimeoutS: { min: 0, max: FIXED_BOUNDS.startupTimeoutS, integer: true, unit: 'seconds', why: 'a page still loading its model after an hour is stuck' },
  topk: { min: 1, max: FIXED_BOUNDS.topk, integer: true, why: 'the classes of an ImageNet model' },
  imageSide: { min: 1, max: FIXED_BOUNDS.imageSide, integer: true, why: 'a 4096 x 4096 input is 200 MB of float32 per image' },
  wasmThreads: { min: 1, max: FIXED_BOUNDS.wasmThreads, integer: true, why: "onnxruntime-web's thread pool in one page" },
} as const satisfies Record<string, Range>;

export const inRange = (n: unknown, r: Range): n is number => typeof n === 'number' && Number.isFinite(n) && n >= r.min && n <= r.max && (!r.integer || Number.isInteger(n));

/** "an integer from 1 to 64 (the largest batch runs at load, ...)" */
export const describeRange = (r: Range): string => `${r.integer ? 'an integer' : 'a number'}${r.unit ? ` of ${r.unit}` : ''} from ${r.min} to ${r.max} (${r.why})`;

export interface MachineLimits {
  /** Worker pages across every model version. */
  maxWorkers: number;
  /** Default of max_inflight_bytes: request bodies held in memory at once. */
  inflightBytes: number;
  /** Default connection cap of the inference listener. */
  maxConnections: number;
  /** Connection cap of the management and metrics listeners. */
  smallListenerConnections: number;
  /** Default of decode_slots: sharp decodes at once. */
  decodeSlots: number;
  /** WASM threads per page. */
  maxWasmThreads: number;
}

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

export function machineLimits(m: Machine): MachineLimits {
  // Sockets, model files, static files and Chromium's pipes all take descriptors; keep 1024 for
  // everything but client connections, and ~16 KiB of memory per connection.
  const connections = Math.floor(clamp(Math.min(0.8 * (m.openFiles - 1024), m.memoryBytes / 8 / (16 * 1024)), 64, 65_536));
  return {
    // More pages than four per core only queue for the CPU; more than half the memory in pages
    // leaves too little for decoding and for the rest of the machine.
    maxWorkers: Math.max(1, Math.min(4 * m.cores, Math.floor(m.memoryBytes / 2 / PAGE_BYTES))),
    inflightBytes: Math.floor(clamp(m.memoryBytes / 32, 64 * MiB, 512 * MiB)),
    maxConnections: connections,
    smallListenerConnections: Math.min(256, connections),
    // Two of libuv's threads stay free for file reads (the demo page, model files), so a
    // flood of decodes never stalls them.
    decodeSlots: Math.max(1, Math.min(m.cores, m.threadPoolSize - 2)),
    maxWasmThreads: Math.max(1, 4 * m.cores),
  };
}

export function readMachine(): Machine {
  const constrained = typeof process.constrainedMemory === 'function' ? process.constrainedMemory() : 0;
  const total = os.totalmem();
  return {
    cores: os.availableParallelism(),
    memoryBytes: constrained && constrained > 0 && constrained < total ? constrained : total,
    openFiles: openFileLimit(),
    threadPoolSize: Number(process.env['UV_THREADPOOL_SIZE']) || 4,
  };
}

function openFileLimit(): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m) return m[1] === 'unlimited' ? 1 << 20 : Number(m[1]);
  } catch {
    // not Linux: assume the common default
  }
  return 1024;
}

/** The machine's figures in one line, for the start-up log and for error messages. */
export function describeMachine(m: Machine): string {
  return `${m.cores} cores, ${(m.memoryBytes / 1024 ** 3).toFixed(1)} GiB of memory, ${m.openFiles} open files`;
}
