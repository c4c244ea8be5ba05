// What crossing the DevTools channel costs, in the same headless Chromium the server drives:
// `npm run bench:channel`. Each case is one call through a real worker page (server/page/
// page-worker.ts) running the null model (scripts/null-model/: near-zero compute), so what is
// timed is the server's own path: the call and its bytes in, the answer out. Besides the round
// trip, "transfer" is what the server reports as such (the round trip less the page's own work
// and waiting), and the CPU each process spent on a call (from /proc) says where the cost is:
// the gateway (this process), Chromium's browser process (reading and routing messages), the
// renderer (the page's work, normalising included) and the network service (utility).
//
// The way the DevTools pipe replaced (base64 inline in `Runtime.evaluate` on the JSON pipe,
// through puppeteer's own launch) is measured beside it, so pipe-transport.ts's reason stays
// checkable.

import { Deadline } from '../../server/ops/deadline.js';
import os from 'node:os';
import puppeteer from 'puppeteer-core';
import { launchBrowser } from '../../server/chromium/browser-launch.js';
import { chromiumFlags, toolChromiumFlags } from '../../server/chromium/chromium-flags.js';
import { sandboxLaunchOptions } from '../../server/chromium/chromium-sandbox.js';
import { findChromium } from '../../server/chromium/find-chromium.js';
import { loadRequestFor } from '../../server/page/load-request.js';
import { PageWorker } from '../../server/page/page-worker.js';
import { RuntimePage } from '../../server/page/runtime-page.js';
import { startRuntimeAssets } from '../../server/page/runtime-assets.js';
import { ModelStore } from '../../server/store/model-store.js';
import { cpuDelta, cpuSnapshot } from './proc-cpu.js';
import { median } from './stats.js';

const ROUNDS = Number(process.env['CHANNEL_ROUNDS'] ?? 40);
const IMAGE = 224 * 224 * 3;
const KINDS = ['gateway', 'browser', 'renderer', 'utility', 'gpu-process'] as const;
const LIMIT = { ms: 60_000, setting: 'default_response_timeout' };

const store = await ModelStore.open('tests/fixtures/null-model-store');
const assets = await startRuntimeAssets(store);
const chromePath = findChromium(process.env['CHROME_PATH'] ?? null);

const pattern = (bytes: number) => Uint8Array.from({ length: bytes }, (_, i) => (i * 31) & 255);

interface Row {
  name: string;
  what: string;
  p50: number;
  min: number;
  transfer: number | null;
  cpu: Map<string, number>;
}

/** `run` answers the transfer it reports, or null where there is no such figure. */
async function time(name: string, what: string, run: () => Promise<number | null>): Promise<Row> {
  for (let i = 0; i < 5; i++) await run();
  const before = cpuSnapshot(process.pid);
  const xs: number[] = [];
  const transfers: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    const transfer = await run();
    xs.push(performance.now() - t0);
    if (transfer !== null) transfers.push(transfer);
  }
  const { msByKind } = cpuDelta(before, cpuSnapshot(process.pid));
  const cpu = new Map([...msByKind].map(([k, ms]) => [k, ms / ROUNDS]));
  return { name, what, p50: median(xs), min: Math.min(...xs), transfer: transfers.length ? median(transfers) : null, cpu };
}

const rows: Row[] = [];

// The server's way: the DevTools pipe in CBOR mode, the worker page's channel.
{
  const launched = await launchBrowser({ executablePath: chromePath, args: chromiumFlags(), env: process.env, protocolTimeout: LIMIT, ...sandboxLaunchOptions('prefer', null) });
  const model = store.resolve('null_model');
  const request = loadRequestFor(model, { modelUrl: 'models/null_model/1.0/model.onnx', backend: 'wasm', ortBuild: 'webgpu', wasmThreads: 1, parityTolerance: 0.01, maxBatch: 8 });
  const worker = new PageWorker(0, model.key, new RuntimePage(assets, LIMIT.ms, model.key), request);
  await worker.start(launched);
  const batch = (n: number) => Array.from({ length: n }, () => ({ pixels: pattern(IMAGE), k: 5 }));
  const one = batch(1);
  const eight = batch(8);
  const deadline = () => Deadline.after(LIMIT.ms, LIMIT.setting);
  const tensor = { data: new Float32Array(8 * IMAGE).map((_, i) => (i % 97) / 97), dims: [8, 3, 224, 224] };
  rows.push(
    await time('1 image in, its top 5 out', '150,528 B of uint8 in; 5 int32 + 5 float32 out', async () => (await worker.runBatch(one, deadline())).timing.transferMs),
    await time('8 images in, their top 5 out', '1,204,224 B of uint8 in; 40 int32 + 40 float32 out', async () => (await worker.runBatch(eight, deadline())).timing.transferMs),
    await time('a tensor of 8 in, its output out', '4,816,896 B of float32 in; 8 x 1000 float32 out', async () => (await worker.runTensor(tensor, deadline())).timing.transferMs),
  );
  await worker.close();
  await launched.close();
}

// The way the CBOR pipe replaced: JSON pipe (puppeteer's own launch), base64 inline in the expression.
{
  const browser = await puppeteer.launch({ executablePath: chromePath, headless: true, pipe: true, args: toolChromiumFlags() });
  const page = await browser.newPage();
  const cdp = await page.createCDPSession();
  await page.evaluate('globalThis.dec = (s) => Uint8Array.fromBase64(s);');
  const eight = Buffer.from(pattern(IMAGE * 8)).toString('base64');
  rows.push(
    await time('8 images in (JSON pipe)', '1,204,224 B as base64 inline in `Runtime.evaluate`, no answer', async () => {
      await cdp.send('Runtime.evaluate', { expression: `dec("${eight}").length`, returnByValue: true });
      return null;
    }),
  );
  await browser.close();
}
await assets.close();

console.log(`\n${os.cpus()[0]?.model ?? ''}, ${os.cpus().length} cores, ${chromePath}; ${ROUNDS} round trips per case (ms; CPU in core-ms per round trip)\n`);
console.log(`| case | what crosses | p50 | min | transfer p50 | ${KINDS.map((k) => `CPU ${k}`).join(' | ')} |`);
console.log(`| --- | --- | ---: | ---: | ---: | ${KINDS.map(() => '---:').join(' | ')} |`);
for (const r of rows) {
  console.log(
    `| ${r.name} | ${r.what} | ${r.p50.toFixed(2)} | ${r.min.toFixed(2)} | ${r.transfer === null ? '' : r.transfer.toFixed(2)} | ${KINDS.map((k) => (r.cpu.get(k) ?? 0).toFixed(1)).join(' | ')} |`,
  );
}
process.exit(0);
