// Whether Chromium runs with its own sandbox, and as whom.
//
// The runtime pages parse model files that the Management API can register and handle every
// client's pixels, so their renderers should run as Chromium runs them on a desktop: each in its
// own user namespace under a seccomp filter. Chromium refuses that sandbox to root, so a server
// running as root starts Chromium as an unprivileged system user. The sandbox needs user
// namespaces; where the host gives none (a container runtime's default seccomp profile, a kernel
// or AppArmor setting), `prefer` falls back to `--no-sandbox` and says why, `require` refuses.

import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { readOr } from '../ops/process-tree.js';

export type SandboxSetting = 'require' | 'prefer' | 'off';
export const SANDBOX_SETTINGS: readonly SandboxSetting[] = ['require', 'prefer', 'off'];

/** The system user the install script creates for Chromium. */
export const DEFAULT_CHROMIUM_USER = 'webgpu-inference';

export interface RunAs {
  name: string;
  uid: number;
  gid: number;
}

/** What a launch ended up with: the setting, whether the sandbox is on, and why not. */
export interface SandboxState {
  setting: SandboxSetting;
  enabled: boolean;
  /** Why it is off; null when on. */
  reason: string | null;
  /** The user Chromium runs as, where the server started it as another user. */
  user: string | null;
}

/** How a renderer process is confined, read from /proc; null fields where /proc does not say. */
export interface Confinement {
  uid: number | null;
  /** 0 none, 1 strict, 2 filter (Chromium's seccomp-bpf). */
  seccomp: number | null;
  noNewPrivs: boolean | null;
}

export class SandboxUnavailableError extends Error {}

/** How to enable the sandbox where it could not start: named in the warning and the error. */
export const SANDBOX_HELP =
  'the host must allow unprivileged user namespaces (sysctl user.max_user_namespaces > 0; not inside a chroot; under Docker or Kubernetes, a seccomp profile that allows them: deploy/seccomp/README.md; on Ubuntu 23.10+, an AppArmor profile for Chromium), or set chromium_sandbox=off';

/**
 * The user to start Chromium as when the server is root: `configured` (refused where it does not
 * exist, or is root while the sandbox is wanted), else the install script's user where it exists,
 * else `nobody`; null for none: where there is none of them, or `chromium_user` is root with the
 * sandbox off (Chromium then runs as the server does). `lookup` answers a user's uid and gid, or
 * null where there is no such user.
 */
export function chooseRunAs(configured: string | null, setting: SandboxSetting, lookup: (name: string) => { uid: number; gid: number } | null): RunAs | null {
  if (configured) {
    const ids = lookup(configured);
    if (!ids) throw new SandboxUnavailableError(`chromium_user ${configured} does not exist on this host`);
    if (ids.uid !== 0) return { name: configured, ...ids };
    if (setting === 'off') return null;
    throw new SandboxUnavailableError(`chromium_user ${configured} is root, and Chromium refuses its sandbox to root: name an unprivileged user, or set chromium_sandbox=off as well`);
  }
  for (const name of [DEFAULT_CHROMIUM_USER, 'nobody']) {
    const ids = lookup(name);
    if (ids && ids.uid !== 0) return { name, ...ids };
  }
  return null;
}

/** Why the sandbox cannot be had with no user to run Chromium as. */
export const NO_USER = `the server runs as root and there is no unprivileged user (${DEFAULT_CHROMIUM_USER} or nobody) to start Chromium as: create one (useradd --system ${DEFAULT_CHROMIUM_USER}, as scripts/ensure-system-packages.sh does) or set chromium_user`;

/** A user's uid and gid from the system's user database (getent, so NSS sources count too). */
export function lookupUser(name: string): { uid: number; gid: number } | null {
  try {
    const line = execFileSync('getent', ['passwd', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const [, , uid, gid] = line.split(':');
    return uid !== undefined && gid !== undefined ? { uid: Number(uid), gid: Number(gid) } : null;
  } catch {
    return /^\d+$/.test(name) ? { uid: Number(name), gid: Number(name) } : null;
  }
}

/**
 * util-linux's setpriv, which starts Chromium as the user with the user's supplementary groups
 * (`render` and `video` hold the GPU's device files on many hosts); Node's own uid/gid switch
 * drops every supplementary group. null where it is not installed.
 */
export function findSetpriv(): string | null {
  for (const p of ['/usr/bin/setpriv', '/bin/setpriv']) {
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return null;
}

/** Chromium's line when it cannot start its sandbox (zygote_host_impl_linux.cc and siblings). */
export function sandboxFailure(stderr: string): string | null {
  const line = stderr
    .split('\n')
    .find((l) => /No usable sandbox|sandbox.*(?:fail|not supported|unavailable)|Failed to move to new namespace|clone\(\) failed|unshare.*Operation not permitted/i.test(l));
  if (!line) return null;
  // Its first sentence: Chromium goes on with advice for desktops, which SANDBOX_HELP replaces.
  const text = line.replace(/^\[[^\]]*\]\s*/, '');
  return (/^.*?[.!](?=\s|$)/.exec(text)?.[0] ?? text).slice(0, 200);
}

/** A process's uid, seccomp mode and no_new_privs flag from /proc/<pid>/status. */
export function confinementOf(pid: number): Confinement {
  const status = readOr(`/proc/${pid}/status`) ?? '';
  const field = (name: string) => new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1];
  const uid = field('Uid');
  const seccomp = field('Seccomp');
  const nnp = field('NoNewPrivs');
  return { uid: uid === undefined ? null : Number(uid), seccomp: seccomp === undefined ? null : Number(seccomp), noNewPrivs: nnp === undefined ? null : nnp === '1' };
}

/** The sandbox part of a launch's options, for the server's settings on this host. */
export function sandboxLaunchOptions(setting: SandboxSetting, configuredUser: string | null): { sandbox: SandboxSetting; root: boolean; runAs: RunAs | null; setpriv: string | null } {
  const root = process.getuid?.() === 0;
  return { sandbox: setting, root, runAs: root ? chooseRunAs(configuredUser, setting, lookupUser) : null, setpriv: findSetpriv() };
}
