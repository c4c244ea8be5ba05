// What the GPU check writes beside its raw files: summary.md for a reader, and benchmarks-gpu.md,
// the section that record-gpu-figures.js puts under BENCHMARKS.md's GPU heading.

import os from 'node:os';
import type { AdapterInfo } from '../../../browser-runtime/protocol.js';
import { fmt, type Figure } from '../../bench/stats.js';
import type { ProbeResult } from './adapter-probe.js';
import { adapterName } from './adapter-verdict.js';
import type { ServerCheck } from './server-check.js';
import type { VulkanDriver } from './vulkan-driver.js';

export interface CheckRecord {
  date: string;
  verdict: string;
  passed: boolean;
  failures: string[];
  driver: VulkanDriver;
  probes: ProbeResult[];
  /** Switches the server and the bare page were started with after the server's own. */
  chromiumArgs: string[];
  serverArgs: string[];
  /** Chromium's version, else its path. */
  chromium: string;
  server: ServerCheck | null;
  serverFigures: Figure[];
  bareAdapter: AdapterInfo | null;
  bareFigures: Figure[];
}

const figureTable = (figures: Figure[]) => ['| figure | unit | value |', '| --- | --- | ---: |', ...figures.map((f) => `| ${f.label} | ${f.unit} | ${fmt(f.value)} |`)].join('\n');

function value(figures: Figure[], key: string): number {
  return figures.find((f) => f.key === key)?.value ?? NaN;
}

/**
 * The server against the bare page (what the gateway keeps of the GPU at c=32, and what it adds
 * at c=1), and the server with gpu_preprocess, and with graph_capture, against without.
 */
export function comparisons(r: CheckRecord): Figure[] {
  const all = [...r.serverFigures, ...r.bareFigures];
  const ratio = (key: string, label: string, of: string, to: string): Figure => ({ key, label, unit: '', value: value(all, of) / value(all, to) });
  const difference = (key: string, label: string, of: string, less: string): Figure => ({ key, label, unit: 'ms', value: value(all, of) - value(all, less) });
  return [
    ratio('gpu.c32OverBare', 'server images/s at c=32 / bare page WebGPU images/s at its best batch', 'server.c32.imagesPerS', 'bare.webgpu.best.imagesPerS'),
    difference('gpu.c1OverBare', 'server p50 at c=1 minus bare page WebGPU session.run at batch 1', 'server.c1.p50', 'bare.webgpu.b1.ms'),
    ratio('gpu.gpuPreprocessC32', 'server images/s at c=32 with gpu_preprocess / without', 'server.gpuPreprocess.c32.imagesPerS', 'server.c32.imagesPerS'),
    difference('gpu.gpuPreprocessC1', 'server p50 at c=1 with gpu_preprocess minus without', 'server.gpuPreprocess.c1.p50', 'server.c1.p50'),
    ratio('gpu.graphCaptureC32', 'server images/s at c=32 with graph_capture / without', 'server.graphCapture.c32.imagesPerS', 'server.c32.imagesPerS'),
    difference('gpu.graphCaptureC1', 'server p50 at c=1 with graph_capture minus without', 'server.graphCapture.c1.p50', 'server.c1.p50'),
  ];
}

function hostLines(r: CheckRecord): string[] {
  const cpus = os.cpus();
  const adapter = r.server?.models.find((m) => m.adapter)?.adapter ?? r.probes.find((p) => p.adapter)?.adapter ?? null;
  return [
    `- adapter: ${adapter ? `${adapterName(adapter)}, isFallbackAdapter ${adapter.isFallbackAdapter}` : 'none'}`,
    `- GPU (nvidia-smi): ${r.driver.nvidiaSmi ?? 'nvidia-smi not found or failed'}`,
    `- Vulkan driver: ${r.driver.why}`,
    `- CPU: ${cpus[0]?.model.trim() ?? 'unknown'}, ${cpus.length} logical cores; memory ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; ${os.type()} ${os.release()}`,
    `- Chromium ${r.chromium}, switches added to the server's: ${r.chromiumArgs.length ? `\`${r.chromiumArgs.join(' ')}\`` : 'none'}`,
    `- date: ${r.date}; \`run.sh gpu-check\` from the offline bundle`,
  ];
}

/** The text that goes under BENCHMARKS.md's GPU heading. */
export function benchmarksSection(r: CheckRecord): string {
  return [
    ...hostLines(r),
    '',
    "The server with `--backend webgpu` under the benchmark's load (scripts/bench/server-load.ts, as in the CPU figures above),",
    'and the same model bare in the same Chromium on WebGPU (only session.run timed):',
    '',
    figureTable([...r.serverFigures, ...r.bareFigures, ...comparisons(r)]),
  ].join('\n');
}

export function summaryText(r: CheckRecord): string {
  const models = r.server?.models ?? [];
  const answers = r.server?.answers ?? [];
  return [
    '# GPU check',
    '',
    `**${r.verdict}**`,
    '',
    ...hostLines(r),
    '',
    '## Adapter probes (bare Chromium, before the server)',
    '',
    '| switches | adapter | verdict | Vulkan or GPU-process failures on stderr | ms |',
    '| --- | --- | --- | --- | ---: |',
    ...r.probes.map(
      (p) =>
        `| ${p.flags.name} | ${p.adapter ? adapterName(p.adapter) : (p.error ?? 'none')} | ${p.verdict.kind === 'hardware' ? 'hardware' : p.verdict.why} | ${p.vulkanTrouble.slice(0, 3).join('<br>') || '-'} | ${p.ms} |`,
    ),
    '',
    "## The server's models (GET /models/{name})",
    '',
    `Started with \`${r.serverArgs.join(' ')}\`: ${r.server?.startError ?? (r.server?.healthyMs != null ? `healthy after ${(r.server.healthyMs / 1000).toFixed(1)} s` : 'not started')} (startup.log).`,
    '',
    '| model | status | backend | adapter | parity | fallback reason |',
    '| --- | --- | --- | --- | --- | --- |',
    ...models.map(
      (m) =>
        `| ${m.model} | ${m.status} | ${m.backend ?? '-'} | ${m.adapter ? `${adapterName(m.adapter)}, fallback ${m.adapter.isFallbackAdapter}` : '-'} | ${m.parity ? `${m.parity.passed ? 'passed' : 'FAILED'} (${m.parity.relativeDiff.toPrecision(2)})` : '-'} | ${m.fallbackReason ?? m.error ?? '-'} |`,
    ),
    '',
    '## Answers',
    '',
    answers.length ? '| model | image | top 1 | probability | expected one of | ms |' : 'Not classified: the models are not on a hardware WebGPU adapter.',
    ...(answers.length ? ['| --- | --- | --- | ---: | --- | ---: |'] : []),
    ...answers.map((a) => `| ${a.model} | ${a.image} | ${a.correct ? '' : '**WRONG** '}${a.top1 ?? a.error} | ${a.probability?.toFixed(4) ?? '-'} | ${a.expected.join('; ')} | ${a.ms.toFixed(0)} |`),
    '',
    '## Figures',
    '',
    r.serverFigures.length || r.bareFigures.length ? figureTable([...r.serverFigures, ...r.bareFigures, ...comparisons(r)]) : 'Not measured: the check failed before the benchmark.',
    '',
    ...(r.failures.length ? ['## Failures', '', ...r.failures.map((f) => `- ${f}`), ''] : []),
  ].join('\n');
}
