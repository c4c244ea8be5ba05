// The gateway under load: start the real server as a child process, time start -> healthy, then
// drive POST /predictions with autocannon at several concurrencies, reading Server-Timing and
// the memory of the whole process tree (gateway + Chromium) while it works.

import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PROJECT_ROOT } from '../../server/paths.js';
import { sampleTreeRss } from './proc-memory.js';
import { StageCollector } from './server-timing.js';
import { median, percentile, sleep, type Figure } from './stats.js';

export const CONCURRENCIES = [1, 8, 32] as const;
const IMAGE = path.join(PROJECT_ROOT, 'tests/fixtures/images/dog_640x480.jpg');
const MODEL = 'mobilenet_v2';

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

interface LoadResult {
  imagesPerS: number;
  latencies: number[];
  failed: number;
  stages: StageCollector;
}

async function load(url: string, connections: number, durationS: number, body: Buffer): Promise<LoadResult> {
  const stages = new StageCollector();
  const latencies: number[] = [];
  const result = await autocannon({
    url: `${url}/predictions/${MODEL}`,
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
        header = i >= 0 ? raw[i + 1] ?? null : null;
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
    imagesPerS: result['2xx'] / result.duration,
    latencies,
    failed: result.non2xx + result.errors,
    stages,
  };
}

export async function benchServer(opts: ServerLoadOptions): Promise<Figure[]> {
  const port = opts.port ?? (await freePortPair());
  const url = `http://127.0.0.1:${port}`;
  const args = ['dist/server/main.js', '--backend', 'wasm', '--inference-address', url, '--management-address', `http://127.0.0.1:${port + 1}`, '--metrics-address', 'http://127.0.0.1:0', ...opts.serverArgs];
  opts.log(`server: node ${args.join(' ')}`);
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (chunk: Buffer) => (log = (log + chunk.toString()).slice(-8000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  // If the benchmark dies, the server (and with it Chromium, whose pipe closes) must not outlive it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const figures: Figure[] = [];
  try {
    const healthyMs = await waitHealthy(url, child, () => log, t0);
    figures.push({ key: 'server.startToHealthy', label: 'server: start to healthy', unit: 'ms', value: healthyMs });
    opts.log(`server: healthy after ${healthyMs.toFixed(0)} ms`);
    const body = readFileSync(IMAGE);
    for (const c of CONCURRENCIES) {
      await load(url, c, opts.warmupS, body);
      const rss = c === CONCURRENCIES[CONCURRENCIES.length - 1] ? sampleTreeRss(child.pid!, 500) : null;
      const r = await load(url, c, opts.durationS, body);
      const mem = rss?.stop();
      const k = `server.c${c}`;
      const l = `server c=${c}`;
      figures.push(
        { key: `${k}.imagesPerS`, label: `${l}: images/s`, unit: 'img/s', value: r.imagesPerS },
        { key: `${k}.p50`, label: `${l}: p50 latency`, unit: 'ms', value: percentile(r.latencies, 50) },
        { key: `${k}.p99`, label: `${l}: p99 latency`, unit: 'ms', value: percentile(r.latencies, 99) },
        { key: `${k}.failed`, label: `${l}: non-2xx or failed requests`, unit: 'count', value: r.failed },
      );
      for (const [stage, durs] of r.stages.samples) {
        figures.push({ key: `${k}.stage.${stage}`, label: `${l}: Server-Timing ${stage} (median)`, unit: 'ms', value: median(durs) });
      }
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
      opts.log(`server: c=${c} ${r.imagesPerS.toFixed(1)} img/s, p50 ${percentile(r.latencies, 50).toFixed(1)} ms, ${r.failed} failed`);
    }
  } finally {
    await stopServer(child);
    process.removeListener('exit', killOnExit);
  }
  return figures;
}
