// Starting and stopping Chromium: the process, its switches (chromium-flags.ts), and the DevTools
// connection over its pipe in CBOR mode (server/devtools/: pipe-transport.ts says why CBOR). The
// server needs a handful of DevTools calls and makes them itself; no client library stands between.
//
// Chromium runs with its sandbox unless told otherwise (chromium-sandbox.ts says why and as whom):
// a launch that fails because the sandbox cannot start is tried once more without it under
// `prefer`, and refused under `require`.

import { spawn } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { DevToolsConnection } from '../devtools/connection.js';
import { PipeTransport } from '../devtools/pipe-transport.js';
import { log } from '../ops/log.js';
import { mergeFeatureSwitches, ownLaunchFlags } from './chromium-flags.js';
import { NO_USER, SANDBOX_HELP, sandboxFailure, SandboxUnavailableError, type RunAs, type SandboxSetting, type SandboxState } from './chromium-sandbox.js';

export interface LaunchOptions {
  executablePath: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** The deadline of a DevTools call that names none of its own, and the setting that sets it. */
  protocolTimeout: { ms: number; setting: string };
  sandbox: SandboxSetting;
  /** The server runs as root: Chromium runs as `runAs`, and without it cannot have its sandbox. */
  root: boolean;
  /** The user Chromium runs as when the server is root; null: the server's own user. */
  runAs: RunAs | null;
  /** util-linux's setpriv, to keep the user's supplementary groups; null: Node's uid/gid switch. */
  setpriv: string | null;
}

export interface LaunchedBrowser {
  connection: DevToolsConnection;
  /** As Browser.getVersion names it, e.g. HeadlessChrome/156.0.8078.129. */
  version: string;
  pid: number | undefined;
  sandbox: SandboxState;
  /** Closes the browser (killing it if it does not go within a few seconds) and removes its profile. */
  close(): Promise<void>;
}

const CLOSE_GRACE_MS = 5000;

class LaunchFailed extends Error {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

export async function launchBrowser(opts: LaunchOptions): Promise<LaunchedBrowser> {
  const user = opts.runAs?.name ?? null;
  if (opts.sandbox === 'off') return start(opts, { setting: 'off', enabled: false, reason: 'chromium_sandbox is off', user });
  if (opts.root && !opts.runAs) {
    if (opts.sandbox === 'require') throw new SandboxUnavailableError(`chromium_sandbox is require, but ${NO_USER}`);
    log.warn(`Chromium runs as root with --no-sandbox: ${NO_USER}`);
    return start(opts, { setting: opts.sandbox, enabled: false, reason: NO_USER, user });
  }
  try {
    return await start(opts, { setting: opts.sandbox, enabled: true, reason: null, user });
  } catch (e) {
    const why = e instanceof LaunchFailed ? sandboxFailure(e.stderr) : null;
    if (!why) throw e;
    if (opts.sandbox === 'require') throw new SandboxUnavailableError(`Chromium's sandbox cannot start and chromium_sandbox is require: ${why}. To run: ${SANDBOX_HELP}`);
    log.warn(`Chromium's sandbox cannot start (${why}); running Chromium with --no-sandbox. To enable it: ${SANDBOX_HELP}`);
    return start(opts, { setting: opts.sandbox, enabled: false, reason: `the sandbox could not start: ${why}`, user });
  }
}

/** One launch with the sandbox on or off as `sandbox` says. */
async function start(opts: LaunchOptions, sandbox: SandboxState): Promise<LaunchedBrowser> {
  const { profile, env } = privateProfile(opts.runAs, opts.env);
  const args = mergeFeatureSwitches(['--headless', `--user-data-dir=${profile}`, ...ownLaunchFlags(), ...(sandbox.enabled ? [] : ['--no-sandbox']), ...opts.args, '--remote-debugging-pipe=cbor']);
  const [command, argv, ids] = asUser(opts, args);
  const child = spawn(command, argv, {
    env,
    ...ids,
    // fds 3 and 4: the browser reads commands from the first and writes to the second.
    stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
    // Its own process group, so closing it reaches every Chromium process.
    detached: true,
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  // Chromium's last words, read to their end (a child of it may hold the pipe: not for long).
  const stderrRead = new Promise<void>((resolve) => {
    child.stderr!.once('close', resolve);
    child.once('exit', () => setTimeout(resolve, 2000).unref());
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const removeProfile = () => rmSync(profile, { recursive: true, force: true, maxRetries: 3 });
  const kill = () => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };

  const connection = new DevToolsConnection(new PipeTransport(child.stdio[3] as Writable, child.stdio[4] as Readable), opts.protocolTimeout);
  let version: string;
  try {
    const failed = new Promise<never>((_, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => reject(new Error(`Chromium exited at start (${signal ?? `code ${code}`})`)));
    });
    // The first answer says the browser is up and the pipe speaks CBOR.
    ({ product: version } = await Promise.race([connection.browser.send<{ product: string }>('Browser.getVersion'), failed]));
    // Target.targetDestroyed, by which a closed page is known to be gone (page-worker.ts).
    await Promise.race([connection.browser.send('Target.setDiscoverTargets', { discover: true }), failed]);
  } catch (e) {
    kill();
    await exited;
    removeProfile();
    // Whichever noticed first (the pipe closing, the exit), what Chromium printed says why.
    await stderrRead;
    const last = stderr.trim().split('\n').slice(-5).join('\n');
    throw new LaunchFailed(`${e instanceof Error ? e.message : String(e)}${last ? `: ${last}` : ''}`, stderr);
  }

  let closing: Promise<void> | null = null;
  return {
    connection,
    version,
    pid: child.pid,
    sandbox,
    close: () =>
      (closing ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          // Asked to close, then given a grace to exit: its answer is not waited for (a browser
          // that hangs would give none), and whether it came or not, the exit is what counts.
          connection.browser.send('Browser.close').catch(() => undefined);
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

/**
 * A fresh profile folder, private to the user Chromium runs as, which also holds what Chromium
 * and its libraries keep under the home folder (caches, fontconfig), so nothing of a run is left
 * elsewhere and the unprivileged user needs no home of its own.
 */
function privateProfile(runAs: RunAs | null, base: NodeJS.ProcessEnv): { profile: string; env: NodeJS.ProcessEnv } {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'webgpu-inference-chromium-'));
  const home = path.join(profile, 'home');
  mkdirSync(home, { mode: 0o700 });
  if (runAs) for (const dir of [profile, home]) chownSync(dir, runAs.uid, runAs.gid);
  return { profile, env: { ...base, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), XDG_CACHE_HOME: path.join(home, '.cache') } };
}

/** The command that starts Chromium as `opts.runAs`, keeping its supplementary groups where setpriv can. */
function asUser(opts: LaunchOptions, args: string[]): [string, string[], { uid?: number; gid?: number }] {
  const u = opts.runAs;
  if (!u) return [opts.executablePath, args, {}];
  // --init-groups needs a user the system knows by name; a bare uid gets no supplementary group.
  const groups = /^\d+$/.test(u.name) ? '--clear-groups' : '--init-groups';
  if (opts.setpriv) return [opts.setpriv, [`--reuid=${u.uid}`, `--regid=${u.gid}`, groups, '--', opts.executablePath, ...args], {}];
  return [opts.executablePath, args, { uid: u.uid, gid: u.gid }];
}
