// TorchServe's host figures from /proc and statfs text, with psutil's arithmetic.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cpuPercent, diskFigures, HostReadings, parseCpuTimes, parseMeminfo } from '../../server/ops/system-metrics.js';

const MEMINFO = `MemTotal:       16000000 kB
MemFree:         4000000 kB
MemAvailable:   10000000 kB
Buffers:          500000 kB
Cached:          5000000 kB
SwapCached:            0 kB
Active(file):    1194812 kB
SReclaimable:     500000 kB
`;

const stat = (user: number, idle: number, iowait = 0, guest = 0) => `cpu  ${user} 0 0 ${idle} ${iowait} 0 0 0 ${guest} 0\ncpu0 ${user} 0 0 ${idle} ${iowait} 0 0 0 ${guest} 0\nintr 1 2 3\n`;

describe('host figures (TorchServe system metrics)', () => {
  it('CPU times: iowait is idle, guest is already inside user', () => {
    assert.deepEqual(parseCpuTimes('cpu  100 20 30 400 50 6 4 10 80 5\ncpu0 1 1 1 1\n'), { busy: 170, total: 620 });
    assert.deepEqual(parseCpuTimes('cpu  1 2 3 4\n'), { busy: 6, total: 10 }, 'older kernels have fewer columns');
    assert.equal(parseCpuTimes('cpu0 1 2 3 4\n'), null, 'only the aggregate line counts');
    assert.equal(parseCpuTimes(''), null);
    assert.equal(parseCpuTimes('cpu  a b c d\n'), null);
  });

  it('CPU percent is the working share between two readings, none when no time passed', () => {
    assert.equal(cpuPercent({ busy: 100, total: 1000 }, { busy: 125, total: 1100 }), 25);
    assert.equal(cpuPercent({ busy: 0, total: 0 }, { busy: 1, total: 3 }), 33.3, 'rounded to a tenth, as psutil');
    assert.equal(cpuPercent({ busy: 5, total: 10 }, { busy: 5, total: 10 }), null);
    assert.equal(cpuPercent({ busy: 5, total: 10 }, { busy: 50, total: 20 }), 100, 'never past 100');
  });

  it('memory as psutil: used leaves out free, buffers and reclaimable cache; utilization is what is not available', () => {
    const m = parseMeminfo(MEMINFO)!;
    // 16,000,000 - 4,000,000 - 500,000 - (5,000,000 + 500,000) kB
    assert.equal(m.usedMB, 6_000_000 / 1024);
    assert.equal(m.availableMB, 10_000_000 / 1024);
    assert.equal(m.utilization, 37.5);
  });

  it('memory without MemAvailable, with a container total below the cache, and unreadable', () => {
    const old = parseMeminfo('MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 100 kB\nCached: 200 kB\n')!;
    assert.equal(old.availableMB, 400 / 1024);
    assert.equal(old.utilization, 60);
    const container = parseMeminfo('MemTotal: 1000 kB\nMemFree: 400 kB\nMemAvailable: 500 kB\nCached: 5000 kB\n')!;
    assert.equal(container.usedMB, 600 / 1024, 'total - free when the cache is larger than the rest');
    assert.equal(parseMeminfo(''), null);
    assert.equal(parseMeminfo('MemTotal: 0 kB\nMemFree: 0 kB\n'), null);
  });

  it('disk as psutil: blocks kept for root count as neither used nor available', () => {
    const GiB = 1024 ** 3;
    const d = diskFigures({ bsize: 4096, blocks: (100 * GiB) / 4096, bfree: (30 * GiB) / 4096, bavail: (25 * GiB) / 4096 });
    assert.equal(d.usedGB, 70);
    assert.equal(d.availableGB, 25);
    assert.equal(d.utilization, 73.7, '70 / (70 + 25)');
  });

  describe('reading a /proc', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'proc-'));
      writeFileSync(path.join(dir, 'stat'), stat(100, 900));
      writeFileSync(path.join(dir, 'meminfo'), MEMINFO);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('CPU since the previous reading; the same tick repeats the last figure', async () => {
      const r = new HostReadings(dir, dir);
      writeFileSync(path.join(dir, 'stat'), stat(150, 950));
      assert.equal(await r.cpuUtilization(), 50, 'since the object was made');
      assert.equal(await r.cpuUtilization(), 50, 'no tick since: the last figure');
      writeFileSync(path.join(dir, 'stat'), stat(160, 1040));
      assert.equal(await r.cpuUtilization(), 10);
      assert.equal((await r.memory())?.utilization, 37.5);
      assert.ok((await r.disk())!.availableGB > 0, 'statfs of the temporary folder');
    });

    it('nothing to read is no figure, not an error', async () => {
      const r = new HostReadings(path.join(dir, 'nothing'), path.join(dir, 'nothing'));
      assert.equal(await r.cpuUtilization(), null);
      assert.equal(await r.memory(), null);
      assert.equal(await r.disk(), null);
    });
  });
});
