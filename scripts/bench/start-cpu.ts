// `npm run bench:start`: what a server start costs the machine, per model page. Starts the real
// server (WASM, loopback, free ports) several times for each store below and prints the median
// wall time to healthy and the CPU-seconds all cores spent meanwhile (/proc/stat, so Chromium's
// processes count too). Run it alone on the machine: anything else running is counted.

import { readFileSync } from 'node:fs';
import os from 'node:os';
import { parseCpuTimes } from '../../server/ops/system-metrics.js';
import { startTestServer } from '../../tests/support/server-harness.js';
import { type TempModel, tempStore } from '../../tests/support/temp-store.js';
import { msPerTick } from './proc-cpu.js';
import { median } from './stats.js';

const RUNS = 4;
const STORES: Array<[string, TempModel[]]> = [
  ['no model', []],
  ['null model', [{ name: 'm', from: 'null_model', config: { batch_size: 1 } }]],
  ['three null models', ['a', 'b', 'c'].map((name) => ({ name, from: 'null_model', config: { batch_size: 1 } }) as TempModel)],
  ['MobileNetV2 fp32, batch_size 1', [{ name: 'm', from: 'mobilenet_v2', config: { batch_size: 1 } }]],
  ['MobileNetV2 fp32 as shipped', [{ name: 'm', from: 'mobilenet_v2' }]],
  ['MobileNetV2 int8 as shipped', [{ name: 'm', from: 'mobilenet_v2_int8' }]],
];

/** CPU-seconds every core has spent working since boot. */
function busySeconds(): number {
  const times = parseCpuTimes(readFileSync('/proc/stat', 'utf8'));
  if (!times) throw new Error('/proc/stat has no cpu line');
  return (times.busy * msPerTick()) / 1000;
}

console.log(`${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}; median of ${RUNS} starts each, backend wasm`);
console.log('| store | start to healthy | CPU-seconds |\n| --- | --- | --- |');
for (const [label, models] of STORES) {
  const store = tempStore(models);
  const walls: number[] = [];
  const cpus: number[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const cpu0 = busySeconds();
      const t0 = performance.now();
      const server = await startTestServer({ model_store: store.root, load_models: models.length ? 'all' : '', backend: 'wasm' });
      walls.push(performance.now() - t0);
      cpus.push(busySeconds() - cpu0);
      await server.close();
    }
  } finally {
    store.remove();
  }
  console.log(`| ${label} | ${(median(walls) / 1000).toFixed(2)} s | ${median(cpus).toFixed(2)} |`);
}
