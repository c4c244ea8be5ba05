// CPU time by kind of process over a window: utime + stime of every process in the server's tree
// (the gateway and each of Chromium's process types, as proc-memory.ts classifies them) and of
// this benchmark's own process, where autocannon generates the load. Divided by the answers in
// the window, it says what one image costs where.

import { execFileSync } from 'node:child_process';
import { descendantsAndSelf, statFields } from '../../server/ops/process-tree.js';
import { kind } from './proc-memory.js';

/** The kind this benchmark's own process is reported as (autocannon runs inside it). */
export const LOAD_GENERATOR = 'load generator';

let msPerTickCache: number | null = null;
/** Milliseconds per clock tick: USER_HZ is 100 on mainstream Linux builds, but asked rather than assumed. */
export function msPerTick(): number {
  if (msPerTickCache === null) {
    const raw = execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim();
    const hz = Number(raw);
    if (!Number.isInteger(hz) || hz <= 0) throw new Error(`getconf CLK_TCK answered "${raw}"`);
    msPerTickCache = 1000 / hz;
  }
  return msPerTickCache;
}

/**
 * CPU ms used so far (all threads, user + system) by each process, keyed by pid and start time
 * so that a pid reused between two snapshots reads as a new process, not as the old one.
 */
export type CpuSnapshot = Map<string, { kind: string; ms: number }>;

function record(snapshot: CpuSnapshot, pid: number, what: string): void {
  const f = statFields(pid);
  // Gone between the tree walk and the read: nothing to record.
  if (!f) return;
  // proc(5) fields 14 (utime), 15 (stime) and 22 (starttime); statFields starts at field 3.
  snapshot.set(`${pid}@${f[19]}`, { kind: what, ms: (Number(f[11]) + Number(f[12])) * msPerTick() });
}

/** Every process under (and including) `serverRoot` by kind, plus this process as the load generator. */
export function cpuSnapshot(serverRoot: number): CpuSnapshot {
  const snapshot: CpuSnapshot = new Map();
  for (const pid of descendantsAndSelf(serverRoot)) record(snapshot, pid, kind(pid, serverRoot));
  // Where this process is the gateway itself (the channel benchmark), it stays one.
  if (serverRoot !== process.pid) record(snapshot, process.pid, LOAD_GENERATOR);
  return snapshot;
}

export interface CpuDelta {
  /** CPU ms between the snapshots, by kind. */
  msByKind: Map<string, number>;
  /** Processes in `before` but not in `after`: whatever they used in between is missing from msByKind. */
  lost: number;
}

/**
 * CPU used between two snapshots. Only processes alive at `after` count: one that exited in
 * between (a renderer that crashed, a utility process that finished) takes the time it used
 * since `before` with it, since /proc has nothing left to read (and its parent's cutime only
 * gets it if that parent reaps it, which Chromium's detached helpers do not guarantee). `lost`
 * counts them, so a window that lost any can be told apart. A process that appeared in between
 * counts from zero, i.e. all it used.
 */
export function cpuDelta(before: CpuSnapshot, after: CpuSnapshot): CpuDelta {
  const msByKind = new Map<string, number>();
  for (const [id, now] of after) {
    const used = now.ms - (before.get(id)?.ms ?? 0);
    msByKind.set(now.kind, (msByKind.get(now.kind) ?? 0) + used);
  }
  let lost = 0;
  for (const id of before.keys()) if (!after.has(id)) lost++;
  return { msByKind, lost };
}
