// How much of the machine something other than this benchmark used while a part ran. On a
// 2-core VM shared with other work a single busy neighbour halves every figure; this says
// which runs to distrust instead of leaving it to guesswork.

import { readFileSync } from 'node:fs';
import { descendantsAndSelf, statFields } from '../../server/ops/process-tree.js';
import type { Figure } from './stats.js';

/** utime + stime of one process, in clock ticks; null once it is gone. */
function processTicks(pid: number): number | null {
  const f = statFields(pid);
  // Fields 14 and 15 of proc(5); statFields starts at field 3.
  return f ? Number(f[11] ?? 0) + Number(f[12] ?? 0) : null;
}

function machineTicks(): { busy: number; steal: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
  return { busy: user + nice + system + irq + softirq, steal, total: user + nice + system + idle + iowait + irq + softirq + steal };
}

/**
 * Our own CPU is summed per process from the last time each was seen, sampled every 500 ms.
 * Not cutime: Chromium's helpers can outlive the browser process and be reaped by init, and
 * their time would then vanish from our account and show up as someone else's.
 */
export function startCpuNoise(): { stop(part: string): Figure[] } {
  const start = machineTicks();
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  let initial = true;
  const sample = () => {
    for (const pid of descendantsAndSelf(process.pid)) {
      const t = processTicks(pid);
      if (t === null) continue;
      // A process already running at the start only counts from there on.
      if (!first.has(pid)) first.set(pid, initial ? t : 0);
      last.set(pid, t);
    }
    initial = false;
  };
  sample();
  const timer = setInterval(sample, 500);
  return {
    stop(part) {
      sample();
      clearInterval(timer);
      const end = machineTicks();
      let ours = 0;
      for (const [pid, t] of last) ours += t - (first.get(pid) ?? 0);
      const total = Math.max(1, end.total - start.total);
      const foreign = Math.max(0, end.busy - start.busy - ours);
      return [
        { key: `noise.${part}.foreign`, label: `${part}: CPU used by other processes meanwhile`, unit: '% of machine', value: (100 * foreign) / total },
        { key: `noise.${part}.steal`, label: `${part}: CPU stolen by the hypervisor meanwhile`, unit: '% of machine', value: (100 * (end.steal - start.steal)) / total },
      ];
    },
  };
}
