// What a model costs in memory, in a page of its own against as one more session in a shared
// page, and in pages that share one renderer process: `npm run bench:sessions`. MobileNetV2 (fp32)
// on onnxruntime-web WASM as the bare page of `npm run bench` loads it (bare-page-runtime.ts: the
// build the server's WASM pages load, 2 threads) in the server's headless Chromium, no gateway.
// Each session runs batches of 1 and 8 (their inputs kept by the page) before the renderers'
// proportional set size (PSS, shared pages counted once) is read, so what a run allocates is
// counted. The question it answers is whether models sharing a renderer, or one onnxruntime
// instance, would fit more models in a gigabyte.

import { readFileSync } from 'node:fs';
import os from 'node:os';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { toolChromiumFlags } from '../../server/chromium/chromium-flags.js';
import { findChromium } from '../../server/chromium/find-chromium.js';
import { processMemory, rendererPids } from '../../server/chromium/renderer-process.js';
import { startRuntimeAssets } from '../../server/page/runtime-assets.js';
import { ModelStore } from '../../server/store/model-store.js';
import { pageAddSession, pageSetup, pageTimeBatch } from './bare-page-runtime.js';
import { treeRss } from './proc-memory.js';
import { startServer } from './server-load.js';

const COUNTS = [1, 2, 4, 8];
const MODEL = 'models/mobilenet_v2/1.0/model.onnx';

function renderersPssMb(browser: Browser): number {
  return [...rendererPids(browser.process()!.pid!)].reduce((n, pid) => n + (processMemory(pid) ?? 0), 0) / 2 ** 20;
}

/** A page with the bare page's onnxruntime-web (2 threads) and the model's bytes, no session yet. */
async function openPage(browser: Browser, base: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(base, { waitUntil: 'load' });
  await page.evaluate(pageSetup, base, 2, MODEL);
  return page;
}

/** One more session of the model in `page`, run once at batch 1 and once at 8; the page keeps it. */
async function addSession(page: Page): Promise<void> {
  const session = await page.evaluate(pageAddSession);
  for (const batch of [1, 8]) await page.evaluate(pageTimeBatch, session, batch, 0, 1, 1, 0);
}

const BUSY_CONCURRENCY = 16;
const BUSY_S = 8;
const BUSY_WARMUP_S = 2;

/**
 * Images/s with every model busy at once: BUSY_CONCURRENCY requests in flight, each client
 * asking the models in turn, after a warm-up. What sharing a page costs (or saves) when the models
 * take turns on one onnxruntime instance instead of contending for the cores page by page.
 */
async function busyImagesPerS(url: string, names: readonly string[], image: Buffer): Promise<number> {
  let done = 0;
  let counting = false;
  const end = Date.now() + (BUSY_WARMUP_S + BUSY_S) * 1000;
  setTimeout(() => (counting = true), BUSY_WARMUP_S * 1000);
  await Promise.all(
    Array.from({ length: BUSY_CONCURRENCY }, async (_, client) => {
      for (let i = client; Date.now() < end; i++) {
        const res = await fetch(`${url}/predictions/${names[i % names.length]}`, { method: 'POST', body: image as Uint8Array<ArrayBuffer> });
        if (!res.ok) throw new Error(`${names[i % names.length]} answered ${res.status} ${await res.text()}`);
        await res.arrayBuffer();
        if (counting) done++;
      }
    }),
  );
  return done / BUSY_S;
}

/**
 * The real server (npm start's launcher) holding 1 to 8 copies of MobileNetV2, registered one by
 * one through the Management API, each run once: the PSS of its whole tree (gateway, decoders,
 * Chromium), in pages of their own and with share_pages; and at each count, the images/s of all
 * of them busy at once.
 */
async function serverRows(): Promise<{ pss: Array<[string, number[]]>; busy: Array<[string, number[]]> }> {
  const kitten = readFileSync('tests/fixtures/images/kitten.jpg');
  const out: Array<[string, number[]]> = [];
  const busyRows: Array<[string, number[]]> = [];
  for (const [layout, args] of [
    ['the server, a page per model', []],
    ['the server, share_pages', ['--share-pages']],
  ] as const) {
    const server = await startServer({ port: null, durationS: 0, warmupS: 0, serverArgs: ['--load-models', 'mobilenet_v2'], log: (line) => console.error(line) }, layout, args);
    const pss: number[] = [];
    const busy: number[] = [];
    const names: string[] = [];
    try {
      for (let n = 1; n <= Math.max(...COUNTS); n++) {
        const name = n === 1 ? 'mobilenet_v2' : `mobilenet_v2_copy${n}`;
        if (n > 1) {
          const res = await fetch(`${server.management}/models?url=mobilenet_v2&model_name=${name}&initial_workers=1&synchronous=true`, { method: 'POST' });
          if (!res.ok) throw new Error(`registering ${name}: ${res.status} ${await res.text()}`);
        }
        const answer = await fetch(`${server.url}/predictions/${name}`, { method: 'POST', body: kitten });
        if (!answer.ok) throw new Error(`${name} answered ${answer.status} ${await answer.text()}`);
        names.push(name);
        if (!COUNTS.includes(n)) continue;
        pss.push(treeRss(server.child.pid!).pssMb);
        busy.push(await busyImagesPerS(server.url, names, kitten));
      }
    } finally {
      await server.stop();
    }
    out.push([layout, pss]);
    busyRows.push([layout, busy]);
  }
  return { pss: out, busy: busyRows };
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
    if (COUNTS.includes(n)) pss.push(renderersPssMb(browser));
  }
  rows.push([layout, pss]);
  await browser.close();
}
await assets.close();

const table = (title: string, rows: Array<[string, number[]]>, perModel = true) => {
  console.log(`\n${title}\n`);
  console.log(`| layout | ${COUNTS.map((n) => `${n} model${n > 1 ? 's' : ''}`).join(' | ')} |${perModel ? ' each model past the first |' : ''}`);
  console.log(`| --- | ${COUNTS.map(() => '---:').join(' | ')} |${perModel ? ' ---: |' : ''}`);
  for (const [layout, values] of rows) {
    const per = (values.at(-1)! - values[0]!) / (COUNTS.at(-1)! - 1);
    console.log(`| ${layout} | ${values.map((p) => p.toFixed(0)).join(' | ')} |${perModel ? ` ${per.toFixed(0)} |` : ''}`);
  }
};
const server = await serverRows();
const machine = `${os.cpus()[0]?.model ?? ''}, ${os.cpus().length} cores; MobileNetV2 fp32 on WASM`;
table(`${machine}; renderer PSS in MB (every renderer of the browser), bare pages, no gateway`, rows);
table(`${machine}; PSS in MB of the server's whole process tree (gateway, decoders, Chromium)`, server.pss);
table(`${machine}; the server's images/s with every model busy (${BUSY_CONCURRENCY} requests in flight, the models asked in turn, ${BUSY_S} s)`, server.busy, false);
process.exit(0);
