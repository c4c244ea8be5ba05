// Which WebGPU adapter Chromium gives, under a few sets of switches, before the server is started:
// the server's own switches first, then what public reports add on NVIDIA hosts where those were
// not enough. Each launch keeps Chromium's stderr (where Vulkan failures are written) and the
// first Chromium's GPU information, so that a host met once leaves enough to know why.

import { writeFileSync } from 'node:fs';
import puppeteer, { type Browser } from 'puppeteer-core';
import type { AdapterInfo } from '../../../browser-runtime/protocol.js';
import { toolChromiumFlags } from '../../../server/chromium/chromium-flags.js';
import { type AdapterVerdict, judgeAdapter, vulkanTrouble } from './adapter-verdict.js';

export interface FlagSet {
  name: string;
  /** Switches after the server's own (the server takes them as --chromium-args). */
  args: string[];
}

export const FLAG_SETS: FlagSet[] = [
  { name: 'the server switches', args: [] },
  // Chromium's GPU blocklist can keep the GPU process off a driver it does not know.
  { name: '+ --ignore-gpu-blocklist', args: ['--ignore-gpu-blocklist'] },
  { name: '+ --ignore-gpu-blocklist, native Vulkan', args: ['--ignore-gpu-blocklist', '--use-vulkan=native', '--enable-features=Vulkan,VulkanFromANGLE,DefaultANGLEVulkan'] },
];

export interface ProbeResult {
  flags: FlagSet;
  /** Chromium's own version string, or null where it did not start. */
  chromium: string | null;
  adapter: AdapterInfo | null;
  features: string[];
  limits: Record<string, number>;
  error: string | null;
  verdict: AdapterVerdict;
  /** Chromium's stderr lines about Vulkan or GPU-process failures. */
  vulkanTrouble: string[];
  ms: number;
}

interface PageAdapter {
  adapter: AdapterInfo | null;
  features: string[];
  limits: Record<string, number>;
  error: string | null;
}

/** In the page: a high-performance adapter, else the fallback one, as browser-runtime/adapter.ts asks. */
async function pageAdapter(): Promise<PageAdapter> {
  if (!navigator.gpu) return { adapter: null, features: [], limits: {}, error: 'navigator.gpu is missing' };
  try {
    const a = (await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' })) ?? (await navigator.gpu.requestAdapter({ forceFallbackAdapter: true }));
    if (!a) return { adapter: null, features: [], limits: {}, error: 'requestAdapter returned null' };
    const i = a.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
    const limits: Record<string, number> = {};
    for (const k of ['maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup']) {
      limits[k] = Number((a.limits as unknown as Record<string, number>)[k]);
    }
    return {
      adapter: { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description, isFallbackAdapter: Boolean(i.isFallbackAdapter) },
      features: [...a.features].map(String).sort(),
      limits,
      error: null,
    };
  } catch (e) {
    return { adapter: null, features: [], limits: {}, error: e instanceof Error ? e.message : String(e) };
  }
}

/** Chromium's own account of its GPU (what chrome://gpu shows; the headless shell has no such page). */
async function gpuInfo(browser: Browser): Promise<string> {
  try {
    const session = await browser.target().createCDPSession();
    const info = await session.send('SystemInfo.getInfo');
    return JSON.stringify(info.gpu, null, 2);
  } catch (e) {
    return JSON.stringify({ error: e instanceof Error ? e.message : String(e) });
  }
}

export interface ProbeOptions {
  chrome: string;
  /** The runtime page, on loopback: WebGPU exists only in a secure context. */
  pageUrl: string;
  env: NodeJS.ProcessEnv;
  stderrFile: string;
  gpuInfoFile: string | null;
}

export async function probeAdapter(flags: FlagSet, opts: ProbeOptions): Promise<ProbeResult> {
  const t0 = performance.now();
  let stderr = '';
  let found: PageAdapter = { adapter: null, features: [], limits: {}, error: null };
  let browser: Browser | null = null;
  let chromium: string | null = null;
  try {
    browser = await puppeteer.launch({
      executablePath: opts.chrome,
      pipe: true,
      headless: true,
      args: [...toolChromiumFlags(), ...flags.args, '--enable-logging=stderr'],
      env: opts.env,
      timeout: 30_000,
      protocolTimeout: 60_000,
    });
    browser.process()?.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    chromium = await browser.version();
    const page = await browser.newPage();
    await page.goto(opts.pageUrl, { waitUntil: 'load', timeout: 20_000 });
    found = await page.evaluate(pageAdapter);
    if (opts.gpuInfoFile) writeFileSync(opts.gpuInfoFile, await gpuInfo(browser));
  } catch (e) {
    found.error = `Chromium: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
  } finally {
    await browser?.close().catch(() => undefined);
  }
  writeFileSync(opts.stderrFile, stderr);
  return { flags, chromium, ...found, verdict: judgeAdapter(found.adapter, found.error), vulkanTrouble: vulkanTrouble(stderr), ms: Math.round(performance.now() - t0) };
}
