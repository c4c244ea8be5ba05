// BENCHMARKS.md: the machine, the command, every figure (median across runs, then each run), and
// the targets. Hand-written analysis between the notes markers is carried over from the old file,
// and so are the GPU figures between the gpu markers: this benchmark runs where it is started, and
// those come from `run.sh gpu-check` on a GPU host (scripts/bundle/record-gpu-figures.ts).

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { peerTargets } from './peer-ratios.js';
import { fmt, median, type Figure } from './stats.js';

export interface Row {
  key: string;
  label: string;
  unit: string;
  median: number;
  values: number[];
}

export interface ReportContext {
  machine: string[];
  command: string;
  date: string;
  runs: Figure[][];
}

const NOTES_OPEN = '<!-- notes -->';
const NOTES_CLOSE = '<!-- /notes -->';
const GPU_OPEN = '<!-- gpu -->';
const GPU_CLOSE = '<!-- /gpu -->';
const NO_GPU_FIGURE = [
  '',
  'No GPU figure exists yet: every WebGPU figure so far is SwiftShader, a CPU emulation. `run.sh gpu-check` from the offline',
  'bundle (docs/deployment.md, "The GPU check") measures one on a GPU host, and',
  "`node dist/scripts/bundle/record-gpu-figures.js <its folder>` puts its figures here, with the adapter's name.",
  '',
].join('\n');

/** One row per figure key, in first-seen order; a figure missing from a run counts as NaN there. */
export function aggregate(runs: Figure[][]): Row[] {
  const rows = new Map<string, Row>();
  for (const [i, figures] of runs.entries()) {
    for (const f of figures) {
      const row = rows.get(f.key) ?? { key: f.key, label: f.label, unit: f.unit, median: NaN, values: Array<number>(runs.length).fill(NaN) };
      row.values[i] = f.value;
      rows.set(f.key, row);
    }
  }
  for (const row of rows.values()) row.median = median(row.values);
  return [...rows.values()];
}

export interface Target {
  name: string;
  value: number;
  unit: string;
  /** Which way is good, and the bound; null for a figure reported without a target. */
  op: '>=' | '<=' | '<' | null;
  bound: number | null;
}

export function targets(rows: Row[]): Target[] {
  const m = (key: string) => rows.find((r) => r.key === key)?.median ?? NaN;
  return [
    { name: '(a) server images/s at c=32 / bare page images/s at its best batch', value: m('server.c32.imagesPerS') / m('bare.best.imagesPerS'), unit: '', op: '>=', bound: 0.9 },
    { name: '(b) server p50 at c=1 minus bare page session.run at batch 1', value: m('server.c1.p50') - m('bare.b1.ms'), unit: 'ms', op: '<=', bound: 8 },
    { name: '(c) start to healthy', value: m('server.startToHealthy'), unit: 'ms', op: '<', bound: 5000 },
    { name: '(d) max resident memory (PSS) of server + Chromium during c=32', value: m('server.c32.pssMax'), unit: 'MB', op: '<', bound: 800 },
    { name: '(d, upper bound) max RSS summed over the same processes', value: m('server.c32.rssMax'), unit: 'MB', op: '<', bound: 800 },
    { name: '(e) null model images/s at c=32', value: m('null.c32.imagesPerS'), unit: 'img/s', op: '>=', bound: 400 },
    { name: '(e) CPU per image outside the model, null model c=32 (gateway + Chromium)', value: m('null.c32.cpuPerImage.total'), unit: 'core-ms', op: '<=', bound: 5 },
    ...peerTargets(m),
  ];
}

export function verdict(t: Target): string {
  if (Number.isNaN(t.value)) return 'n/a (not measured)';
  if (t.op === null || t.bound === null) return 'reported (no target)';
  const pass = t.op === '>=' ? t.value >= t.bound : t.op === '<=' ? t.value <= t.bound : t.value < t.bound;
  const gap = Math.abs(t.value - t.bound);
  const pct = t.bound !== 0 ? ` (${((gap / Math.abs(t.bound)) * 100).toFixed(0)}% of the target)` : '';
  return `${pass ? 'PASS' : 'MISS'} by ${fmt(gap)}${t.unit ? ` ${t.unit}` : ''}${pct}`;
}

const goal = (t: Target): string => (t.op === null ? '-' : `${t.op} ${t.bound}${t.unit ? ` ${t.unit}` : ''}`);

export function tables(rows: Row[], runCount: number): string {
  const runCols = runCount > 1 ? Array.from({ length: runCount }, (_, i) => ` run ${i + 1} |`).join('') : '';
  const lines = [
    `| figure | unit | ${runCount > 1 ? `median of ${runCount} runs` : 'value'} |${runCols}`,
    `| --- | --- | ---: |${runCount > 1 ? ' ---: |'.repeat(runCount) : ''}`,
    ...rows.map((r) => `| ${r.label} | ${r.unit} | ${fmt(r.median)} |${runCount > 1 ? r.values.map((v) => ` ${fmt(v)} |`).join('') : ''}`),
    '',
    '| target | value | goal | verdict |',
    '| --- | ---: | --- | --- |',
    ...targets(rows).map((t) => `| ${t.name} | ${fmt(t.value)}${t.unit ? ` ${t.unit}` : ''} | ${goal(t)} | ${verdict(t)} |`),
  ];
  return lines.join('\n');
}

/** What the old file holds between two markers, or null. */
function oldSection(file: string, open: string, close: string): string | null {
  if (!existsSync(file)) return null;
  const text = readFileSync(file, 'utf8');
  const a = text.indexOf(open);
  const b = text.indexOf(close, a + open.length);
  return a >= 0 && b >= 0 ? text.slice(a + open.length, b) : null;
}

/** Replaces the GPU figures of an existing BENCHMARKS.md with `section`, leaving everything else as it is. */
export function writeGpuSection(file: string, section: string): void {
  const text = readFileSync(file, 'utf8');
  const a = text.indexOf(GPU_OPEN);
  const b = text.indexOf(GPU_CLOSE, a + GPU_OPEN.length);
  if (a < 0 || b < 0) throw new Error(`${file} has no ${GPU_OPEN} ... ${GPU_CLOSE} section: run npm run bench once to add it`);
  writeFileSync(file, `${text.slice(0, a + GPU_OPEN.length)}\n${section.trim()}\n${text.slice(b)}`);
}

export function writeReport(file: string, ctx: ReportContext, rows: Row[]): void {
  const notes = oldSection(file, NOTES_OPEN, NOTES_CLOSE) ?? '\n(Hand-written analysis goes here; `npm run bench` keeps it.)\n';
  const gpu = oldSection(file, GPU_OPEN, GPU_CLOSE) ?? NO_GPU_FIGURE;
  const text = [
    '# Benchmarks',
    '',
    'Written by `npm run bench` (scripts/bench/). Everything outside the notes markers is regenerated.',
    '',
    '## Machine',
    '',
    ...ctx.machine.map((l) => `- ${l}`),
    '',
    '## Run',
    '',
    `- command: \`${ctx.command}\``,
    `- date: ${ctx.date}`,
    `- runs: ${ctx.runs.length}${ctx.runs.length > 1 ? ' (figures are medians across runs; each run follows)' : ''}`,
    '- server: the real server (`--load-models mobilenet_v2`: one page) under POST /predictions/mobilenet_v2 with',
    '  tests/fixtures/images/dog_640x480.jpg from autocannon, after an unrecorded warm-up at each concurrency; latencies and Server-Timing',
    '  stages over 2xx answers only. RSS sums VmRSS over the server process and all its descendants (Chromium included), sampled every',
    '  500 ms, so pages shared between processes count more than once.',
    '- CPU per image: utime + stime from /proc over each recorded window, by kind of process (the gateway, each Chromium process type,',
    '  and the load generator: autocannon inside the benchmark process), divided by the 2xx answers in the window. The total is the',
    '  gateway and Chromium without the load generator. A process that exits during a window takes its CPU with it.',
    '- null model: the same server with `--model-store tests/fixtures/null-model-store` under POST /predictions/null_model (same image,',
    '  same preprocessing; the network is a per-channel mean and a 3x1000 matmul, see scripts/null-model/), at c=1 and c=32: what the',
    '  gateway, the page and the bridge can deliver at most on this machine, and what they cost per image.',
    '- detector: the same server with `--load-models yolox_nano` (models/yolox_nano, the object_detector handler: letterboxed to 416,',
    '  YOLOX decoding and non-maximum suppression in the page) under POST /predictions/yolox_nano, same image, at c=1 and c=32.',
    '- gRPC rows: the same server, model and image through TorchServe\'s gRPC Predictions (input["data"]) on 7070, at c=1 and c=32, after the',
    '  HTTP levels: c callers on one channel (one HTTP/2 connection, as a gRPC client uses), each sending again as soon as its answer is in;',
    '  the Server-Timing stages come from the trailers. The load generator (@grpc/grpc-js) runs inside the benchmark process.',
    "- bare page: onnxruntime-web WASM (the ort.wasm build the server's WASM pages load) in the same headless Chromium, no gateway; random input made",
    '  beforehand, only session.run timed (40 runs or about 5 s per batch size, at least 5), after warming up until run times settle (V8',
    '  keeps optimising the WASM for the first seconds). The worker rows are back-to-back throughput over 4 s, gaps between runs included.',
    '- native: onnxruntime-node, CPU execution provider, same model file and thread count, same run policy as the bare page.',
    '- native peer: the server a Node user writes in an afternoon instead of this one (scripts/bench/native-peer-server.ts), in a',
    "  process of its own: node:http; the server's own preprocess() run in that process (sharp: the same decode, resize and crop, so",
    '  the same pixels) and normalise(); onnxruntime-node, CPU execution provider, intra-op threads as the native row; one request, one',
    '  session.run, no batching; softmax, top 5 and the same JSON as POST /predictions/<model>. Loaded like the server (same image,',
    '  same autocannon, same warm-up) at c=1 and c=32 with the null model and with MobileNetV2, one peer process per model; its CPU',
    '  per image is its utime + stime over the window per 2xx answer. The (p) rows divide or subtract the medians of server and peer.',
    '- "other processes" and "stolen" rows: CPU used outside this benchmark while each part ran; a run where they are high measured a busy machine.',
    '',
    '## Results',
    '',
    tables(rows, ctx.runs.length),
    '',
    'On a GPU host the same command with `-- --backend webgpu` (passed through to the server) measures the WebGPU path;',
    'the bare-page and native rows stay WASM / CPU references.',
    '',
    '## GPU',
    '',
    `${GPU_OPEN}${gpu}${GPU_CLOSE}`,
    '',
    '## Notes',
    '',
    `${NOTES_OPEN}${notes}${NOTES_CLOSE}`,
    '',
  ].join('\n');
  writeFileSync(file, text);
}
