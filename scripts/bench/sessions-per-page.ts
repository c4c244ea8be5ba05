// What a model costs in memory, in a page of its own against as one more session in a shared
// page, and in pages that share one renderer process: `npm run bench:sessions`. MobileNetV2 (fp32) on onnxruntime-web WASM (the build the
// server's WASM pages load, 2 threads) in the server's headless Chromium, no gateway. Each session
// runs batches of 1 and 8 before the renderers' proportional set size (PSS, shared pages counted
// once) is read, so what a run allocates is counted. The question it answers is whether models
// sharing a renderer, or one onnxruntime instance, would fit more models in a gigabyte.

import { readFileSync } from 'node:fs';
import os from 'node:os';
import type * as Ort from 'onnxruntime-web';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { toolChromiumFlags } from '../../server/chromium/chromium-flags.js';
import { findChromium } from '../../server/chromium/find-chromium.js';
import { descendantsAndSelf } from '../../server/ops/process-tree.js';
import { startRuntimeAssets } from '../../server/page/runtime-assets.js';
import { ModelStore } from '../../server/store/model-store.js';

const COUNTS = [1, 2, 4, 8];
const MODEL = 'models/mobilenet_v2/1.0/model.onnx';

/** What the page keeps on globalThis between evaluations. */
interface PageState {
  ort: typeof Ort;
  bytes: Uint8Array;
  sessions: Ort.InferenceSession[];
}

const pssMb = (pid: number) => Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0) / 1024;

function renderersPss(browser: Browser): number {
  const pids = descendantsAndSelf(browser.process()!.pid!).filter((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('--type=renderer'));
  return pids.map(pssMb).reduce((a, b) => a + b, 0);
}

async function openPage(browser: Browser, base: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(base, { waitUntil: 'load' });
  await page.evaluate(
    async (base: string, model: string) => {
      const ort = await import(`${base}ort/ort.wasm.min.mjs`);
      ort.env.wasm.wasmPaths = `${base}ort/`;
      ort.env.wasm.numThreads = 2;
      const g = globalThis as unknown as PageState;
      g.ort = ort;
      g.bytes = new Uint8Array(await (await fetch(base + model)).arrayBuffer());
      g.sessions = [];
    },
    base,
    MODEL,
  );
  return page;
}

/** One more session of the model in `page`, run at batch 1 and 8. */
async function addSession(page: Page): Promise<void> {
  await page.evaluate(async () => {
    const g = globalThis as unknown as PageState;
    const session = await g.ort.InferenceSession.create(g.bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    for (const b of [1, 8]) {
      const input = new g.ort.Tensor('float32', new Float32Array(b * 3 * 224 * 224).fill(0.5), [b, 3, 224, 224]);
      for (const o of Object.values(await session.run({ input }))) o.dispose();
    }
    // Kept, so that none is collected before the last reading.
    g.sessions.push(session);
  });
}

const store = await ModelStore.open('models');
const assets = await startRuntimeAssets(store);
const rows: Array<[string, number[]]> = [];
for (const layout of ['one page per model', 'one page per model, one renderer (--process-per-site)', 'one page, one session per model'] as const) {
  const extra = layout.includes('--process-per-site') ? ['--process-per-site'] : [];
  const browser = await puppeteer.launch({ executablePath: findChromium(process.env['CHROME_PATH'] ?? null), headless: true, pipe: true, args: [...toolChromiumFlags(), ...extra] });
  const pss: number[] = [];
  const shared = layout.startsWith('one page per model') ? null : await openPage(browser, assets.pageUrl);
  for (let n = 1; n <= Math.max(...COUNTS); n++) {
    await addSession(shared ?? (await openPage(browser, assets.pageUrl)));
    if (COUNTS.includes(n)) pss.push(renderersPss(browser));
  }
  rows.push([layout, pss]);
  await browser.close();
}
await assets.close();

console.log(`\n${os.cpus()[0]?.model ?? ''}, ${os.cpus().length} cores; renderer PSS in MB (every renderer of the browser), MobileNetV2 fp32 on WASM\n`);
console.log(`| layout | ${COUNTS.map((n) => `${n} model${n > 1 ? 's' : ''}`).join(' | ')} | each model past the first |`);
console.log(`| --- | ${COUNTS.map(() => '---:').join(' | ')} | ---: |`);
for (const [layout, pss] of rows) {
  const per = (pss.at(-1)! - pss[0]!) / (COUNTS.at(-1)! - 1);
  console.log(`| ${layout} | ${pss.map((p) => p.toFixed(0)).join(' | ')} | ${per.toFixed(0)} |`);
}
process.exit(0);
