// `run.sh gpu-check [--out DIR] [--duration S]`: does the server reach the GPU, and how fast is it
// there? In order: find the host's Vulkan driver; ask bare Chromium for its WebGPU adapter (and
// try the extra switches only where the server's own give no hardware adapter); start the server
// with `--backend webgpu` and read from each model's description the adapter and the parity
// guard's result; classify the test images; then the benchmark's load at concurrency 1, 8 and 32
// (and again with gpu_preprocess, and with graph_capture) and the same model bare on WebGPU. Everything goes into one
// folder; the last line says PASS or what failed, and the exit code is 0 only on PASS. Bounded: it
// gives up after 7.5 minutes.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { withoutPreloadedAllocator } from '../../../server/ops/allocator.js';
import { findChromium } from '../../../server/chromium/find-chromium.js';
import { ModelStore } from '../../../server/store/model-store.js';
import { PROJECT_ROOT } from '../../../server/ops/paths.js';
import { startRuntimeAssets } from '../../../server/page/runtime-assets.js';
import { benchServer, benchServerGpuPreprocess, benchServerGraphCapture } from '../../bench/server-load.js';
import { FLAG_SETS, probeAdapter } from './adapter-probe.js';
import { adapterName, judgeAdapter } from './adapter-verdict.js';
import { benchBareWebGpu } from './bare-webgpu.js';
import { checkServer, type ModelState } from './server-check.js';
import { benchmarksSection, type CheckRecord, summaryText } from './summary.js';
import { findVulkanDriver } from './vulkan-driver.js';

const LIMIT_MS = 450_000;
const { values } = parseArgs({ options: { out: { type: 'string' }, duration: { type: 'string', default: '10' } } });
const out = path.resolve(values.out ?? `gpu-check-${new Date().toISOString().replace(/[:.]/g, '-')}`);
const durationS = Number(values.duration);
mkdirSync(out, { recursive: true });
const t0 = performance.now();
const log = (line: string) => console.error(`[gpu-check ${((performance.now() - t0) / 1000).toFixed(0).padStart(3)} s] ${line}`);

const chrome = findChromium(process.env['CHROME_PATH'] ?? null);
const record: CheckRecord = {
  date: new Date().toISOString(),
  verdict: '',
  passed: false,
  failures: [],
  driver: { icdFiles: [], used: null, why: 'not looked for yet', env: {}, devices: [], nvidiaSmi: null },
  probes: [],
  chromiumArgs: [],
  serverArgs: [],
  chromium: chrome,
  server: null,
  serverFigures: [],
  bareAdapter: null,
  bareFigures: [],
};

function finish(verdict: string, passed: boolean): never {
  record.verdict = verdict;
  record.passed = passed;
  writeFileSync(path.join(out, 'result.json'), `${JSON.stringify(record, null, 2)}\n`);
  writeFileSync(path.join(out, 'summary.md'), summaryText(record));
  if (passed) writeFileSync(path.join(out, 'benchmarks-gpu.md'), `${benchmarksSection(record)}\n`);
  writeFileSync(path.join(out, 'result.txt'), `${verdict}\n`);
  log(`wrote ${out}`);
  console.log(verdict);
  process.exit(passed ? 0 : 1);
}

setTimeout(() => finish(`FAILED: the check ran past ${LIMIT_MS / 60_000} minutes (${record.failures.join('; ') || 'no failure before that'})`, false), LIMIT_MS).unref();

// 1. The driver, and the environment every Chromium of this check inherits (the server's too).
record.driver = findVulkanDriver();
Object.assign(process.env, record.driver.env);
const chromiumEnv = withoutPreloadedAllocator(process.env);
log(`Vulkan: ${record.driver.why}; devices: ${record.driver.devices.join(' ') || 'none'}; nvidia-smi: ${record.driver.nvidiaSmi ?? 'none'}`);

// 2. The adapter, bare.
const assets = await startRuntimeAssets(await ModelStore.open(path.join(PROJECT_ROOT, 'models')));
for (const [i, flags] of FLAG_SETS.entries()) {
  const probe = await probeAdapter(flags, {
    chrome,
    pageUrl: assets.pageUrl,
    env: chromiumEnv,
    stderrFile: path.join(out, `chromium-probe-${i + 1}.log`),
    gpuInfoFile: i === 0 ? path.join(out, 'chromium-gpu-info.json') : null,
  });
  record.probes.push(probe);
  record.chromium = probe.chromium ?? record.chromium;
  log(`probe ${i + 1} (${flags.name}): ${probe.adapter ? adapterName(probe.adapter) : probe.error}; ${probe.verdict.kind}${probe.vulkanTrouble[0] ? `; stderr: ${probe.vulkanTrouble[0]}` : ''}`);
  if (probe.verdict.kind === 'hardware') {
    record.chromiumArgs = flags.args;
    break;
  }
}
await assets.close();

// 3. The server on WebGPU: adapter and parity from each model's description, then the answers.
record.serverArgs = ['--backend', 'webgpu', ...(record.chromiumArgs.length ? [`--chromium-args=${record.chromiumArgs.join(' ')}`] : [])];
const onHardware = (models: ModelState[]) => models.length > 0 && models.every((m) => judgeAdapter(m.adapter, m.error).kind === 'hardware');
record.server = await checkServer(record.serverArgs, path.join(out, 'startup.log'), onHardware, log);

// What kept Chromium off the GPU, said once: Vulkan's own complaint, and a driver not found.
const vulkanSaid = [...new Set(record.probes.flatMap((p) => p.vulkanTrouble))][0];
const cause = [vulkanSaid ? `Vulkan error: ${vulkanSaid.length > 200 ? `${vulkanSaid.slice(0, 200)}...` : vulkanSaid}` : null, record.driver.used ? null : 'no NVIDIA Vulkan ICD file found']
  .filter(Boolean)
  .join('; ');
if (record.server.startError) record.failures.push(`the server did not start with ${record.serverArgs.join(' ')}: ${record.server.startError} (startup.log)`);
for (const m of record.server.models) {
  const verdict = judgeAdapter(m.adapter, m.error);
  if (verdict.kind !== 'hardware') record.failures.push(`${m.model}: ${verdict.why}`);
  else if (m.backend !== 'webgpu') record.failures.push(`${m.model} runs on ${m.backend}: ${m.fallbackReason ?? m.error ?? 'no reason given'}`);
  else if (!m.parity?.passed) record.failures.push(`${m.model}: parity guard ${m.parity ? `failed (relative difference ${m.parity.relativeDiff.toPrecision(3)} > ${m.parity.tolerance})` : 'not run'}`);
}
for (const a of record.server.answers.filter((x) => !x.correct)) record.failures.push(`${a.model} ${a.image}: answered ${a.top1 ?? a.error}, expected one of ${a.expected.join('; ')}`);
if (record.failures.length) {
  // No adapter, or a software one, is what matters most: said first, once for every model it hit,
  // with its cause; where the server did not start, the bare probe's adapter stands in.
  const probed = record.probes.at(-1)?.verdict;
  const adapterFailures = record.failures.filter((f) => / (software|no) adapter|no WebGPU adapter/.test(f));
  const first = adapterFailures[0]?.replace(/^[\w.-]+: /, '') ?? (probed && probed.kind !== 'hardware' ? `${record.failures[0]}; bare Chromium got: ${probed.why}` : record.failures[0]!);
  const rest = record.failures.length - Math.max(1, adapterFailures.length);
  record.failures.push(...(cause ? [`cause: ${cause}`] : []));
  finish(`FAILED: ${first}${adapterFailures.length > 1 ? ` (on ${adapterFailures.length} models)` : ''}${cause ? `; ${cause}` : ''}${rest > 0 ? ` (and ${rest} more: summary.md)` : ''}`, false);
}

// 4. The figures.
try {
  record.serverFigures = await benchServer({ port: null, durationS, warmupS: 2, serverArgs: record.serverArgs, log });
  // gpu_preprocess and graph_capture are off by default until a GPU host shows they pay (docs/performance.md).
  record.serverFigures.push(...(await benchServerGpuPreprocess({ port: null, durationS, warmupS: 2, serverArgs: record.serverArgs, log })));
  record.serverFigures.push(...(await benchServerGraphCapture({ port: null, durationS, warmupS: 2, serverArgs: record.serverArgs, log })));
  const bare = await benchBareWebGpu(chrome, record.chromiumArgs, chromiumEnv, log);
  record.bareAdapter = bare.adapter;
  record.bareFigures = bare.figures;
} catch (e) {
  finish(`FAILED: benchmark: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`, false);
}
const adapter = record.server.models[0]!.adapter!;
const f = (key: string) => record.serverFigures.find((x) => x.key === key)?.value ?? NaN;
finish(
  `PASS: WebGPU on ${adapterName(adapter)}; parity passed on ${record.server.models.length} models; ${record.server.answers.length} answers right; ` +
    `server c=1 p50 ${f('server.c1.p50').toFixed(1)} ms, c=32 ${f('server.c32.imagesPerS').toFixed(1)} images/s; ` +
    `bare page best ${(record.bareFigures.find((x) => x.key === 'bare.webgpu.best.imagesPerS')?.value ?? NaN).toFixed(1)} images/s`,
  true,
);
