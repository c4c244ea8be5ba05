// The ceiling for the server: the same model on onnxruntime-web WASM in the same headless
// Chromium, with no gateway, no image decoding and no DevTools round trip per image. Also asks
// whether a second worker should be a second session in the page or a second page.

import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { toolChromiumFlags } from '../../server/chromium/chromium-flags.js';
import { findChromium } from '../../server/chromium/find-chromium.js';
import { ModelStore } from '../../server/store/model-store.js';
import { PROJECT_ROOT } from '../../server/ops/paths.js';
import { startRuntimeAssets } from '../../server/page/runtime-assets.js';
import { pageAddSession, pageSetup, pageThroughput, pageTimeBatch, pageWarmUp } from './bare-page-runtime.js';
import { median, type Figure } from './stats.js';

export const BATCHES = [1, 2, 4, 8, 16] as const;
const PARALLEL_BATCHES = [1, 8] as const;
const MODEL_PATH = 'models/mobilenet_v2/1.0/model.onnx';
/** Per batch size; keeps the whole sweep near 30 s however slow the machine is. */
const BATCH_BUDGET_MS = 5000;
const WINDOW_MS = 4000;

export interface BarePageResult {
  figures: Figure[];
  chromium: string;
}

/** A page with one session of the model, warmed up until its run times have settled. */
async function openPage(browser: Browser, base: string, threads: number, log: (l: string) => void): Promise<{ page: Page; session: number }> {
  const page = await browser.newPage();
  await page.goto(base, { waitUntil: 'load' });
  const info = await page.evaluate(pageSetup, base, threads, MODEL_PATH);
  // Without isolation onnxruntime-web silently runs one thread, which would make this no ceiling at all.
  if (!info.crossOriginIsolated) log(`bare page: WARNING not crossOriginIsolated, WASM runs ${info.numThreads} thread(s)`);
  const session = await page.evaluate(pageAddSession);
  const t = performance.now();
  const runs = await page.evaluate(pageWarmUp, session, 3000, 15_000);
  log(`bare page: warmed up in ${runs} runs, ${((performance.now() - t) / 1000).toFixed(1)} s`);
  return { page, session };
}

/** Throughput of loops running at once: each entry is one page and the sessions it runs. */
async function concurrent(work: Array<{ page: Page; sessions: number[] }>, batch: number): Promise<number> {
  // One untimed run per session at this batch size, so no loop pays a first-run cost in the window.
  for (const w of work) for (const s of w.sessions) await w.page.evaluate(pageTimeBatch, s, batch, 1, 0, 0, 0);
  const startAt = Date.now() + 300;
  const rates = await Promise.all(work.map((w) => w.page.evaluate(pageThroughput, w.sessions, batch, startAt, startAt + WINDOW_MS)));
  return rates.flat().reduce((a, b) => a + b, 0);
}

type Layout = [key: string, label: string, work: Array<{ page: Page; sessions: number[] }>];

async function measureLayouts(layouts: Layout[], figures: Figure[], log: (l: string) => void): Promise<void> {
  for (const batch of PARALLEL_BATCHES) {
    for (const [key, label, work] of layouts) {
      let value = NaN;
      try {
        value = await concurrent(work, batch);
      } catch (e) {
        // Two runs at once in one onnxruntime-web instance may be refused; that is itself the answer.
        log(`bare page: ${label} at batch ${batch} failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
      }
      figures.push({ key: `bare.workers.b${batch}.${key}`, label: `bare page b=${batch}, ${label}: images/s`, unit: 'img/s', value });
      log(`bare page: batch ${batch}, ${label}: ${value.toFixed(1)} img/s`);
    }
  }
}

export async function benchBarePage(threads: number, log: (l: string) => void): Promise<BarePageResult> {
  const store = await ModelStore.open(path.join(PROJECT_ROOT, 'models'));
  const assets = await startRuntimeAssets(store);
  const browser = await puppeteer.launch({ executablePath: findChromium(process.env['CHROME_PATH'] ?? null), pipe: true, headless: true, args: toolChromiumFlags() });
  const figures: Figure[] = [];
  try {
    const chromium = await browser.version();
    const { page, session: first } = await openPage(browser, assets.pageUrl, threads, log);
    let best = { batch: 0, imagesPerS: 0 };
    for (const batch of BATCHES) {
      const times = await page.evaluate(pageTimeBatch, first, batch, batch >= 8 ? 2 : 3, 40, 5, BATCH_BUDGET_MS);
      const ms = median(times);
      const imagesPerS = (batch * 1000) / ms;
      if (imagesPerS > best.imagesPerS) best = { batch, imagesPerS };
      figures.push(
        { key: `bare.b${batch}.ms`, label: `bare page b=${batch}: session.run median`, unit: 'ms', value: ms },
        { key: `bare.b${batch}.imagesPerS`, label: `bare page b=${batch}: images/s`, unit: 'img/s', value: imagesPerS },
      );
      log(`bare page: batch ${batch} ${ms.toFixed(1)} ms/run, ${imagesPerS.toFixed(1)} img/s`);
    }
    figures.push(
      { key: 'bare.best.batch', label: 'bare page: best batch size', unit: 'batch', value: best.batch },
      { key: 'bare.best.imagesPerS', label: 'bare page: images/s at best batch', unit: 'img/s', value: best.imagesPerS },
    );

    // Workers: one session vs two sessions in the page vs two pages with the full thread count
    // each, then (with 2+ threads) two pages sharing the threads: pages only add compute if the
    // cores are not already taken, so the fair comparison for a second page is the split one.
    // A new page compiles onnxruntime's WASM again on background threads for a while: measure
    // what needs only the first page before opening another.
    const second = await page.evaluate(pageAddSession);
    await measureLayouts(
      [
        ['one', '1 page, 1 session', [{ page, sessions: [first] }]],
        ['twoSessions', '1 page, 2 sessions concurrently', [{ page, sessions: [first, second] }]],
      ],
      figures,
      log,
    );
    const other = await openPage(browser, assets.pageUrl, threads, log);
    const both: Layout = [
      'twoPages',
      `2 pages, 1 session each, ${threads} threads each, concurrently`,
      [
        { page, sessions: [first] },
        { page: other.page, sessions: [other.session] },
      ],
    ];
    await measureLayouts([both], figures, log);
    if (threads >= 2) {
      await other.page.close();
      const half = Math.floor(threads / 2);
      const a = await openPage(browser, assets.pageUrl, half, log);
      const b = await openPage(browser, assets.pageUrl, half, log);
      const split: Layout = ['twoPagesSplit', `2 pages, 1 session each, ${half} thread(s) each, concurrently`, [a, b].map((p) => ({ page: p.page, sessions: [p.session] }))];
      await measureLayouts([split], figures, log);
    }
    return { figures, chromium };
  } finally {
    await browser.close();
    await assets.close();
  }
}
