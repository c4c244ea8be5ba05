import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { BridgeError, withDeadline } from '../../server/bridge/bridge-error.js';

describe('BridgeError', () => {
  it('is an Error that carries its kind', () => {
    const e = new BridgeError('crashed', 'gone');
    assert.ok(e instanceof Error);
    assert.equal(e.kind, 'crashed');
    assert.equal(e.message, 'gone');
  });
});

describe('withDeadline', () => {
  it('resolves with the value of work that settles in time', async () => {
    assert.equal(await withDeadline(Promise.resolve(42), { ms: 1000, setting: 'default_response_timeout' }, 'inference'), 42);
    const value = await withDeadline(sleep(5, 'late-ish'), { ms: 1000, setting: 'default_response_timeout' }, 'inference');
    assert.equal(value, 'late-ish');
  });

  it("passes on work's own rejection unchanged", async () => {
    const own = new Error('boom');
    await assert.rejects(withDeadline(Promise.reject(own), { ms: 1000, setting: 'x' }, 'load'), (e: unknown) => e === own);
  });

  it("rejects with kind 'timeout' and a message naming the setting when the work is late", async () => {
    const started = Date.now();
    await assert.rejects(withDeadline(sleep(2000), { ms: 30, setting: 'model_load_timeout' }, 'loading mobilenet_v2'), (e: unknown) => {
      assert.ok(e instanceof BridgeError);
      assert.equal(e.kind, 'timeout');
      assert.match(e.message, /^loading mobilenet_v2 took longer than/);
      assert.match(e.message, /raise model_load_timeout to allow more/);
      return true;
    });
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 1000, `the deadline fired after ${elapsed} ms, not around 30 ms`);
  });

  it('states the deadline in tenths of a second below 10 s', async () => {
    await assert.rejects(withDeadline(new Promise<never>(() => {}), { ms: 500, setting: 'default_response_timeout' }, 'inference'), (e: unknown) => {
      assert.ok(e instanceof BridgeError);
      assert.equal(e.message, 'inference took longer than 0.5 s (raise default_response_timeout to allow more)');
      return true;
    });
  });

  it('clears its timer once the work settles', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const pending = withDeadline(Promise.resolve('done'), { ms: 5_000, setting: 'y' }, 'x');
    assert.equal(timers(), before + 1, 'the deadline timer is running while the race is open');
    assert.equal(await pending, 'done');
    assert.equal(timers(), before, 'the deadline timer is gone once the work has settled');
    await assert.rejects(withDeadline(Promise.reject(new Error('x')), { ms: 5_000, setting: 'y' }, 'x'));
    assert.equal(timers(), before, 'and also once the work has failed');
  });
});
