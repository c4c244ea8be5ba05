// One replica: the real server, started as users start it (bin/webgpu-inference-server), on
// loopback ports of its own, so that it can be stopped and started again on the same ports, as a
// pod is replaced behind the same Service.

import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PROJECT_ROOT } from '../../server/ops/paths.js';
import { sleep } from '../bench/stats.js';

export const REPLICA_FLAGS = [
  '--backend',
  'wasm',
  '--wasm-threads',
  '1',
  '--load-models',
  'mobilenet_v2',
  // Short, so that a drain (which waits for the predictions in flight up to this) is quick.
  '--default-response-timeout',
  '20',
  // Loopback only: token authorization would be off anyway; said, not left to the default.
  '--disable-token-authorization',
  'true',
];

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export class Replica {
  child: ChildProcess | null = null;
  log = '';
  starts = 0;

  constructor(
    readonly name: string,
    readonly port: number,
    readonly managementPort: number,
    readonly metricsPort: number,
    /** Flags beyond REPLICA_FLAGS. */
    readonly extra: readonly string[] = [],
  ) {}

  static async create(name: string, extra: readonly string[] = []): Promise<Replica> {
    return new Replica(name, await freePort(), await freePort(), await freePort(), extra);
  }

  start(): void {
    const address = (p: number) => `http://127.0.0.1:${p}`;
    const args = [
      ...REPLICA_FLAGS,
      ...this.extra,
      '--inference-address',
      address(this.port),
      '--management-address',
      address(this.managementPort),
      '--metrics-address',
      address(this.metricsPort),
      '--disable-grpc',
    ];
    const child = spawn(path.join(PROJECT_ROOT, 'bin/webgpu-inference-server'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => (this.log = (this.log + d).slice(-20_000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    this.child = child;
    this.starts++;
  }

  /** Until the replica itself answers 200 on /v2/health/ready. */
  async waitReady(timeoutMs = 180_000): Promise<void> {
    const t0 = performance.now();
    for (;;) {
      if (this.child && (this.child.exitCode !== null || this.child.signalCode !== null)) throw new Error(`${this.name} exited before it was ready:\n${this.log}`);
      const res = await fetch(`http://127.0.0.1:${this.port}/v2/health/ready`).catch(() => null);
      await res?.arrayBuffer();
      if (res?.status === 200) return;
      if (performance.now() - t0 > timeoutMs) throw new Error(`${this.name} not ready within ${timeoutMs / 1000} s:\n${this.log}`);
      await sleep(200);
    }
  }

  /** SIGTERM, as the kubelet sends it; resolves with the ms until the process exited. */
  async stop(): Promise<number> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return 0;
    const t0 = performance.now();
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    // The kubelet's terminationGracePeriodSeconds is 30 by default.
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
    return performance.now() - t0;
  }

  /** The browser process: the replica's child started with --remote-debugging-pipe. */
  chromiumPid(): number | null {
    const parent = this.child?.pid;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid !== parent) continue;
        if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('--remote-debugging-pipe')) return Number(entry);
      } catch {
        // Gone meanwhile.
      }
    }
    return null;
  }

  /** Predictions this process has answered (ts_inference_requests_total), since it started. */
  async served(): Promise<number> {
    const res = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics?name[]=ts_inference_requests_total`);
    const text = await res.text();
    let sum = 0;
    for (const line of text.split('\n')) if (line.startsWith('ts_inference_requests_total')) sum += Number(line.split(' ').at(-1));
    return sum;
  }
}
