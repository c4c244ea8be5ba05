// `npm run soak [-- --total 10000 --concurrency 64 <server flags>]`: the real server, started as
// users start it (bin/webgpu-inference-server), under
//   1. a long mixed load: good images (answers checked), bad inputs and hostile ones (scan bombs,
//      JPEGs with a fake end, forms cut short, malformed KServe v2 requests), with the memory of
//      the whole tree sampled throughout;
//   2. a flood of large requests (4 MB photos, 6 MB tensors), with the gateway's own memory
//      before, at its peak and after.
// Writes its two sections of RELIABILITY.md.

import { spawn } from 'node:child_process';
import { writeSection } from '../report-section.js';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../server/ops/paths.js';
import { freePortPair, stopServer, waitHealthy } from '../bench/server-load.js';
import { treeRss } from '../bench/proc-memory.js';
import { median, sleep } from '../bench/stats.js';
import { flood, rssMb } from './flood.js';
import { soak } from './soak-load.js';

/** Where the report's second section starts. */
const FLOOD_MARK = '<flood>';

const argv = process.argv.slice(2);
const own = (name: string, fallback: number) => {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const [, value] = argv.splice(i, 2);
  return Number(value);
};
const total = own('total', 10_000);
const concurrency = own('concurrency', 64);
const floodSize = own('flood', 200);
const window = Math.min(2000, Math.floor(total / 4));

const port = await freePortPair();
const url = `http://127.0.0.1:${port}`;
const child = spawn(
  path.join(PROJECT_ROOT, 'bin/webgpu-inference-server'),
  ['--backend', 'wasm', '--inference-address', url, '--management-address', `http://127.0.0.1:${port + 1}`, '--metrics-address', 'http://127.0.0.1:0', '--disable-grpc', ...argv],
  {
    stdio: ['ignore', 'pipe', 'pipe'],
  },
);
let log = '';
let allocator = 'unknown';
const keep = (d: Buffer) => {
  log = (log + d).slice(-20_000);
  allocator = /memory allocator: (\w+)/.exec(String(d))?.[1] ?? allocator;
};
child.stdout.on('data', keep);
child.stderr.on('data', keep);
const t0 = performance.now();
try {
  await waitHealthy(url, child, () => log, t0);
  console.log(`server healthy (allocator: ${allocator}); soaking with ${total} requests at concurrency ${concurrency}`);
  // Memory is sampled twice a second and filed under the part of the load it was taken in.
  const first: number[] = [];
  const last: number[] = [];
  let peakPss = 0;
  let done = 0;
  const sampler = setInterval(() => {
    const pss = treeRss(child.pid!).pssMb;
    peakPss = Math.max(peakPss, pss);
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

  console.log(`flood: ${floodSize} photos of 4 MB and ${floodSize} tensors of 6 MB at concurrency 64`);
  await sleep(5000);
  const rssBefore = rssMb(child.pid!);
  let rssPeak = rssBefore;
  const floodSampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMb(child.pid!))), 100);
  const floodStatuses = await flood({ url, images: floodSize, tensors: floodSize, concurrency: 64 });
  clearInterval(floodSampler);
  await sleep(10_000);
  const rssAfter = rssMb(child.pid!);

  const statuses = (s: Record<string, number>) =>
    Object.entries(s)
      .sort()
      .map(([k, n]) => `${n} × ${k}`)
      .join(', ');
  const lines = [
    `## A long mixed load: ${total} requests at concurrency ${concurrency}`,
    '',
    `Written by \`npm run soak${argv.length || total !== 10_000 || concurrency !== 64 || floodSize !== 200 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\` (scripts/soak/) on ${new Date().toISOString()}: ${os.cpus()[0]?.model ?? ''}, ${os.cpus().length} cores, Node ${process.version}. The real server on WASM, started by \`bin/webgpu-inference-server\` (allocator: ${allocator}), default limits.`,
    '',
    'Good images (answers checked against the reference), bad inputs and hostile ones, interleaved. Each kind must get its own answer, or 503 when the server is full; nothing else.',
    '',
    '| kind | sent | answers | longest wait |',
    '| --- | ---: | --- | ---: |',
    ...Object.entries(r.byKind)
      .sort()
      .map(([kind, k]) => `| ${kind} | ${k.sent} | ${statuses(k.byStatus)} | ${(k.maxMs / 1000).toFixed(2)} s |`),
    '',
    '| figure | value |',
    '| --- | ---: |',
    `| answers other than the kind's own or 503 | ${r.unexpected.length} |`,
    `| 5xx other than 503 | ${r.serverErrors} |`,
    `| requests left hanging (no answer in 60 s) | ${r.hung} |`,
    `| good images sent / answered correctly / answered wrongly | ${r.goodSent} / ${r.goodCorrect} / ${r.goodWrong.length} |`,
    `| duration | ${r.seconds.toFixed(0)} s (${(total / r.seconds).toFixed(0)} requests/s) |`,
    `| memory (PSS of server + Chromium), median over the first ${window} requests | ${median(first).toFixed(0)} MB |`,
    `| memory, median over the last ${window} requests | ${median(last).toFixed(0)} MB |`,
    `| growth | ${(growth * 100).toFixed(1)}% (target under 10%) |`,
    `| peak memory (PSS of server + Chromium) | ${peakPss.toFixed(0)} MB |`,
    '',
    FLOOD_MARK,
    `## A flood of large requests: ${floodSize} photos of 4 MB and ${floodSize} KServe v2 tensors of 6 MB at concurrency 64`,
    '',
    '| figure | value |',
    '| --- | ---: |',
    `| answers | ${statuses(floodStatuses)} |`,
    `| gateway RSS before | ${rssBefore.toFixed(0)} MB |`,
    `| gateway RSS at the peak | ${rssPeak.toFixed(0)} MB |`,
    `| gateway RSS 10 s after | ${rssAfter.toFixed(0)} MB |`,
    '',
  ];
  if (r.unexpected.length) lines.splice(lines.indexOf(FLOOD_MARK), 0, 'Unexpected answers (first 20):', '', ...r.unexpected.slice(0, 20).map((u) => `- ${u}`), '');
  // Its two sections replace their last versions; the rolling restart's (scripts/rolling/) stay.
  const file = path.join(PROJECT_ROOT, 'RELIABILITY.md');
  const cut = lines.indexOf(FLOOD_MARK);
  writeSection(file, '## A long mixed load', lines.slice(0, cut).join('\n'));
  writeSection(file, '## A flood of large requests', lines.slice(cut + 1).join('\n'));
  console.log(lines.join('\n'));
} finally {
  await stopServer(child);
}
process.exit(0);
