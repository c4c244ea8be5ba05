// The ceiling for the server on a GPU: the same model file on onnxruntime-web's WebGPU execution
// provider (the build the server loads) in the same Chromium with the same switches, no gateway,
// no image decoding, no DevTools round trip per image. Only session.run is timed, input made
// beforehand and uploaded by each run as the server's are, outputs read back to the CPU.

import path from 'node:path';
import type * as Ort from 'onnxruntime-web';
import puppeteer from 'puppeteer-core';
import type { AdapterInfo } from '../../../browser-runtime/protocol.js';
import { toolChromiumFlags } from '../../../server/chromium/chromium-flags.js';
import { ModelStore } from '../../../server/store/model-store.js';
import { PROJECT_ROOT } from '../../../server/ops/paths.js';
import { startRuntimeAssets } from '../../../server/page/runtime-assets.js';
import { median, type Figure } from '../../bench/stats.js';

const BATCHES = [1, 2, 4, 8, 16, 32] as const;
const MODEL_PATH = 'models/mobilenet_v2/1.0/model.onnx';
/** Per batch size, after its warm-up runs. */
const BUDGET_MS = 3000;

type BareGlobal = typeof globalThis & { __bare?: { run(batch: number): Promise<number> } };

/** In the page: one WebGPU session of the model; answers the adapter onnxruntime-web took. */
async function pageOpen(base: string, modelPath: string): Promise<AdapterInfo | null> {
  const ort = (await import(`${base}ort/ort.webgpu.min.mjs`)) as typeof Ort;
  ort.env.wasm.wasmPaths = `${base}ort/`;
  ort.env.logLevel = 'error';
  ort.env.webgpu.powerPreference = 'high-performance';
  const model = new Uint8Array(await (await fetch(base + modelPath)).arrayBuffer());
  const session = await ort.InferenceSession.create(model, { executionProviders: ['webgpu'], graphOptimizationLevel: 'all', logSeverityLevel: 3 });
  const inputs = new Map<number, Ort.Tensor>();
  (globalThis as BareGlobal).__bare = {
    async run(batch: number) {
      let input = inputs.get(batch);
      if (!input) {
        const data = new Float32Array(batch * 3 * 224 * 224).map(() => Math.random() * 4 - 2);
        input = new ort.Tensor('float32', data, [batch, 3, 224, 224]);
        inputs.set(batch, input);
      }
      const t = performance.now();
      const out = await session.run({ [session.inputNames[0]!]: input });
      const ms = performance.now() - t;
      for (const o of Object.values(out)) o.dispose();
      return ms;
    },
  };
  const a = (await ort.env.webgpu.adapter) as GPUAdapter | undefined;
  const i = a?.info as (GPUAdapterInfo & { isFallbackAdapter?: boolean }) | undefined;
  return i ? { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description, isFallbackAdapter: Boolean(i.isFallbackAdapter) } : null;
}

/** In the page: warm-up runs (the first at a size builds its pipelines), then runs within a budget. */
async function pageTimes(batch: number, budgetMs: number): Promise<number[]> {
  const bare = (globalThis as BareGlobal).__bare!;
  for (let i = 0; i < 3; i++) await bare.run(batch);
  const times: number[] = [];
  const t0 = performance.now();
  while (times.length < 5 || (performance.now() - t0 < budgetMs && times.length < 200)) times.push(await bare.run(batch));
  return times;
}

export interface BareResult {
  adapter: AdapterInfo | null;
  figures: Figure[];
}

export async function benchBareWebGpu(chrome: string, extraArgs: string[], env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<BareResult> {
  const store = await ModelStore.open(path.join(PROJECT_ROOT, 'models'));
  const assets = await startRuntimeAssets(store);
  const browser = await puppeteer.launch({ executablePath: chrome, pipe: true, headless: true, args: [...toolChromiumFlags(), ...extraArgs], env, timeout: 30_000, protocolTimeout: 120_000 });
  try {
    const page = await browser.newPage();
    await page.goto(assets.pageUrl, { waitUntil: 'load' });
    const adapter = await page.evaluate(pageOpen, assets.pageUrl, MODEL_PATH);
    const figures: Figure[] = [];
    let best = { batch: 0, imagesPerS: 0 };
    for (const batch of BATCHES) {
      const ms = median(await page.evaluate(pageTimes, batch, BUDGET_MS));
      const imagesPerS = (batch * 1000) / ms;
      if (imagesPerS > best.imagesPerS) best = { batch, imagesPerS };
      figures.push(
        { key: `bare.webgpu.b${batch}.ms`, label: `bare page WebGPU b=${batch}: session.run median`, unit: 'ms', value: ms },
        { key: `bare.webgpu.b${batch}.imagesPerS`, label: `bare page WebGPU b=${batch}: images/s`, unit: 'img/s', value: imagesPerS },
      );
      log(`bare page WebGPU: batch ${batch} ${ms.toFixed(2)} ms/run, ${imagesPerS.toFixed(1)} img/s`);
    }
    figures.push(
      { key: 'bare.webgpu.best.batch', label: 'bare page WebGPU: best batch size', unit: 'batch', value: best.batch },
      { key: 'bare.webgpu.best.imagesPerS', label: 'bare page WebGPU: images/s at best batch', unit: 'img/s', value: best.imagesPerS },
    );
    return { adapter, figures };
  } finally {
    await browser.close().catch(() => undefined);
    await assets.close();
  }
}
