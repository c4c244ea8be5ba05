// The host figures TorchServe reports as its system metrics (CPUUtilization, MemoryUsed,
// MemoryAvailable, MemoryUtilization, DiskUsage, DiskAvailable, DiskUtilization), in its units
// and with psutil's arithmetic, which TorchServe uses: read from /proc and from statfs(2) of the
// model store's file system whenever they are scraped. Parsing is pure, so it is tested on text.
// GPU metrics are left out: nothing here reads a GPU's load or memory.

import { readFileSync } from 'node:fs';
import { readFile, statfs } from 'node:fs/promises';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

const percent = (part: number, whole: number): number => (whole > 0 ? Math.round((part / whole) * 1000) / 10 : 0);

/** Jiffies since boot, all CPUs together: those spent working, and all of them. */
export interface CpuTimes {
  busy: number;
  total: number;
}

/**
 * The aggregate `cpu` line of /proc/stat. As psutil counts: guest time is already inside user
 * and nice, so it is not added twice; idle and iowait are the time not working.
 */
export function parseCpuTimes(stat: string): CpuTimes | null {
  const line = stat.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return null;
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
  const total = user + nice + system + idle + iowait + irq + softirq + steal;
  if (!Number.isFinite(total)) return null;
  return { busy: total - idle - iowait, total };
}

/** The share of time working between two readings, in percent; null when no time passed. */
export function cpuPercent(before: CpuTimes, after: CpuTimes): number | null {
  const total = after.total - before.total;
  if (total <= 0) return null;
  return Math.min(100, Math.max(0, percent(after.busy - before.busy, total)));
}

export interface MemoryFigures {
  /** Megabytes (MiB), as TorchServe's MemoryUsed. */
  usedMB: number;
  /** Megabytes (MiB), as TorchServe's MemoryAvailable. */
  availableMB: number;
  /** Percent of the total that is not available, as TorchServe's MemoryUtilization. */
  utilization: number;
}

/** /proc/meminfo, with psutil's virtual_memory() arithmetic. */
export function parseMeminfo(meminfo: string): MemoryFigures | null {
  const kb = new Map<string, number>();
  for (const line of meminfo.split('\n')) {
    const m = /^(\w+(?:\(\w+\))?):\s+(\d+)/.exec(line);
    if (m) kb.set(m[1]!, Number(m[2]) * 1024);
  }
  const total = kb.get('MemTotal');
  const free = kb.get('MemFree');
  if (total === undefined || free === undefined || total === 0) return null;
  const buffers = kb.get('Buffers') ?? 0;
  const cached = (kb.get('Cached') ?? 0) + (kb.get('SReclaimable') ?? 0);
  let used = total - free - cached - buffers;
  // In some containers the host's cache figures exceed the container's total.
  if (used < 0) used = total - free;
  // Kernels before 3.14 have no MemAvailable: what is free or could be freed at once.
  const available = Math.min(total, kb.get('MemAvailable') ?? free + buffers + cached);
  return { usedMB: used / MiB, availableMB: available / MiB, utilization: percent(total - available, total) };
}

export interface DiskFigures {
  /** Gigabytes (GiB), as TorchServe's DiskUsage. */
  usedGB: number;
  /** Gigabytes (GiB) an unprivileged process may still write, as TorchServe's DiskAvailable. */
  availableGB: number;
  /** Percent, as TorchServe's DiskUtilization (psutil's disk_usage: blocks kept for root left out). */
  utilization: number;
}

/** statfs(2) figures, as Node's fs.statfs gives them, with psutil's disk_usage() arithmetic. */
export function diskFigures(s: { bsize: number; blocks: number; bfree: number; bavail: number }): DiskFigures {
  const used = (s.blocks - s.bfree) * s.bsize;
  const available = s.bavail * s.bsize;
  return { usedGB: used / GiB, availableGB: available / GiB, utilization: percent(used, used + available) };
}

/**
 * Reads the host at scrape time. CPUUtilization is the share of CPU time spent working since
 * the previous reading (the first one: since this object was made), as psutil.cpu_percent()
 * without an interval; a reading within the same clock tick repeats the last figure. A figure
 * that cannot be read (no /proc: not Linux) is null, and its series is left out.
 */
export class HostReadings {
  private cpuBefore: CpuTimes | null;
  private lastCpu: number | null = null;

  constructor(
    /** A path on the file system whose space is reported: the model store. */
    private readonly diskPath: string,
    private readonly proc = '/proc',
  ) {
    this.cpuBefore = (() => {
      try {
        return parseCpuTimes(readFileSync(`${this.proc}/stat`, 'utf8'));
      } catch {
        return null;
      }
    })();
  }

  async cpuUtilization(): Promise<number | null> {
    const now = parseCpuTimes(await readFile(`${this.proc}/stat`, 'utf8').catch(() => ''));
    if (!now) return null;
    const before = this.cpuBefore;
    this.cpuBefore = now;
    if (before) this.lastCpu = cpuPercent(before, now) ?? this.lastCpu;
    return this.lastCpu;
  }

  async memory(): Promise<MemoryFigures | null> {
    return parseMeminfo(await readFile(`${this.proc}/meminfo`, 'utf8').catch(() => ''));
  }

  async disk(): Promise<DiskFigures | null> {
    const s = await statfs(this.diskPath).catch(() => null);
    return s && diskFigures(s);
  }
}
