// Functions that run inside the bare Chromium page. puppeteer serialises each one by its source,
// so they must not refer to anything outside their own body; state lives on globalThis.__bench.

import type * as Ort from 'onnxruntime-web';

interface BenchState {
  ort: typeof Ort;
  bytes: Uint8Array;
  sessions: Ort.InferenceSession[];
  inputs: Map<number, Ort.Tensor>;
}

type BenchGlobal = typeof globalThis & { __bench?: BenchState };

export interface PageInfo {
  crossOriginIsolated: boolean;
  numThreads: number;
}

/** Loads the onnxruntime-web build the server's WASM pages load, and the model bytes. */
export async function pageSetup(base: string, threads: number, modelPath: string): Promise<PageInfo> {
  const ort = (await import(`${base}ort/ort.wasm.min.mjs`)) as typeof Ort;
  ort.env.wasm.wasmPaths = `${base}ort/`;
  ort.env.wasm.numThreads = threads;
  ort.env.logLevel = 'error';
  const bytes = new Uint8Array(await (await fetch(base + modelPath)).arrayBuffer());
  (globalThis as BenchGlobal).__bench = { ort, bytes, sessions: [], inputs: new Map() };
  return { crossOriginIsolated: globalThis.crossOriginIsolated, numThreads: ort.env.wasm.numThreads ?? 0 };
}

/** Adds one more session of the model to this page; returns its index. */
export async function pageAddSession(): Promise<number> {
  const b = (globalThis as BenchGlobal).__bench!;
  const session = await b.ort.InferenceSession.create(b.bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all', logSeverityLevel: 3 });
  b.sessions.push(session);
  return b.sessions.length - 1;
}

/**
 * Runs batch 1 until run times settle. The first runs after loading are several times slower
 * (300 ms, not 35, on 2 cores): V8 is still optimising onnxruntime's WASM on background threads
 * that compete with the run. A few fixed warm-up runs do not cover that; settling does.
 * Returns the number of runs it took.
 */
export async function pageWarmUp(session: number, minMs: number, maxMs: number): Promise<number> {
  const b = (globalThis as BenchGlobal).__bench!;
  const s = b.sessions[session]!;
  const data = new Float32Array(3 * 224 * 224).fill(0.5);
  const input = new b.ort.Tensor('float32', data, [1, 3, 224, 224]);
  const mid = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const times: number[] = [];
  const t0 = performance.now();
  for (;;) {
    const t = performance.now();
    for (const o of Object.values(await s.run({ input: input }))) o.dispose();
    times.push(performance.now() - t);
    const elapsed = performance.now() - t0;
    if (elapsed > maxMs) break;
    // Settled: the last two windows of 5 runs agree within 10%.
    if (elapsed > minMs && times.length >= 10) {
      const a = mid(times.slice(-10, -5));
      const c = mid(times.slice(-5));
      if (Math.abs(a - c) <= 0.1 * Math.min(a, c)) break;
    }
  }
  return times.length;
}

/** Times `session.run` alone: the input is made once per batch size, outside the timing. */
export async function pageTimeBatch(session: number, batch: number, warmup: number, maxRuns: number, minRuns: number, budgetMs: number): Promise<number[]> {
  const b = (globalThis as BenchGlobal).__bench!;
  let input = b.inputs.get(batch);
  if (!input) {
    const data = new Float32Array(batch * 3 * 224 * 224);
    for (let i = 0; i < data.length; i++) data[i] = Math.random() * 4 - 2;
    input = new b.ort.Tensor('float32', data, [batch, 3, 224, 224]);
    b.inputs.set(batch, input);
  }
  const s = b.sessions[session]!;
  let warmMs = 0;
  for (let i = 0; i < warmup; i++) {
    const t = performance.now();
    for (const o of Object.values(await s.run({ input: input }))) o.dispose();
    warmMs = performance.now() - t;
  }
  // A time budget, not a fixed count: one run of batch 16 costs about 16 of batch 1.
  const runs = Math.max(minRuns, Math.min(maxRuns, Math.floor(budgetMs / Math.max(warmMs, 0.1))));
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const out = await s.run({ input: input });
    times.push(performance.now() - t);
    // Freed at once, as the server's pages do, so garbage collection does not land in later runs.
    for (const o of Object.values(out)) o.dispose();
  }
  return times;
}

/**
 * Runs every listed session in its own back-to-back loop, all at once, from the wall-clock
 * `startAt` (Date.now(), shared with other pages) until `endAt`; returns each loop's rate in
 * images/s over its own exact span, so concurrent loops add up without end-of-window rounding.
 */
export async function pageThroughput(sessions: number[], batch: number, startAt: number, endAt: number): Promise<number[]> {
  const b = (globalThis as BenchGlobal).__bench!;
  const input = b.inputs.get(batch)!;
  while (Date.now() < startAt) await new Promise((r) => setTimeout(r, 1));
  return Promise.all(
    sessions.map(async (i) => {
      const s = b.sessions[i]!;
      const t0 = performance.now();
      let images = 0;
      while (Date.now() < endAt) {
        for (const o of Object.values(await s.run({ input: input }))) o.dispose();
        images += batch;
      }
      return (images * 1000) / (performance.now() - t0);
    }),
  );
}
