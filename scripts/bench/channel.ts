// What crossing the DevTools channel costs, leg by leg, in the same headless Chromium the server
// drives: `npm run bench:channel`. No model runs. Each case is a round trip that carries a
// realistic payload into the runtime page (or an answer out of it); besides its time, the CPU
// each process spent on it (from /proc) says where the cost is: the gateway (this process:
// encoding, the pipe), Chromium's browser process (reading and routing the message), the
// renderer (decoding, the page's own work) and the network service (utility).
//
// The server's way (server/page/page-input.ts) is measured beside the way it replaced
// (base64 inline in `Runtime.evaluate` on the JSON pipe), so the file's reasons stay checkable.

import os from 'node:os';
import puppeteer, { type CDPSession } from 'puppeteer-core';
import { launchBrowser } from '../../server/chromium/browser-launch.js';
import { chromiumFlags, toolChromiumFlags } from '../../server/chromium/chromium-flags.js';
import { sandboxLaunchOptions } from '../../server/chromium/chromium-sandbox.js';
import { findChromium } from '../../server/chromium/find-chromium.js';
import { PageInput } from '../../server/page/page-input.js';
import { ModelStore } from '../../server/store/model-store.js';
import { startRuntimeAssets } from '../../server/page/runtime-assets.js';
import { cpuDelta, cpuSnapshot } from './proc-cpu.js';
import { median } from './stats.js';

const ROUNDS = Number(process.env['CHANNEL_ROUNDS'] ?? 40);
const IMAGE = 224 * 224 * 3;
const KINDS = ['gateway', 'browser', 'renderer', 'utility', 'gpu-process'] as const;

const store = await ModelStore.open('models');
const assets = await startRuntimeAssets(store);
const chromePath = findChromium(process.env['CHROME_PATH'] ?? null);

const pattern = (bytes: number) => Buffer.from(Uint8Array.from({ length: bytes }, (_, i) => (i * 31) & 255));

interface Row {
  name: string;
  what: string;
  p50: number;
  min: number;
  cpu: Map<string, number>;
}

async function time(name: string, what: string, run: () => Promise<unknown>): Promise<Row> {
  for (let i = 0; i < 5; i++) await run();
  const before = cpuSnapshot(process.pid);
  const xs: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    await run();
    xs.push(performance.now() - t0);
  }
  const { msByKind } = cpuDelta(before, cpuSnapshot(process.pid));
  const cpu = new Map([...msByKind].map(([k, ms]) => [k, ms / ROUNDS]));
  return { name, what, p50: median(xs), min: Math.min(...xs), cpu };
}

const evaluate = (cdp: CDPSession, expression: string) => cdp.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
const rows: Row[] = [];

// The server's way: CBOR pipe, bytes fulfilling the page's open fetch.
{
  const launched = await launchBrowser({ executablePath: chromePath, args: chromiumFlags(), env: process.env, protocolTimeout: 60_000, ...sandboxLaunchOptions('prefer', null) });
  for (const blank of await launched.browser.pages()) await blank.close();
  const page = await launched.browser.newPage();
  const cdp = await page.createCDPSession();
  const input = await PageInput.attach(cdp, launched.transport, assets.origin);
  await page.goto(assets.pageUrl);
  await page.evaluate(`globalThis.logits = new Float32Array(1000).map((_, i) => Math.sin(i));
    globalThis.enc = (a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength).toBase64();`);
  const take = (bytes: Buffer) => input.with(bytes, (id) => evaluate(cdp, `import('./browser-runtime/input-channel.js').then((m) => m.takeInput(${id}, 'bytes')).then((b) => b.length)`));
  const one = pattern(IMAGE);
  const eight = pattern(IMAGE * 8);
  rows.push(
    await time('empty round trip', '`Runtime.evaluate` of `1`', () => evaluate(cdp, '1')),
    await time("1 image in (the server's way)", "150,528 B of uint8 as CBOR binary, fulfilling the page's open fetch", () => take(one)),
    await time("8 images in (the server's way)", '1,204,224 B, the same way', () => take(eight)),
    await time("answer out, top 5 as base64 (the server's way)", '20 B int32 classes + 20 B float32 probabilities', () => evaluate(cdp, '[enc(new Int32Array(5)), enc(logits.subarray(0, 5))]')),
    await time('answer out, all logits as JSON', '1000 numbers returned by value as a JSON array', () => evaluate(cdp, 'Array.from(logits)')),
  );
  await launched.close();
}

// The way it replaced: JSON pipe (puppeteer's own launch), base64 inline in the expression.
{
  const browser = await puppeteer.launch({ executablePath: chromePath, headless: true, pipe: true, args: toolChromiumFlags() });
  const page = await browser.newPage();
  await page.goto(assets.pageUrl);
  const cdp = await page.createCDPSession();
  await page.evaluate('globalThis.dec = (s) => Uint8Array.fromBase64(s);');
  const one = pattern(IMAGE).toString('base64');
  const eight = pattern(IMAGE * 8).toString('base64');
  rows.push(
    await time('1 image in (before)', '150,528 B as base64 inline in `Runtime.evaluate`, JSON pipe', () => evaluate(cdp, `dec("${one}").length`)),
    await time('8 images in (before)', '1,204,224 B, the same way', () => evaluate(cdp, `dec("${eight}").length`)),
  );
  await browser.close();
}
await assets.close();

console.log(`\n${os.cpus()[0]?.model ?? ''}, ${os.cpus().length} cores, ${chromePath}; ${ROUNDS} round trips per case (ms; CPU in core-ms per round trip)\n`);
console.log(`| case | what crosses | p50 | min | ${KINDS.map((k) => `CPU ${k}`).join(' | ')} |`);
console.log(`| --- | --- | ---: | ---: | ${KINDS.map(() => '---:').join(' | ')} |`);
for (const r of rows) {
  console.log(`| ${r.name} | ${r.what} | ${r.p50.toFixed(2)} | ${r.min.toFixed(2)} | ${KINDS.map((k) => (r.cpu.get(k) ?? 0).toFixed(1)).join(' | ')} |`);
}
process.exit(0);
