// HAProxy in front of the replicas, as a Kubernetes Service with readiness probes would be:
// every replica is checked on GET /v2/health/ready once a second; one failed check takes it out
// of rotation, one passed check puts it back. No retries and no redispatch: a Service forwards a
// connection once and does not retry, so what the clients see here is what they would see there.
// HAProxy's own counters (per server: answers by class, retries, redispatches) come from its
// admin socket.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { sleep } from '../bench/stats.js';

export const CHECK = { path: '/v2/health/ready', interMs: 1000, fall: 1, rise: 1 };

/** Installs Debian's haproxy if there is none; returns its version line. */
export function ensureHaproxy(): string {
  const version = () => spawnSync('haproxy', ['-v'], { encoding: 'utf8' });
  let v = version();
  if (v.error) {
    console.log('haproxy is not installed: apt-get install -y haproxy');
    const apt = spawnSync('apt-get', ['install', '-y', 'haproxy'], { stdio: 'inherit' });
    if (apt.status !== 0) throw new Error('apt-get install -y haproxy failed (run it as root, after apt-get update)');
    v = version();
  }
  return v.stdout.split('\n')[0] ?? 'haproxy';
}

export function haproxyConfig(dir: string, frontPort: number, backends: Array<{ name: string; port: number }>): string {
  const text = [
    'global',
    `  stats socket ${path.join(dir, 'admin.sock')} level admin`,
    '  log stderr format short local0 notice',
    'defaults',
    '  mode http',
    '  log global',
    '  timeout connect 2s',
    '  timeout client 60s',
    '  timeout server 60s',
    // A Service does not retry: no second attempt on another replica, nor on the same one.
    '  retries 0',
    '  no option redispatch',
    'frontend front',
    `  bind 127.0.0.1:${frontPort}`,
    '  default_backend replicas',
    'backend replicas',
    '  balance roundrobin',
    `  option httpchk GET ${CHECK.path}`,
    '  http-check expect status 200',
    `  default-server inter ${CHECK.interMs}ms fastinter ${CHECK.interMs}ms downinter ${CHECK.interMs}ms fall ${CHECK.fall} rise ${CHECK.rise}`,
    ...backends.map((b) => `  server ${b.name} 127.0.0.1:${b.port} check`),
    '',
  ].join('\n');
  const file = path.join(dir, 'haproxy.cfg');
  writeFileSync(file, text);
  return text;
}

export function startHaproxy(dir: string): ChildProcess {
  const child = spawn('haproxy', ['-db', '-f', path.join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'inherit', 'inherit'] });
  return child;
}

/** One command on the admin socket; its answer. */
export function admin(dir: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(path.join(dir, 'admin.sock'));
    let out = '';
    s.on('connect', () => s.write(`${command}\n`));
    s.on('data', (d) => (out += d));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

export interface ServerStat {
  status: string;
  sessions: number;
  http2xx: number;
  http5xx: number;
  retries: number;
  redispatches: number;
  connectionErrors: number;
  responseErrors: number;
}

/** The backend's servers, from `show stat`. */
export async function serverStats(dir: string): Promise<Map<string, ServerStat>> {
  const [header = '', ...rows] = (await admin(dir, 'show stat')).trim().split('\n');
  const cols = header.replace(/^# /, '').split(',');
  const at = (row: string[], name: string) => row[cols.indexOf(name)] ?? '';
  const n = (row: string[], name: string) => Number(at(row, name)) || 0;
  const stats = new Map<string, ServerStat>();
  for (const line of rows) {
    const row = line.split(',');
    if (at(row, 'pxname') !== 'replicas' || ['FRONTEND', 'BACKEND'].includes(at(row, 'svname'))) continue;
    stats.set(at(row, 'svname'), {
      status: at(row, 'status'),
      sessions: n(row, 'stot'),
      http2xx: n(row, 'hrsp_2xx'),
      http5xx: n(row, 'hrsp_5xx'),
      retries: n(row, 'wretr'),
      redispatches: n(row, 'wredis'),
      connectionErrors: n(row, 'econ'),
      responseErrors: n(row, 'eresp'),
    });
  }
  return stats;
}

/** Waits until HAProxy's checks say `status` (UP, DOWN) for the server; how long it took. */
export async function waitStatus(dir: string, server: string, status: string, timeoutMs = 180_000): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    // Until HAProxy has opened its socket, nothing is known.
    const s = (await serverStats(dir).catch(() => null))?.get(server)?.status ?? '';
    if (s.startsWith(status)) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`${server} not ${status} within ${timeoutMs / 1000} s (it is ${s})`);
    await sleep(100);
  }
}
