// What crossing the DevTools channel costs, per shape of message, in the same headless Chromium
// the server drives: `npm run bench:channel`. No model runs; each case is a round trip that
// carries a realistic payload and makes the page decode it, so the figures are what the
// server's hot path would pay for that choice.

import os from 'node:os';
import puppeteer from 'puppeteer-core';
import { chromiumFlags } from '../../server/bridge/chromium-flags.js';
import { findChromium } from '../../server/bridge/find-chromium.js';
import { ModelStore } from '../../server/model-store.js';
import { startRuntimeAssets } from '../../server/runtime-assets.js';
import { median } from './stats.js';

const ROUNDS = Number(process.env['CHANNEL_ROUNDS'] ?? 40);
const IMAGE = 224 * 224 * 3;

const store = await ModelStore.open('models');
const assets = await startRuntimeAssets(store);
const browser = await puppeteer.launch({ executablePath: findChromium(process.env['CHROME_PATH'] ?? null), headless: true, pipe: true, args: chromiumFlags() });
const page = await browser.newPage();
await page.goto(`${assets.origin}/`);
const cdp = await page.createCDPSession();

const b64 = (bytes: number) => Buffer.from(Uint8Array.from({ length: bytes }, (_, i) => (i * 31) & 255)).toString('base64');
// In the page: the same decoders the runtime uses.
await page.evaluate(`globalThis.dec = (s) => Uint8Array.fromBase64(s);
  globalThis.logits = new Float32Array(1000).map((_, i) => Math.sin(i));
  globalThis.enc = (a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength).toBase64();`);

async function time(run: () => Promise<unknown>): Promise<{ p50: number; min: number }> {
  for (let i = 0; i < 5; i++) await run();
  const xs: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    await run();
    xs.push(performance.now() - t0);
  }
  return { p50: median(xs), min: Math.min(...xs) };
}

const evaluate = (expression: string) => cdp.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
const u8 = b64(IMAGE);
const f32 = b64(IMAGE * 4);
const batch8 = b64(IMAGE * 8);

const cases: Array<[string, string, () => Promise<unknown>]> = [
  ['empty round trip', '`Runtime.evaluate` of `1`', () => evaluate('1')],
  ['1 image in, uint8', '150,528 B as base64 inline in `Runtime.evaluate`, decoded in the page', () => evaluate(`dec("${u8}").length`)],
  ['1 image in, uint8, as an argument', 'the same string as a `page.evaluate` argument', () => page.evaluate((s: string) => (globalThis as any).dec(s).length, u8)],
  ['1 image in, float32', '602,112 B (normalised in the gateway) as base64 inline', () => evaluate(`dec("${f32}").length`)],
  ['8 images in, uint8', '1,204,224 B as base64 inline (one batch message)', () => evaluate(`dec("${batch8}").length`)],
  ['answer out, all logits as JSON', '1000 numbers returned by value as a JSON array', () => evaluate('Array.from(logits)')],
  ['answer out, all logits as base64', '4,000 B float32 as base64', () => evaluate('enc(logits)')],
  ['answer out, top 5 as base64', '20 B int32 classes + 20 B float32 probabilities', () => evaluate('[enc(new Int32Array(5)), enc(logits.subarray(0, 5))]')],
];

const rows: string[] = [];
for (const [name, what, run] of cases) {
  const { p50, min } = await time(run);
  rows.push(`| ${name} | ${what} | ${p50.toFixed(2)} | ${min.toFixed(2)} |`);
}
await browser.close();
await assets.close();

console.log(`\n${os.cpus()[0]?.model ?? ''}, ${os.cpus().length} cores; ${ROUNDS} round trips per case (ms)\n`);
console.log('| case | what crosses | p50 | min |');
console.log('| --- | --- | --- | --- |');
for (const r of rows) console.log(r);
process.exit(0);
