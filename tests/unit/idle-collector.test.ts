// The collection after a burst, on a clock the test moves by hand: it comes exactly when the
// idle time has passed with no bytes held, and never while traffic goes on.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fullCollection, IdleCollector } from '../../server/ops/idle-collector.js';
import { ManualClock } from '../support/manual-clock.js';

describe('IdleCollector', () => {
  it('collects once, after enough bytes passed and none has been held for the idle time', () => {
    const clock = new ManualClock();
    let collections = 0;
    const c = new IdleCollector(100, 30, () => collections++, clock);
    c.given(60, 0);
    clock.advance(50);
    assert.equal(collections, 0, 'too few bytes yet');
    c.given(60, 0);
    clock.advance(29);
    assert.equal(collections, 0, 'not before the idle time');
    clock.advance(1);
    assert.equal(collections, 1);
    clock.advance(1000);
    assert.equal(collections, 1, 'once per burst');
    assert.equal(clock.pending, 0);
  });

  it('waits while requests still hold bytes, and for a quiet moment after new traffic', () => {
    const clock = new ManualClock();
    let collections = 0;
    const c = new IdleCollector(100, 40, () => collections++, clock);
    c.given(200, 10);
    clock.advance(60);
    assert.equal(collections, 0, 'bytes still held');
    c.given(10, 0);
    clock.advance(20);
    c.given(5, 5); // traffic again before the idle time ran out
    clock.advance(60);
    assert.equal(collections, 0);
    c.given(5, 0);
    clock.advance(39);
    assert.equal(collections, 0, 'the idle time counts from the last bytes given back');
    clock.advance(1);
    assert.equal(collections, 1);
  });

  it('runs a real full collection without --expose-gc', () => {
    const gc = fullCollection();
    assert.equal(typeof gc, 'function');
    gc();
  });
});
