// Measures onnxruntime-web's two WebGPU implementations side by side, on this machine, through
// the real server: `npm run compare:ort-builds [-- --wasm-runs 30 --webgpu-runs 3]`.
// For each build and backend: load time, median session.run time and end-to-end time for the
// kitten, and whether each bundled model passed the WebGPU-vs-WASM parity check.

import os from 'node:os';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { resolveConfig } from '../server/config/config.js';
import { readMachine } from '../server/config/limits.js';
import { PROJECT_ROOT } from '../server/ops/paths.js';
import { startServer } from '../server/server.js';
import { StageCollector } from './bench/server-timing.js';
import { median } from './bench/stats.js';
import type { ParityReport, WebgpuBuild } from '../browser-runtime/protocol.js';

const { values } = parseArgs({ options: { 'wasm-runs': { type: 'string' }, 'webgpu-runs': { type: 'string' } } });
const runs = { wasm: Number(values['wasm-runs'] ?? 30), webgpu: Number(values['webgpu-runs'] ?? 3) };
const kitten = readFileSync(path.join(PROJECT_ROOT, 'tests/fixtures/images/kitten.jpg'));

interface Row {
  build: string;
  backend: string;
  model: string;
  ranOn: string;
  parity: string;
  loadMs: number;
  inferMs: number;
  totalMs: number;
  top1: string;
}

async function measure(build: WebgpuBuild, backend: 'wasm' | 'webgpu'): Promise<Row[]> {
  const config = resolveConfig({
    args: { inference_address: 'http://127.0.0.1:0', management_address: 'http://127.0.0.1:0', metrics_address: 'http://127.0.0.1:0', disable_grpc: 'true', ort_build: build, backend },
    env: { CHROME_PATH: process.env['CHROME_PATH'] },
    machine: readMachine(),
  });
  const server = await startServer(config);
  await server.ready;
  const rows: Row[] = [];
  try {
    for (const model of ['mobilenet_v2', 'mobilenet_v2_int8']) {
      const [d] = (await (await fetch(`${server.managementUrl}/models/${model}`)).json()) as [{ backend: string; ortBuild: string; parity: ParityReport | null; loadMs: number }];
      const timings = new StageCollector();
      let top1 = '';
      for (let i = 0; i < runs[backend]; i++) {
        const res = await fetch(`${server.inferenceUrl}/predictions/${model}?topk=1`, { method: 'POST', body: kitten });
        const body = (await res.json()) as Array<{ class: string; probability: number }>;
        top1 = `${body[0]!.class.split(',')[0]} ${body[0]!.probability.toFixed(3)}`;
        timings.add(res.headers.get('server-timing'));
      }
      rows.push({
        build: d.ortBuild,
        backend,
        model,
        ranOn: d.backend,
        parity: d.parity ? `${d.parity.passed ? 'passed' : 'FAILED'} (${d.parity.relativeDiff.toExponential(1)})` : '-',
        loadMs: d.loadMs,
        inferMs: median(timings.samples.get('infer') ?? []),
        totalMs: median(timings.samples.get('total') ?? []),
        top1,
      });
    }
  } finally {
    await server.close();
  }
  return rows;
}

const rows: Row[] = [];
// A page asked for WASM loads the WASM build, whichever WebGPU build is set: it is measured once.
for (const [build, backend] of [
  ['webgpu', 'wasm'],
  ['webgpu', 'webgpu'],
  ['jsep', 'webgpu'],
] as const)
  rows.push(...(await measure(build, backend)));

console.log(`\n${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}; medians of ${runs.wasm} (wasm) / ${runs.webgpu} (webgpu) kitten requests\n`);
console.log('| build | asked | model | ran on | parity vs WASM | load ms | session.run ms | end-to-end ms | top-1 |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  console.log(`| ${r.build} | ${r.backend} | ${r.model} | ${r.ranOn} | ${r.parity} | ${r.loadMs} | ${r.inferMs.toFixed(1)} | ${r.totalMs.toFixed(1)} | ${r.top1} |`);
}
process.exit(0);
