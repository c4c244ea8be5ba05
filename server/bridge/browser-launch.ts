// Starting and stopping Chromium. puppeteer's own launch knows only the JSON pipe, so the
// process is started here, with puppeteer's default switches, its DevTools pipe in CBOR mode
// (see cbor-pipe-transport.ts for why), and puppeteer connected over that pipe.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import puppeteer, { type Browser } from 'puppeteer-core';
import { CborPipeTransport } from './cbor-pipe-transport.js';

export interface LaunchOptions {
  executablePath: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  protocolTimeout: number;
}

export interface LaunchedBrowser {
  browser: Browser;
  /** The DevTools connection itself, for commands whose parameters are bytes. */
  transport: CborPipeTransport;
  pid: number | undefined;
  /** Closes the browser (killing it if it does not go within a few seconds) and removes its profile. */
  close(): Promise<void>;
}

const CLOSE_GRACE_MS = 5000;

export async function launchBrowser(opts: LaunchOptions): Promise<LaunchedBrowser> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'webgpu-inference-chromium-'));
  // puppeteer merges every --enable-features / --disable-features it is given into one of each.
  const args = [...puppeteer.defaultArgs({ headless: true, userDataDir: profile, args: [...opts.args] }), '--remote-debugging-pipe=cbor'];
  const child = spawn(opts.executablePath, args, {
    env: opts.env,
    // fds 3 and 4: the browser reads commands from the first and writes to the second.
    stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
    // Its own process group, so closing it reaches every Chromium process.
    detached: true,
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const removeProfile = () => rmSync(profile, { recursive: true, force: true, maxRetries: 3 });
  const kill = () => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };

  const transport = new CborPipeTransport(child.stdio[3] as Writable, child.stdio[4] as Readable);
  let browser: Browser;
  try {
    const failed = new Promise<never>((_, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => reject(new Error(`Chromium exited at start (${signal ?? `code ${code}`}): ${stderr.trim().split('\n').slice(-5).join('\n')}`)));
    });
    browser = await Promise.race([puppeteer.connect({ transport, protocolTimeout: opts.protocolTimeout, defaultViewport: null }), failed]);
  } catch (e) {
    kill();
    await exited;
    removeProfile();
    throw e;
  }

  let closing: Promise<void> | null = null;
  return {
    browser,
    transport,
    pid: child.pid,
    close: () =>
      (closing ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          await browser.close().catch(() => undefined);
          const timer = setTimeout(kill, CLOSE_GRACE_MS);
          await exited;
          clearTimeout(timer);
        }
        // Renderers may outlive the browser process for a moment; the group goes with it.
        kill();
        removeProfile();
      })()),
  };
}
