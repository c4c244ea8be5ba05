// The native peer under the same load as the server: the same image, the same load generator and
// concurrency levels, the same CPU figures from /proc (server-load.ts), for the null model and for
// MobileNetV2, one peer process per model as one server per model. The report sets its figures
// beside the server's (peer-ratios.ts).

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT } from '../../server/ops/paths.js';
import { MODEL_NAME as NULL_MODEL, STORE as NULL_MODEL_STORE } from '../null-model/model.js';
import { freePortPair, IMAGE, levelFigures, measureLevel, serverCpuMs, stopServer, waitHealthy, type ServerLoadOptions } from './server-load.js';
import { percentile, type Figure } from './stats.js';

const PEER = fileURLToPath(new URL('./native-peer-server.js', import.meta.url));
export const PEER_CONCURRENCIES = [1, 32] as const;

interface PeerRun {
  /** Figure keys start with `peer.${key}.`. */
  key: string;
  label: string;
  model: string;
  dir: string;
}

export const PEER_RUNS: readonly PeerRun[] = [
  { key: 'null', label: 'native peer, null model', model: NULL_MODEL, dir: path.join(PROJECT_ROOT, NULL_MODEL_STORE, NULL_MODEL) },
  { key: 'mobilenet', label: 'native peer, MobileNetV2', model: 'mobilenet_v2', dir: path.join(PROJECT_ROOT, 'models/mobilenet_v2') },
];

async function benchOnePeer(run: PeerRun, threads: number, opts: ServerLoadOptions): Promise<Figure[]> {
  const port = opts.port ?? (await freePortPair());
  const url = `http://127.0.0.1:${port}`;
  const args = [PEER, '--port', String(port), '--threads', String(threads), run.dir];
  opts.log(`${run.label}: node ${args.join(' ')}`);
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-8000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const key = `peer.${run.key}`;
  try {
    const healthyMs = await waitHealthy(url, child, () => log, t0);
    const figures: Figure[] = [{ key: `${key}.startToHealthy`, label: `${run.label}: start to healthy`, unit: 'ms', value: healthyMs }];
    const body = readFileSync(IMAGE);
    for (const c of PEER_CONCURRENCIES) {
      const level = await measureLevel({ child, url, grpc: null }, run.model, c, opts, body, false);
      // The peer is one process: its "gateway" row (the root of the tree) is the total.
      figures.push(...levelFigures(`${key}.c${c}`, `${run.label} c=${c}`, level, 'the peer process').filter((f) => !f.key.endsWith('.cpuPerImage.gateway')));
      const { load: r, cpu } = level;
      opts.log(
        `${run.label} c=${c}: ${r.imagesPerS.toFixed(1)} img/s, p50 ${percentile(r.latencies, 50).toFixed(1)} ms, ${r.failed} failed, ${(serverCpuMs(cpu) / r.ok).toFixed(2)} core-ms/image in the peer`,
      );
    }
    return figures;
  } finally {
    await stopServer(child);
    process.removeListener('exit', killOnExit);
  }
}

/** The null model, then MobileNetV2, each in a peer of its own with `threads` intra-op threads. */
export async function benchPeer(threads: number, opts: ServerLoadOptions): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const run of PEER_RUNS) figures.push(...(await benchOnePeer(run, threads, opts)));
  return figures;
}
