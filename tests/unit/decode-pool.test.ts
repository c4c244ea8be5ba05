// The decode pool with scripted work: how many run, who waits, who is refused or timed out.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Deadline } from '../../server/deadline.js';
import { DecodePool } from '../../server/decode-pool.js';
import { ApiError } from '../../server/errors.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Work that ends when the test says so. */
function gate() {
  let open!: () => void;
  const done = new Promise<void>((r) => (open = r));
  return { work: () => done.then(() => 'decoded'), open };
}

const soon = (ms = 5000) => Deadline.after(ms, 'default_response_timeout');

describe('DecodePool', () => {
  it('runs at most `slots` decodes at once; the rest wait in arrival order', async () => {
    const pool = new DecodePool(2, 10);
    const gates = [gate(), gate(), gate()];
    const started: number[] = [];
    const runs = gates.map((g, i) => pool.run({ heavy: false, deadline: soon() }, () => (started.push(i), g.work())));
    await sleep(5);
    assert.deepEqual(started, [0, 1]);
    assert.deepEqual(pool.stats, { running: 2, heavy: 0, waiting: 1, overdue: 0 });
    gates[1]!.open();
    await sleep(5);
    assert.deepEqual(started, [0, 1, 2]);
    gates[0]!.open();
    gates[2]!.open();
    assert.deepEqual(await Promise.all(runs), ['decoded', 'decoded', 'decoded']);
    assert.deepEqual(pool.stats, { running: 0, heavy: 0, waiting: 0, overdue: 0 });
  });

  it('keeps a slot for ordinary images: heavy decodes take at most slots - 1', async () => {
    const pool = new DecodePool(2, 10);
    const heavy = [gate(), gate()];
    const started: string[] = [];
    const heavyRuns = heavy.map((g, i) => pool.run({ heavy: true, deadline: soon() }, () => (started.push(`heavy ${i}`), g.work())));
    const light = gate();
    const ordinary = pool.run({ heavy: false, deadline: soon() }, () => (started.push('ordinary'), light.work()));
    await sleep(5);
    assert.deepEqual(started, ['heavy 0', 'ordinary'], 'the ordinary image overtakes the waiting heavy one');
    light.open();
    await ordinary;
    heavy[0]!.open();
    await sleep(5);
    assert.deepEqual(started, ['heavy 0', 'ordinary', 'heavy 1']);
    heavy[1]!.open();
    await Promise.all(heavyRuns);
  });

  it('one slot is shared by all', async () => {
    const pool = new DecodePool(1, 10);
    assert.equal(await pool.run({ heavy: true, deadline: soon() }, async () => 'ok'), 'ok');
  });

  it('answers 503 with Retry-After when the line is full', async () => {
    const pool = new DecodePool(1, 1);
    const g = gate();
    const first = pool.run({ heavy: false, deadline: soon() }, g.work);
    const second = pool.run({ heavy: false, deadline: soon() }, g.work);
    await assert.rejects(pool.run({ heavy: false, deadline: soon() }, g.work), (e: unknown) => e instanceof ApiError && e.status === 503 && e.headers['Retry-After'] === '1');
    assert.match(pool.blocked() ?? '', /line is full/);
    g.open();
    await Promise.all([first, second]);
    assert.equal(pool.blocked(), null);
  });

  it('a request leaves the line at its deadline with 504, and when its client goes', async () => {
    const pool = new DecodePool(1, 10);
    const g = gate();
    const running = pool.run({ heavy: false, deadline: soon() }, g.work);
    let ran = 0;
    await assert.rejects(
      pool.run({ heavy: false, deadline: soon(30) }, async () => ran++),
      (e: unknown) => e instanceof ApiError && e.status === 504 && /waiting to decode.*default_response_timeout/.test(e.message),
    );
    const gone = new AbortController();
    const waiting = pool.run({ heavy: false, deadline: soon(), signal: gone.signal }, async () => ran++);
    gone.abort(new Error('the client went away'));
    await assert.rejects(waiting, /the client went away/);
    assert.equal(pool.stats.waiting, 0);
    g.open();
    await running;
    assert.equal(ran, 0, 'no work was done for them');
  });

  it('a decode past its deadline answers 504 at once but keeps its slot until it ends; readiness says why', async () => {
    const pool = new DecodePool(1, 10);
    const g = gate();
    const t0 = performance.now();
    await assert.rejects(pool.run({ heavy: true, deadline: soon(30) }, g.work), (e: unknown) => e instanceof ApiError && e.status === 504 && /decoding the image/.test(e.message));
    assert.ok(performance.now() - t0 < 500);
    assert.deepEqual(pool.stats, { running: 1, heavy: 1, waiting: 0, overdue: 1 });
    assert.match(pool.blocked() ?? '', /held by a decode past its deadline/);
    let ran = false;
    const next = pool.run({ heavy: false, deadline: soon() }, async () => (ran = true));
    await sleep(10);
    assert.equal(ran, false, 'the slot is still taken');
    g.open();
    await next;
    assert.equal(ran, true);
    assert.equal(pool.blocked(), null);
  });
});
