// Resident memory of a process and everything under it (server/ops/process-tree.ts walks the tree).

import { descendantsAndSelf, readOr } from '../../server/ops/process-tree.js';

/** What a process is, for the breakdown: the gateway itself, one of its image decoders, or Chromium's process type. */
export function kind(pid: number, root: number): string {
  if (pid === root) return 'gateway';
  const cmdline = readOr(`/proc/${pid}/cmdline`) ?? '';
  if (cmdline.includes('decode-worker.js')) return 'decoder';
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
