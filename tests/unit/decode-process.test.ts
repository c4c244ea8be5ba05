// One image decode process, for real: a child process running sharp. Jobs answer what sharp in
// this process answers; a job given up kills its process, which is replaced; a process that dies
// fails its job with a 500 and is replaced; one that cannot start fails jobs with a 503.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PixelsJob } from '../../server/image/decode-messages.js';
import { runDecodeJob } from '../../server/image/decode-job.js';
import { DecodeProcess } from '../../server/image/decode-process.js';
import { ApiError } from '../../server/errors.js';
import { jpegScanBomb } from '../../scripts/hostile/inputs.js';
import { readImage } from '../support/paths.js';
import { alive } from '../support/processes.js';

const kitten = readImage('kitten.jpg');
const pixelsJob = (bytes: Uint8Array): PixelsJob => ({
  kind: 'pixels',
  bytes,
  maxPixels: 40_000_000,
  failOn: 'warning',
  pil: false,
  geometry: { width: 256, height: 256, left: 16, top: 16 },
  crop: 224,
});
// Minutes of libjpeg's time: it only ends when killed.
const endless = pixelsJob(jpegScanBomb(4000, 4000, 20_000));

describe('DecodeProcess', () => {
  const processes: DecodeProcess[] = [];
  const started = () => {
    const p = new DecodeProcess();
    processes.push(p);
    return p;
  };
  after(async () => {
    await Promise.all(processes.map((p) => p.close()));
  });

  it('answers header and pixel jobs as sharp does in this process, and sharp failures as errors', async () => {
    const decoder = started();
    assert.deepEqual(await decoder.run({ kind: 'header', bytes: kitten }), await runDecodeJob({ kind: 'header', bytes: kitten }));
    const here = (await runDecodeJob(pixelsJob(kitten))) as Uint8Array;
    const there = (await decoder.run(pixelsJob(kitten))) as Uint8Array;
    assert.equal(there.length, 224 * 224 * 3);
    assert.ok(Buffer.from(there).equals(Buffer.from(here)));
    const pid = decoder.pid;
    await assert.rejects(decoder.run(pixelsJob(kitten.subarray(0, 2000))), (e: unknown) => !(e instanceof ApiError) && /premature end|truncated|corrupt/i.test((e as Error).message));
    assert.equal(decoder.pid, pid, 'a failed decode keeps its process');
  });

  it('a job given up kills its process at once and another takes the next job', async () => {
    const decoder = started();
    await decoder.run({ kind: 'header', bytes: kitten }); // started and ready
    const pid = decoder.pid!;
    const running = assert.rejects(decoder.run(endless), /past its deadline/);
    decoder.abandon(new Error('past its deadline'));
    await running;
    assert.notEqual(decoder.pid, pid, 'replaced at once');
    await decoder.reaped();
    assert.equal(alive(pid), false, 'the killed process is gone');
    assert.equal(decoder.dying, 0);
    assert.equal(((await decoder.run(pixelsJob(kitten))) as Uint8Array).length, 224 * 224 * 3);
  });

  it('a process that dies while decoding fails its job with a 500 and is replaced', async () => {
    const decoder = started();
    await decoder.run({ kind: 'header', bytes: kitten });
    const pid = decoder.pid!;
    const running = assert.rejects(decoder.run(endless), (e: unknown) => e instanceof ApiError && e.status === 500 && /ended \(SIGKILL\) while decoding/.test(e.message));
    process.kill(pid, 'SIGKILL');
    await running;
    assert.notEqual(decoder.pid, undefined);
    assert.notEqual(decoder.pid, pid);
    assert.equal(((await decoder.run(pixelsJob(kitten))) as Uint8Array).length, 224 * 224 * 3);
  });

  it('close kills the process, busy or not; later jobs get 503', async () => {
    const decoder = started();
    await decoder.run({ kind: 'header', bytes: kitten });
    const pid = decoder.pid!;
    const running = assert.rejects(decoder.run(endless), (e: unknown) => e instanceof ApiError && e.status === 503);
    await decoder.close();
    await running;
    assert.equal(alive(pid), false);
    assert.equal(decoder.pid, undefined);
    await assert.rejects(decoder.run(pixelsJob(kitten)), (e: unknown) => e instanceof ApiError && e.status === 503);
  });

  it('a process that cannot start fails its jobs with 503 and says why, and is tried again', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'decode-process-'));
    try {
      const script = path.join(dir, 'fails.mjs');
      writeFileSync(script, 'process.exit(3);\n');
      const decoder = new DecodeProcess(script);
      processes.push(decoder);
      await assert.rejects(decoder.run(pixelsJob(kitten)), (e: unknown) => e instanceof ApiError && e.status === 503 && /could not start \(exit code 3\)/.test(e.message));
      assert.match(decoder.unavailable() ?? '', /could not start \(exit code 3\)/);
      await assert.rejects(decoder.run(pixelsJob(kitten)), (e: unknown) => e instanceof ApiError && e.status === 503, 'at once while it waits to try again');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
