// `npm run bench [-- --runs N --duration S --warmup S --port P --only parts <server flags>]`: the server under
// load, the server with the null model, the native peer with both models, the detector, then the
// bare page, then native, one after another (never together: they share 2 cores), N times; writes
// BENCHMARKS.md and prints the same tables.

import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../server/ops/paths.js';
import { PARTS, parseBenchArgs, type Part } from './args.js';
import { benchBarePage } from './bare-page.js';
import { startCpuNoise } from './cpu-noise.js';
import { benchNative } from './native.js';
import { benchPeer } from './peer-load.js';
import { aggregate, tables, writeReport } from './report.js';
import { benchDetector, benchNullModel, benchServer } from './server-load.js';
import type { Figure } from './stats.js';

const argv = process.argv.slice(2);
const args = parseBenchArgs(argv);
const t0 = performance.now();
const log = (line: string) => console.error(`[bench ${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}`);

const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`);
// How it was started, so the file says what to type to get the same figures again.
const command =
  process.env['npm_lifecycle_event'] === 'bench' ? `npm run bench${argv.length ? ` -- ${argv.map(quote).join(' ')}` : ''}` : `node dist/scripts/bench/run.js ${argv.map(quote).join(' ')}`.trim();

const runs: Figure[][] = [];
let chromium = 'unknown';
for (let i = 0; i < args.runs; i++) {
  log(`run ${i + 1} of ${args.runs}`);
  const figures: Figure[] = [];
  const noise: Figure[] = [];
  const part = async (name: Part, work: () => Promise<Figure[]>) => {
    if (!args.parts.has(name)) return;
    const meter = startCpuNoise();
    figures.push(...(await work()));
    noise.push(...meter.stop(name));
  };
  const serverOpts = { port: args.port, durationS: args.durationS, warmupS: args.warmupS, serverArgs: args.serverArgs, log };
  await part('server', () => benchServer(serverOpts));
  await part('null', () => benchNullModel(serverOpts));
  await part('peer', () => benchPeer(args.threads, serverOpts));
  await part('detector', () => benchDetector(serverOpts));
  await part('bare', async () => {
    const bare = await benchBarePage(args.threads, log);
    chromium = bare.chromium;
    return bare.figures;
  });
  await part('native', () => benchNative(args.threads, log));
  runs.push([...figures, ...noise]);
}

const cpus = os.cpus();
const machine = [
  `CPU: ${cpus[0]?.model.trim() ?? 'unknown'}, ${cpus.length} logical cores (availableParallelism ${os.availableParallelism()})`,
  `memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
  `OS: ${os.type()} ${os.release()} ${os.arch()}`,
  `Node ${process.version}, Chromium ${chromium}`,
  `WASM / intra-op threads: ${args.threads}`,
];
const rows = aggregate(runs);
// Only a run of every part replaces BENCHMARKS.md: a partial one would drop the figures it skipped.
const whole = args.parts.size === PARTS.length;
const file = path.join(PROJECT_ROOT, whole ? 'BENCHMARKS.md' : 'BENCHMARKS.partial.md');
writeReport(file, { machine, command, date: new Date().toISOString(), runs }, rows);
console.log(`\n${machine.join('\n')}\ncommand: ${command}\n\n${tables(rows, runs.length)}\n`);
log(`done; wrote ${file}`);
// puppeteer and autocannon can leave handles open for a moment; nothing more is to be done.
process.exit(0);
