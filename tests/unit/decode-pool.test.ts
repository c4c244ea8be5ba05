// The decode pool's slot accounting with scripted runners and a clock the test moves: how many
// run, who waits, who is refused, timed out or given up. Nothing here waits on real time.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Deadline } from '../../server/ops/deadline.js';
import type { DecodeJob, ImageHeader } from '../../server/image/decode-messages.js';
import type { Clock } from '../../server/ops/clock.js';
import { type DecodeRunner, DecodePool, MIN_RUN_MS } from '../../server/image/decode-pool.js';
import { ApiError } from '../../server/errors.js';

/** Timers that fire when the test moves the clock, in the order they are due. */
class FakeClock implements Clock {
  private t = 0;
  private readonly timers = new Map<number, { at: number; fire: () => void }>();
  private ids = 0;

  now(): number {
    return this.t;
  }

  setTimeout(fire: () => void, ms: number): unknown {
    this.timers.set(++this.ids, { at: this.t + ms, fire });
    return this.ids;
  }

  clearTimeout(timer: unknown): void {
    this.timers.delete(timer as number);
  }

  async advance(ms: number): Promise<void> {
    this.t += ms;
    for (;;) {
      const due = [...this.timers].filter(([, timer]) => timer.at <= this.t).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      due[1].fire();
      await settled();
    }
  }

  /** A deadline `ms` from now on this clock, whose 504 names `default_response_timeout`. */
  deadline(ms = 5000): Deadline {
    return Deadline.after(ms, 'default_response_timeout', this);
  }
}

/** Lets every promise reaction that is ready run (no I/O is involved). */
const settled = () => new Promise((resolve) => setImmediate(resolve));

/** A slot's runner whose jobs end when the test says so. */
class ScriptedRunner implements DecodeRunner {
  job: { name: string; finish: () => void; fail: (e: Error) => void } | null = null;
  readonly ran: string[] = [];
  readonly abandoned: Error[] = [];
  why: string | null = null;

  run(job: DecodeJob): Promise<ImageHeader> {
    const name = (job.bytes as Buffer).toString();
    this.ran.push(name);
    return new Promise((resolve, reject) => {
      this.job = {
        name,
        finish: () => resolve({ width: 1, height: 1, orientation: undefined }),
        fail: reject,
      };
    });
  }

  abandon(reason: Error): void {
    this.abandoned.push(reason);
    this.job?.fail(reason);
    this.job = null;
  }

  unavailable(): string | null {
    return this.why;
  }

  finish(): void {
    const job = this.job!;
    this.job = null;
    job.finish();
  }
}

const job = (name: string): DecodeJob => ({ kind: 'header', bytes: Buffer.from(name) });

function pool(slots: number, maxWaiting = 10) {
  const clock = new FakeClock();
  const runners = Array.from({ length: slots }, () => new ScriptedRunner());
  const decodes = new DecodePool(runners, maxWaiting, clock);
  /** The job each runner holds now. */
  const holding = () => runners.map((r) => r.job?.name ?? null);
  const runnerOf = (name: string) => runners.find((r) => r.job?.name === name)!;
  return { clock, runners, decodes, holding, runnerOf };
}

const is = (status: number, message: RegExp) => (e: unknown) => e instanceof ApiError && e.status === status && message.test(e.message);

describe('DecodePool', () => {
  it('runs at most `slots` decodes at once; the rest wait in arrival order', async () => {
    const { clock, decodes, holding, runnerOf } = pool(2);
    const runs = ['a', 'b', 'c'].map((name) => decodes.run({ heavy: false, deadline: clock.deadline() }, job(name)));
    await settled();
    assert.deepEqual(holding().sort(), ['a', 'b']);
    assert.deepEqual(decodes.stats, { running: 2, heavy: 0, waiting: 1, started: 2, abandoned: 0 });
    runnerOf('b').finish();
    await settled();
    assert.deepEqual(holding().sort(), ['a', 'c'], 'c took the slot b left');
    runnerOf('a').finish();
    runnerOf('c').finish();
    assert.equal((await Promise.all(runs)).length, 3);
    assert.deepEqual(decodes.stats, { running: 0, heavy: 0, waiting: 0, started: 3, abandoned: 0 });
  });

  it('keeps a slot for ordinary images: heavy decodes take at most slots - 1', async () => {
    const { clock, decodes, holding, runnerOf } = pool(2);
    const heavy = ['heavy 0', 'heavy 1'].map((name) => decodes.run({ heavy: true, deadline: clock.deadline() }, job(name)));
    const ordinary = decodes.run({ heavy: false, deadline: clock.deadline() }, job('ordinary'));
    await settled();
    assert.deepEqual(holding().sort(), ['heavy 0', 'ordinary'], 'the ordinary image overtakes the waiting heavy one');
    runnerOf('ordinary').finish();
    await ordinary;
    await settled();
    assert.deepEqual(holding().filter(Boolean), ['heavy 0'], 'a second heavy decode may not take the last slot');
    runnerOf('heavy 0').finish();
    await settled();
    assert.ok(holding().includes('heavy 1'));
    runnerOf('heavy 1').finish();
    await Promise.all(heavy);
  });

  it('one slot is shared by all, heavy or not', async () => {
    const { clock, decodes, runners } = pool(1);
    const run = decodes.run({ heavy: true, deadline: clock.deadline() }, job('a'));
    await settled();
    runners[0]!.finish();
    assert.deepEqual(await run, { width: 1, height: 1, orientation: undefined });
  });

  it('answers 503 with Retry-After when the line is full; readiness says so', async () => {
    const { clock, decodes, runners } = pool(1, 1);
    const first = decodes.run({ heavy: false, deadline: clock.deadline() }, job('a'));
    const second = decodes.run({ heavy: false, deadline: clock.deadline() }, job('b'));
    await assert.rejects(decodes.run({ heavy: false, deadline: clock.deadline() }, job('c')), (e: unknown) => e instanceof ApiError && e.status === 503 && e.headers['Retry-After'] === '1');
    assert.match(decodes.blocked() ?? '', /line is full/);
    await settled();
    runners[0]!.finish();
    await settled();
    runners[0]!.finish();
    await Promise.all([first, second]);
    assert.equal(decodes.blocked(), null);
  });

  it('a request leaves the line at its deadline with 504, and when its client goes, before any work', async () => {
    const { clock, decodes, runners } = pool(1);
    const running = decodes.run({ heavy: false, deadline: clock.deadline(60_000) }, job('running'));
    const late = assert.rejects(decodes.run({ heavy: false, deadline: clock.deadline(1000) }, job('late')), is(504, /waiting to decode the image took it past 1\.0 s.*default_response_timeout/));
    const gone = new AbortController();
    const leaving = decodes.run({ heavy: false, deadline: clock.deadline(60_000), signal: gone.signal }, job('leaving'));
    await settled();
    assert.equal(decodes.stats.waiting, 2);
    await clock.advance(999);
    assert.equal(decodes.stats.waiting, 2, 'not yet');
    await clock.advance(1);
    await late;
    gone.abort(new Error('the client went away'));
    await assert.rejects(leaving, /the client went away/);
    assert.equal(decodes.stats.waiting, 0);
    runners[0]!.finish();
    await running;
    assert.deepEqual(runners[0]!.ran, ['running'], 'no work was done for them');
  });

  it('a decode past its deadline is given up at once: 504, its runner told, its slot free for the next', async () => {
    const { clock, decodes, runners } = pool(1);
    const slow = assert.rejects(decodes.run({ heavy: true, deadline: clock.deadline(2000) }, job('slow')), is(504, /decoding the image took it past 2\.0 s/));
    const next = decodes.run({ heavy: false, deadline: clock.deadline(60_000) }, job('next'));
    await settled();
    assert.deepEqual(runners[0]!.ran, ['slow']);
    await clock.advance(2000);
    await slow;
    assert.equal(runners[0]!.abandoned.length, 1);
    assert.deepEqual(runners[0]!.ran, ['slow', 'next'], 'the next image has the slot');
    assert.deepEqual(decodes.stats, { running: 1, heavy: 0, waiting: 0, started: 2, abandoned: 1 });
    assert.equal(decodes.blocked(), null, 'ready');
    runners[0]!.finish();
    await next;
    assert.deepEqual(decodes.stats, { running: 0, heavy: 0, waiting: 0, started: 2, abandoned: 1 });
  });

  it('a decode that began just before its deadline answers 504 then, and is given up only once it has run MIN_RUN_MS', async () => {
    const { clock, decodes, runners } = pool(1);
    const blocker = decodes.run({ heavy: false, deadline: clock.deadline(60_000) }, job('blocker'));
    const late = assert.rejects(decodes.run({ heavy: false, deadline: clock.deadline(1000) }, job('late')), is(504, /decoding the image took it past 1\.0 s/));
    await settled();
    await clock.advance(990);
    runners[0]!.finish();
    await blocker;
    await settled();
    assert.deepEqual(runners[0]!.ran, ['blocker', 'late'], 'it began 10 ms before its deadline');
    await clock.advance(10);
    await late;
    assert.deepEqual(runners[0]!.abandoned, [], 'answered, not yet given up');
    assert.equal(decodes.stats.running, 1, 'its slot still held');
    await clock.advance(MIN_RUN_MS - 11);
    assert.deepEqual(runners[0]!.abandoned, []);
    await clock.advance(1);
    assert.equal(runners[0]!.abandoned.length, 1, 'given up once it has run MIN_RUN_MS');
    assert.deepEqual(decodes.stats, { running: 0, heavy: 0, waiting: 0, started: 2, abandoned: 1 });
  });

  it('one that ends within MIN_RUN_MS keeps its runner, and frees its slot then', async () => {
    const { clock, decodes, runners } = pool(1);
    const late = assert.rejects(decodes.run({ heavy: false, deadline: clock.deadline(10) }, job('late')), is(504, /decoding the image/));
    await settled();
    await clock.advance(10);
    await late;
    assert.equal(decodes.stats.running, 1);
    runners[0]!.finish();
    await settled();
    await clock.advance(MIN_RUN_MS);
    assert.deepEqual(runners[0]!.abandoned, []);
    assert.deepEqual(decodes.stats, { running: 0, heavy: 0, waiting: 0, started: 1, abandoned: 0 });
  });

  it('a decode that ends before its deadline leaves no timer behind to give it up', async () => {
    const { clock, decodes, runners } = pool(1);
    const run = decodes.run({ heavy: false, deadline: clock.deadline(2000) }, job('quick'));
    await settled();
    runners[0]!.finish();
    await run;
    await clock.advance(10_000);
    assert.deepEqual(runners[0]!.abandoned, []);
    assert.equal(decodes.stats.abandoned, 0);
  });

  it('readiness: an ordinary image waiting over 5 s, or no runner able to decode, is not ready', async () => {
    const { clock, decodes, runners } = pool(2);
    const heavy = decodes.run({ heavy: true, deadline: clock.deadline(60_000) }, job('heavy'));
    const ordinary = decodes.run({ heavy: false, deadline: clock.deadline(60_000) }, job('ordinary'));
    const waiting = decodes.run({ heavy: false, deadline: clock.deadline(60_000) }, job('waiting'));
    await settled();
    await clock.advance(5000);
    assert.equal(decodes.blocked(), null, 'five seconds is not over five');
    await clock.advance(1);
    assert.match(decodes.blocked() ?? '', /waited over 5 s/);
    for (const r of runners) r.finish();
    await settled();
    runners.find((r) => r.job)!.finish();
    await Promise.all([heavy, ordinary, waiting]);
    assert.equal(decodes.blocked(), null);
    runners[0]!.why = 'the image decode process could not start (exit code 1)';
    assert.equal(decodes.blocked(), null, 'one runner of two still decodes');
    runners[1]!.why = 'the image decode process could not start (exit code 1)';
    assert.match(decodes.blocked() ?? '', /could not start \(exit code 1\)/);
  });

  it('a request already past its deadline, or whose client has gone, is not put in line', async () => {
    const { clock, decodes, runners } = pool(1);
    await assert.rejects(decodes.run({ heavy: false, deadline: clock.deadline(0) }, job('late')), is(504, /waiting for the image to arrive/));
    const gone = new AbortController();
    gone.abort(new Error('the client went away'));
    await assert.rejects(decodes.run({ heavy: false, deadline: clock.deadline(), signal: gone.signal }, job('gone')), /the client went away/);
    assert.deepEqual(runners[0]!.ran, []);
    assert.deepEqual(decodes.stats, { running: 0, heavy: 0, waiting: 0, started: 0, abandoned: 0 });
  });
});
