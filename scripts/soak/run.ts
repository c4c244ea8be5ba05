// `npm run soak [-- --total 10000 --concurrency 64 <server flags>]`: the real server, a long
// mixed load, and its memory at the start and end of the load. Writes RELIABILITY.md.

import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../server/paths.js';
import { freePortPair, stopServer, waitHealthy } from '../bench/server-load.js';
import { treeRss } from '../bench/proc-memory.js';
import { median } from '../bench/stats.js';
import { soak } from './soak-load.js';

const argv = process.argv.slice(2);
const own = (name: string, fallback: number) => {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const [, value] = argv.splice(i, 2);
  return Number(value);
};
const total = own('total', 10_000);
const concurrency = own('concurrency', 64);
const window = Math.min(2000, Math.floor(total / 4));

const port = await freePortPair();
const url = `http://127.0.0.1:${port}`;
const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist/server/main.js'), '--backend', 'wasm', '--inference-address', url, '--management-address', `http://127.0.0.1:${port + 1}`, '--metrics-address', 'http://127.0.0.1:0', ...argv], {
  stdio: ['ignore', 'pipe', 'pipe'],
});
let log = '';
child.stdout.on('data', (d: Buffer) => (log = (log + d).slice(-20_000)));
child.stderr.on('data', (d: Buffer) => (log = (log + d).slice(-20_000)));
const t0 = performance.now();
try {
  await waitHealthy(url, child, () => log, t0);
  console.log(`server healthy; soaking with ${total} requests at concurrency ${concurrency}`);
  // Memory is sampled twice a second and filed under the part of the load it was taken in.
  const first: number[] = [];
  const last: number[] = [];
  let done = 0;
  const sampler = setInterval(() => {
    const pss = treeRss(child.pid!).pssMb;
    if (done <= window) first.push(pss);
    else if (done >= total - window) last.push(pss);
  }, 500);
  const r = await soak({
    url,
    total,
    concurrency,
    onProgress: (n) => {
      done = n;
      if (n % 1000 === 0) console.log(`${n} requests`);
    },
  });
  clearInterval(sampler);
  const growth = (median(last) - median(first)) / median(first);
  const lines = [
    '# Reliability',
    '',
    `Written by \`npm run soak${argv.length || total !== 10_000 || concurrency !== 64 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\` (scripts/soak/) on ${new Date().toISOString()}: ${os.cpus()[0]?.model ?? ''}, ${os.cpus().length} cores, Node ${process.version}.`,
    '',
    `The real server on WASM, ${total} requests at concurrency ${concurrency}: one good image (kitten, malamute, eagle, answers checked) in four, the rest bad inputs (empty, text, truncated JPEG, SVG, random bytes).`,
    '',
    '| figure | value |',
    '| --- | ---: |',
    ...Object.entries(r.byStatus).sort().map(([s, n]) => `| answers with status ${s} | ${n} |`),
    `| 5xx other than 503 | ${r.serverErrors} |`,
    `| requests left hanging (no answer in 60 s) | ${r.hung} |`,
    `| good images sent / answered correctly / answered wrongly | ${r.goodSent} / ${r.goodCorrect} / ${r.goodWrong.length} |`,
    `| duration | ${r.seconds.toFixed(0)} s (${(total / r.seconds).toFixed(0)} requests/s) |`,
    `| memory (PSS of server + Chromium), median over the first ${window} requests | ${median(first).toFixed(0)} MB |`,
    `| memory, median over the last ${window} requests | ${median(last).toFixed(0)} MB |`,
    `| growth | ${(growth * 100).toFixed(1)}% (target under 10%) |`,
    '',
  ];
  writeFileSync(path.join(PROJECT_ROOT, 'RELIABILITY.md'), lines.join('\n'));
  console.log(lines.join('\n'));
} finally {
  await stopServer(child);
}
process.exit(0);
