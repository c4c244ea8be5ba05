import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BridgeError, withDeadline } from '../../server/page/bridge-error.js';
import { Deadline } from '../../server/ops/deadline.js';
import { ManualClock } from '../support/manual-clock.js';

describe('BridgeError', () => {
  it('is an Error that carries its kind', () => {
    const e = new BridgeError('crashed', 'gone');
    assert.ok(e instanceof Error);
    assert.equal(e.kind, 'crashed');
    assert.equal(e.message, 'gone');
  });
});

/** Whether `p` has settled yet, as the test moves its clock. */
function watch(p: Promise<unknown>): { settled: boolean } {
  const seen = { settled: false };
  p.then(
    () => (seen.settled = true),
    () => (seen.settled = true),
  );
  return seen;
}

describe('withDeadline', () => {
  it('resolves with the value of work that settles in time', async () => {
    assert.equal(await withDeadline(Promise.resolve(42), Deadline.after(1000, 'default_response_timeout'), 'inference'), 42);
    const clock = new ManualClock();
    let finish!: (v: string) => void;
    const value = withDeadline(new Promise<string>((r) => (finish = r)), Deadline.after(1000, 'default_response_timeout', clock), 'inference');
    clock.advance(999);
    finish('just in time');
    assert.equal(await value, 'just in time');
    assert.equal(clock.pending, 0, 'and its timer is cleared');
  });

  it("passes on work's own rejection unchanged", async () => {
    const own = new Error('boom');
    await assert.rejects(withDeadline(Promise.reject(own), Deadline.after(1000, 'x'), 'load'), (e: unknown) => e === own);
  });

  it("rejects with kind 'timeout' and a message naming the setting when the work is late, at the deadline", async () => {
    const clock = new ManualClock();
    const late = withDeadline(new Promise<never>(() => {}), Deadline.after(30, 'model_load_timeout', clock), 'loading mobilenet_v2');
    const seen = watch(late);
    clock.advance(29);
    await Promise.resolve();
    assert.equal(seen.settled, false, 'not before the deadline');
    clock.advance(1);
    await assert.rejects(late, (e: unknown) => {
      assert.ok(e instanceof BridgeError);
      assert.equal(e.kind, 'timeout');
      assert.match(e.message, /^loading mobilenet_v2 took longer than/);
      assert.match(e.message, /raise model_load_timeout to allow more/);
      return true;
    });
  });

  it('states the deadline in tenths of a second below 10 s', async () => {
    const clock = new ManualClock();
    const late = withDeadline(new Promise<never>(() => {}), Deadline.after(500, 'default_response_timeout', clock), 'inference');
    clock.advance(500);
    await assert.rejects(late, (e: unknown) => {
      assert.ok(e instanceof BridgeError);
      assert.equal(e.message, 'inference took longer than 0.5 s (raise default_response_timeout to allow more)');
      return true;
    });
  });

  it("fires at the deadline's instant, however much of it was spent before the call, and states what was left", async () => {
    const clock = new ManualClock();
    const deadline = Deadline.after(1000, 'default_response_timeout', clock);
    clock.advance(700);
    const late = withDeadline(new Promise<never>(() => {}), deadline, 'the prediction');
    const seen = watch(late);
    clock.advance(299);
    await Promise.resolve();
    assert.equal(seen.settled, false, 'not before the instant');
    clock.advance(1);
    await assert.rejects(late, (e: unknown) => e instanceof BridgeError && e.message === 'the prediction took longer than 0.3 s (raise default_response_timeout to allow more)');
  });

  it('clears its timer once the work settles', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const pending = withDeadline(Promise.resolve('done'), Deadline.after(5_000, 'y'), 'x');
    assert.equal(timers(), before + 1, 'the deadline timer is running while the race is open');
    assert.equal(await pending, 'done');
    assert.equal(timers(), before, 'the deadline timer is gone once the work has settled');
    await assert.rejects(withDeadline(Promise.reject(new Error('x')), Deadline.after(5_000, 'y'), 'x'));
    assert.equal(timers(), before, 'and also once the work has failed');
  });
});
