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

/** pid -> ppid for every process visible now. */
function parentMap(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readOr(`/proc/${entry}/stat`);
    if (!stat) continue;
    // The command name is in parentheses and may itself hold spaces or ')': split after the last one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    parents.set(Number(entry), Number(fields[1]));
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

/** Sum of VmRSS over the tree, in MB (MiB). Summing counts shared pages more than once: an upper bound. */
export function treeRssMb(root: number): number {
  let kb = 0;
  for (const pid of descendantsAndSelf(root)) {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readOr(`/proc/${pid}/status`) ?? '');
    if (m) kb += Number(m[1]);
  }
  return kb / 1024;
}

/** Samples the tree's RSS every `everyMs` until stopped; returns the samples. */
export function sampleTreeRss(root: number, everyMs: number): { stop(): number[] } {
  const samples: number[] = [treeRssMb(root)];
  const timer = setInterval(() => samples.push(treeRssMb(root)), everyMs);
  return {
    stop() {
      clearInterval(timer);
      return samples;
    },
  };
}
