// Memory after a flood: the real server started as users start it (bin/webgpu-inference-server,
// which preloads jemalloc where the system has it), a flood of 4 MB photos and 6 MB tensors, and
// the gateway's resident memory afterwards. With glibc's allocator it stayed ~1 GB above where it
// started; it must come back.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../server/ops/paths.js';
import { descendantsAndSelf } from '../../server/ops/process-tree.js';
import { flood, rssMb } from '../../scripts/soak/flood.js';
import { readImage } from '../support/paths.js';
import { postImage } from '../support/server-harness.js';
import { spawnServer, type SpawnedServer, ANY_PORTS } from '../support/spawned-server.js';
import { tempStore } from '../support/temp-store.js';
import { until } from '../support/until.js';

const JEMALLOC = ['/usr/lib/x86_64-linux-gnu/libjemalloc.so.2', '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2'].find((f) => existsSync(f));

describe('memory after a flood of large requests', { skip: JEMALLOC ? false : 'libjemalloc2 is not installed (scripts/ensure-system-packages.sh installs it as root)' }, () => {
  const store = tempStore([
    // Asked to classify the kitten before and after: one image a run (batches are not under test here).
    { name: 'mobilenet_v2', from: 'mobilenet_v2', config: { batch_size: 1 } },
    // The flood's target: what the gateway holds is the bodies and tensors, whatever the network;
    // the null model lets the flood pass through the page without hundreds of MobileNet runs.
    { name: 'null_model', from: 'null_model' },
  ]);
  let server: SpawnedServer;
  let child: ChildProcess;
  let url = '';

  before(async () => {
    server = await spawnServer(path.join(PROJECT_ROOT, 'bin/webgpu-inference-server'), ['--model-store', store.root, '--backend', 'wasm', ...ANY_PORTS], {
      TS_WASM_THREADS: '1',
      LD_PRELOAD: '',
      UV_THREADPOOL_SIZE: '',
    });
    child = server.child;
    url = server.inferenceUrl();
  });
  after(() => {
    if (child?.exitCode === null) child.kill('SIGKILL');
    store.remove();
  });

  it('the gateway runs on jemalloc and Chromium does not', () => {
    assert.match(server.output(), /memory allocator: jemalloc/);
    assert.ok(readFileSync(`/proc/${child.pid}/maps`, 'utf8').includes('libjemalloc'));
    const chromium = descendantsAndSelf(child.pid!).filter((pid) => pid !== child.pid && /chrom/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8')));
    assert.ok(chromium.length > 0);
    for (const pid of chromium) assert.ok(!readFileSync(`/proc/${pid}/maps`, 'utf8').includes('libjemalloc'), `Chromium process ${pid}`);
  });

  it("the gateway's old generation starts at 64 MB, so that request buffers do not bring a full collection every few requests", () => {
    assert.ok(readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0').includes('--initial-old-space-size=64'));
  });

  it('memory taken by a flood of 4 MB photos and 6 MB tensors is given back once it is over', async () => {
    const kitten = readImage('kitten.jpg');
    assert.equal((await postImage(`${url}/predictions/mobilenet_v2`, kitten)).status, 200);
    const before = rssMb(child.pid!);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(child.pid!))), 100);
    const statuses = await flood({ url, images: 48, tensors: 48, concurrency: 32, model: 'null_model' });
    clearInterval(sampler);
    assert.ok(
      // Refusals: the budget (503), or one client's bound on bodies still arriving (429), half the budget.
      Object.keys(statuses).every((s) => s === '200' || s === '503' || s === '429'),
      JSON.stringify(statuses),
    );
    // Given back after an idle moment and the allocator's own decay: waited for, up to a bound on a hang.
    let now = rssMb(child.pid!);
    await until('the gateway back within 150 MiB of where it started', () => (now = rssMb(child.pid!)) <= before + 150).catch(() => undefined);
    console.log(`gateway RSS: ${before.toFixed(0)} MiB before, ${peak.toFixed(0)} at the peak, ${now.toFixed(0)} after; ${JSON.stringify(statuses)}`);
    assert.ok(peak > before + 150, 'the flood did take memory');
    assert.ok(now <= before + 150, `${now.toFixed(0)} MiB after the flood, ${before.toFixed(0)} before`);
    assert.equal((await postImage(`${url}/predictions/mobilenet_v2?topk=1`, kitten)).body[0].class, 'n02123045 tabby, tabby cat');
  });
});
