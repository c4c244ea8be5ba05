// Resident memory of a process and everything under it. Chromium runs detached in its own
// session, so a process-group or session lookup would miss it; the parent chain does not.

import { readdirSync, readFileSync } from 'node:fs';

function readOr(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    // Processes come and go between readdir and read; a vanished one simply does not count.
    return null;
  }
}

/**
 * The fields of /proc/<pid>/stat from field 3 (state) on, so proc(5)'s field n is at index n - 3;
 * null once the process is gone.
 */
export function statFields(pid: number | string): string[] | null {
  const stat = readOr(`/proc/${pid}/stat`);
  if (!stat) return null;
  // The command name is in parentheses and may itself hold spaces or ')': split after the last one.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** pid -> ppid for every process visible now. */
function parentMap(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(entry);
    if (fields) parents.set(Number(entry), Number(fields[1]));
  }
  return parents;
}

export function descendantsAndSelf(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parentMap()) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** What a process is, for the breakdown: the gateway itself or Chromium's process type. */
export function kind(pid: number, root: number): string {
  if (pid === root) return 'gateway';
  const cmdline = readOr(`/proc/${pid}/cmdline`) ?? '';
  const type = /--type=([a-z-]+)/.exec(cmdline)?.[1];
  return type ?? (cmdline.includes('chrom') ? 'browser' : 'other');
}

export interface RssSample {
  /** Sum of VmRSS over the tree, in MB (MiB). Summing counts shared pages more than once: an upper bound. */
  totalMb: number;
  /**
   * Sum of Pss (proportional set size) over the tree: each shared page divided among the
   * processes sharing it, so the sum is the tree's real resident memory.
   */
  pssMb: number;
  byKind: Map<string, number>;
  renderers: number;
}

export function treeRss(root: number): RssSample {
  const byKind = new Map<string, number>();
  let renderers = 0;
  let pssKb = 0;
  for (const pid of descendantsAndSelf(root)) {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readOr(`/proc/${pid}/status`) ?? '');
    if (!m) continue;
    pssKb += Number(/^Pss:\s+(\d+)\s+kB/m.exec(readOr(`/proc/${pid}/smaps_rollup`) ?? '')?.[1] ?? 0);
    const k = kind(pid, root);
    if (k === 'renderer') renderers++;
    byKind.set(k, (byKind.get(k) ?? 0) + Number(m[1]) / 1024);
  }
  return { totalMb: [...byKind.values()].reduce((a, b) => a + b, 0), pssMb: pssKb / 1024, byKind, renderers };
}

/** Samples the tree's RSS every `everyMs` until stopped; returns the totals and the largest sample. */
export function sampleTreeRss(root: number, everyMs: number): { stop(): { totals: number[]; pss: number[]; peak: RssSample } } {
  let peak = treeRss(root);
  const totals: number[] = [peak.totalMb];
  const pss: number[] = [peak.pssMb];
  const timer = setInterval(() => {
    const s = treeRss(root);
    totals.push(s.totalMb);
    pss.push(s.pssMb);
    if (s.totalMb > peak.totalMb) peak = s;
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return { totals, pss, peak };
    },
  };
}
