// The gateway under load: start the real server as a child process, time start -> healthy, then
// drive POST /predictions with autocannon at several concurrencies, and gRPC's Predictions at 1
// and 32 (grpc-load.ts), reading Server-Timing, the memory of the whole process tree (gateway +
// Chromium) and the CPU each kind of process used.
// Two runs share this: MobileNetV2 from the default store, and the null model (a near-zero-cost
// network with the same interface and preprocessing), whose figures are the most the gateway can
// deliver on this machine and what it costs per image outside the model.

import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PROJECT_ROOT } from '../../server/ops/paths.js';
import { MODEL_NAME as NULL_MODEL, STORE as NULL_MODEL_STORE } from '../null-model/model.js';
import { cpuDelta, cpuSnapshot, LOAD_GENERATOR, type CpuDelta } from './proc-cpu.js';
import { sampleTreeRss } from './proc-memory.js';
import { grpcLoad } from './grpc-load.js';
import { StageCollector } from './server-timing.js';
import { median, percentile, sleep, type Figure } from './stats.js';

export const CONCURRENCIES = [1, 8, 32] as const;
export const IMAGE = path.join(PROJECT_ROOT, 'tests/fixtures/images/dog_640x480.jpg');
const LAUNCHER = path.join(PROJECT_ROOT, 'bin/webgpu-inference-server');

/** One server run: which model, from which store, at which concurrencies, under which figure names. */
interface GatewayRun {
  /** Figure keys start with `${key}.`, labels with `${label}`. */
  key: string;
  label: string;
  model: string;
  /** Server flags after the user's pass-through ones, so that they win (the server takes the last of a repeated flag). */
  args: readonly string[];
  concurrencies: readonly number[];
  /** The same requests through gRPC's Predictions, at these concurrencies, after the HTTP ones. */
  grpcConcurrencies: readonly number[];
}

// One model per server: another model's idle page would count in its memory and CPU.
const MOBILENET_RUN: GatewayRun = { key: 'server', label: 'server', model: 'mobilenet_v2', args: ['--load-models', 'mobilenet_v2'], concurrencies: CONCURRENCIES, grpcConcurrencies: [1, 32] };
const DETECTOR_RUN: GatewayRun = { key: 'detector', label: 'detector (YOLOX-Nano)', model: 'yolox_nano', args: ['--load-models', 'yolox_nano'], concurrencies: [1, 32], grpcConcurrencies: [] };
const NULL_MODEL_RUN: GatewayRun = {
  key: 'null',
  label: 'null model',
  model: NULL_MODEL,
  args: ['--model-store', path.join(PROJECT_ROOT, NULL_MODEL_STORE)],
  concurrencies: [1, 32],
  grpcConcurrencies: [1, 32],
};

export interface ServerLoadOptions {
  port: number | null;
  durationS: number;
  warmupS: number;
  serverArgs: readonly string[];
  log: (line: string) => void;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer().once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** Two consecutive free ports in 19000-19999 (the range this benchmark may use), from a random start. */
export async function freePortPair(): Promise<number> {
  const start = 19000 + 2 * Math.floor(Math.random() * 499);
  for (let i = 0; i < 499; i++) {
    const p = 19000 + ((start - 19000 + 2 * i) % 998);
    if ((await portFree(p)) && (await portFree(p + 1))) return p;
  }
  throw new Error('no free port pair in 19000-19999');
}

export async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // SIGTERM lets the server close Chromium itself; SIGKILL only if it hangs.
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

export async function waitHealthy(url: string, child: ChildProcess, logTail: () => string, t0: number): Promise<number> {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode} before it was healthy:\n${logTail()}`);
    try {
      const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return performance.now() - t0;
    } catch {
      // Not listening yet.
    }
    if (performance.now() - t0 > 120_000) throw new Error(`the server was not healthy within 120 s:\n${logTail()}`);
    await sleep(25);
  }
}

export interface LoadResult {
  /** 2xx answers. */
  ok: number;
  imagesPerS: number;
  latencies: number[];
  failed: number;
  stages: StageCollector;
}

async function load(url: string, model: string, connections: number, durationS: number, body: Buffer): Promise<LoadResult> {
  const stages = new StageCollector();
  const latencies: number[] = [];
  const result = await autocannon({
    url: `${url}/predictions/${model}`,
    method: 'POST',
    headers: { 'content-type': 'image/jpeg' },
    body,
    connections,
    duration: durationS,
    timeout: 60,
    // Per-client hooks see every response's headers and timing, not only autocannon's histograms
    // (whose latencies are whole milliseconds: too coarse for a 40 ms request).
    setupClient: (client) => {
      let header: string | null = null;
      (client as unknown as NodeJS.EventEmitter).on('headers', (info: { headers?: unknown }) => {
        const raw = Array.isArray(info.headers) ? (info.headers as string[]) : [];
        const i = raw.findIndex((h, n) => n % 2 === 0 && h.toLowerCase() === 'server-timing');
        header = i >= 0 ? (raw[i + 1] ?? null) : null;
      });
      (client as unknown as NodeJS.EventEmitter).on('response', (status: number, _bytes: number, ms: number) => {
        if (status >= 200 && status < 300) {
          latencies.push(ms);
          stages.add(header);
        }
        header = null;
      });
    },
  });
  return {
    ok: result['2xx'],
    imagesPerS: result['2xx'] / result.duration,
    latencies,
    failed: result.non2xx + result.errors,
    stages,
  };
}

/** What a load is sent to: a process (whose tree's CPU is read) and where it listens. */
export interface LoadTarget {
  child: ChildProcess;
  url: string;
  /** host:port of the gRPC inference listener; null where there is none. */
  grpc: string | null;
}

export interface RunningServer extends LoadTarget {
  grpc: string;
  /** The Management API's base URL (the port after the inference one). */
  management: string;
  healthyMs: number;
  stop(): Promise<void>;
}

/** The real server on `port` and the next one, with the user's flags then `extraArgs`; resolves once /ping answers. */
export async function startServer(opts: ServerLoadOptions, label: string, extraArgs: readonly string[]): Promise<RunningServer> {
  const port = opts.port ?? (await freePortPair());
  const url = `http://127.0.0.1:${port}`;
  const management = `http://127.0.0.1:${port + 1}`;
  const args = [
    '--backend',
    'wasm',
    '--inference-address',
    url,
    '--management-address',
    management,
    '--metrics-address',
    'http://127.0.0.1:0',
    '--grpc-inference-port',
    '0',
    '--grpc-management-port',
    '0',
    ...opts.serverArgs,
    ...extraArgs,
  ];
  // Started as `npm start` starts it: the launcher sets the allocator and libuv's pool.
  opts.log(`${label}: ${LAUNCHER} ${args.join(' ')}`);
  const t0 = performance.now();
  const child = spawn(LAUNCHER, args, { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  let grpc: string | undefined;
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-8000);
    grpc ??= /gRPC inference \(TorchServe, KServe v2\) on (\S+),/.exec(log)?.[1];
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  // If the benchmark dies, the server (and with it Chromium, whose pipe closes) must not outlive it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const stop = async () => {
    await stopServer(child);
    process.removeListener('exit', killOnExit);
  };
  try {
    const healthyMs = await waitHealthy(url, child, () => log, t0);
    opts.log(`${label}: healthy after ${healthyMs.toFixed(0)} ms`);
    if (!grpc) throw new Error(`the server named no gRPC inference address:\n${log}`);
    return { child, url, grpc, management, healthyMs, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function grpcAddress(target: LoadTarget): string {
  if (target.grpc === null) throw new Error('a gRPC load needs a target with a gRPC listener');
  return target.grpc;
}

export interface LevelResult {
  load: LoadResult;
  cpu: CpuDelta;
  mem: ReturnType<ReturnType<typeof sampleTreeRss>['stop']> | null;
}

/**
 * One concurrency level: an unrecorded warm-up, then the recorded window with CPU snapshots on
 * either side (and RSS sampled within it if asked). The window's CPU also holds the tail of the
 * warm-up's requests still being served when it opens, and misses that of its own requests
 * abandoned when autocannon stops: at most c each, against thousands of answers.
 */
export async function measureLevel(server: LoadTarget, model: string, c: number, opts: ServerLoadOptions, body: Buffer, sampleRss: boolean, transport: 'http' | 'grpc' = 'http'): Promise<LevelResult> {
  const run = (durationS: number) => (transport === 'http' ? load(server.url, model, c, durationS, body) : grpcLoad(grpcAddress(server), model, c, durationS, body));
  await run(opts.warmupS);
  const rss = sampleRss ? sampleTreeRss(server.child.pid!, 500) : null;
  const before = cpuSnapshot(server.child.pid!);
  const r = await run(opts.durationS);
  const cpu = cpuDelta(before, cpuSnapshot(server.child.pid!));
  return { load: r, cpu, mem: rss?.stop() ?? null };
}

/** CPU ms of the server's whole tree (gateway, its decoders, Chromium), the load generator left out. */
export const serverCpuMs = (cpu: CpuDelta): number => [...cpu.msByKind].reduce((sum, [kind, ms]) => (kind === LOAD_GENERATOR ? sum : sum + ms), 0);

/** Reading order for the CPU rows, stable across runs: the gateway and its decoders, Chromium's processes, then the rest. */
const KIND_ORDER = ['gateway', 'decoder', 'browser', 'renderer', 'gpu-process', 'utility', 'zygote'];
const kindRank = (k: string) => (k === LOAD_GENERATOR ? 1000 : KIND_ORDER.includes(k) ? KIND_ORDER.indexOf(k) : 100);

/** `tree` names what the CPU total covers: the server's whole tree unless said otherwise. */
export function levelFigures(k: string, l: string, { load: r, cpu, mem }: LevelResult, tree = 'gateway + Chromium'): Figure[] {
  const figures: Figure[] = [
    { key: `${k}.imagesPerS`, label: `${l}: images/s`, unit: 'img/s', value: r.imagesPerS },
    { key: `${k}.p50`, label: `${l}: p50 latency`, unit: 'ms', value: percentile(r.latencies, 50) },
    { key: `${k}.p99`, label: `${l}: p99 latency`, unit: 'ms', value: percentile(r.latencies, 99) },
    { key: `${k}.failed`, label: `${l}: non-2xx or failed requests`, unit: 'count', value: r.failed },
  ];
  for (const [stage, durs] of r.stages.samples) {
    figures.push({ key: `${k}.stage.${stage}`, label: `${l}: Server-Timing ${stage} (median)`, unit: 'ms', value: median(durs) });
  }
  // Core-milliseconds of CPU per 2xx answer: 2 cores fully busy for 1 s at 400 img/s is 5 core-ms per image.
  const perImage = (ms: number) => (r.ok > 0 ? ms / r.ok : NaN);
  const kinds = [...cpu.msByKind].sort((a, b) => kindRank(a[0]) - kindRank(b[0]) || a[0].localeCompare(b[0]));
  for (const [kind, ms] of kinds) {
    figures.push({ key: `${k}.cpuPerImage.${kind.replaceAll(' ', '-')}`, label: `${l}: CPU per image, ${kind}`, unit: 'core-ms', value: perImage(ms) });
  }
  figures.push({ key: `${k}.cpuPerImage.total`, label: `${l}: CPU per image, total of ${tree} (load generator excluded)`, unit: 'core-ms', value: perImage(serverCpuMs(cpu)) });
  if (mem) {
    figures.push(
      { key: `${k}.rssMax`, label: `${l}: RSS of server + Chromium, max`, unit: 'MB', value: Math.max(...mem.totals) },
      { key: `${k}.rssMedian`, label: `${l}: RSS of server + Chromium, median`, unit: 'MB', value: median(mem.totals) },
      { key: `${k}.pssMax`, label: `${l}: PSS of server + Chromium (shared pages counted once), max`, unit: 'MB', value: Math.max(...mem.pss) },
    );
    // Where the peak sits says what to cut: the gateway, the browser, or the pages.
    for (const [kind, mb] of [...mem.peak.byKind].sort((a, b) => b[1] - a[1])) {
      figures.push({ key: `${k}.rssPeak.${kind}`, label: `${l}: RSS at the peak, ${kind} process(es)`, unit: 'MB', value: mb });
    }
    figures.push({ key: `${k}.renderers`, label: `${l}: renderer processes at the peak`, unit: 'count', value: mem.peak.renderers });
  }
  return figures;
}

/** Start the server, wait until healthy, load it at each concurrency (RSS sampled at the last), stop it. */
async function benchGateway(run: GatewayRun, opts: ServerLoadOptions): Promise<Figure[]> {
  const server = await startServer(opts, run.label, run.args);
  const figures: Figure[] = [{ key: `${run.key}.startToHealthy`, label: `${run.label}: start to healthy`, unit: 'ms', value: server.healthyMs }];
  try {
    const body = readFileSync(IMAGE);
    const levels = [
      ...run.concurrencies.map((c) => ({ c, transport: 'http' as const, key: `${run.key}.c${c}`, label: `${run.label} c=${c}`, rss: c === run.concurrencies[run.concurrencies.length - 1] })),
      ...run.grpcConcurrencies.map((c) => ({ c, transport: 'grpc' as const, key: `${run.key}.grpc.c${c}`, label: `${run.label} gRPC c=${c}`, rss: false })),
    ];
    for (const { c, transport, key, label, rss } of levels) {
      const level = await measureLevel(server, run.model, c, opts, body, rss, transport);
      figures.push(...levelFigures(key, label, level));
      const { load: r, cpu } = level;
      opts.log(
        `${label}: ${r.imagesPerS.toFixed(1)} img/s, p50 ${percentile(r.latencies, 50).toFixed(1)} ms, ${r.failed} failed, ` +
          `${(serverCpuMs(cpu) / r.ok).toFixed(2)} core-ms/image in gateway + Chromium${cpu.lost ? ` (${cpu.lost} process(es) exited meanwhile: their CPU is missing)` : ''}`,
      );
    }
  } finally {
    await server.stop();
  }
  return figures;
}

/** MobileNetV2 from the default store at 1, 8 and 32 concurrent requests. */
export const benchServer = (opts: ServerLoadOptions): Promise<Figure[]> => benchGateway(MOBILENET_RUN, opts);

/** The same over HTTP with gpu_preprocess (pixels normalised on the GPU): on a GPU host, whether it pays. */
export const benchServerGpuPreprocess = (opts: ServerLoadOptions): Promise<Figure[]> =>
  benchGateway({ ...MOBILENET_RUN, key: 'server.gpuPreprocess', label: 'server, gpu_preprocess', args: [...MOBILENET_RUN.args, '--gpu-preprocess'], grpcConcurrencies: [] }, opts);

/** The same with graph_capture (one captured session per batch size, runs replayed): on a GPU host, whether it pays. */
export const benchServerGraphCapture = (opts: ServerLoadOptions): Promise<Figure[]> =>
  benchGateway({ ...MOBILENET_RUN, key: 'server.graphCapture', label: 'server, graph_capture', args: [...MOBILENET_RUN.args, '--graph-capture'], grpcConcurrencies: [] }, opts);

/** The object detector as shipped (models/yolox_nano) at 1 and 32. */
export const benchDetector = (opts: ServerLoadOptions): Promise<Figure[]> => benchGateway(DETECTOR_RUN, opts);

/** The null model (tests/fixtures/null-model-store) at 1 and 32: the gateway's own ceiling and cost. */
export const benchNullModel = (opts: ServerLoadOptions): Promise<Figure[]> => benchGateway(NULL_MODEL_RUN, opts);
