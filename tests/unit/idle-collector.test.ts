import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fullCollection, IdleCollector } from '../../server/idle-collector.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('IdleCollector', () => {
  it('collects once, after enough bytes passed and none has been held for the idle time', async () => {
    let collections = 0;
    const c = new IdleCollector(100, 30, () => collections++);
    c.given(60, 0);
    await sleep(50);
    assert.equal(collections, 0, 'too few bytes yet');
    c.given(60, 0);
    await sleep(50);
    assert.equal(collections, 1);
    await sleep(50);
    assert.equal(collections, 1, 'once per burst');
  });

  it('waits while requests still hold bytes, and for a quiet moment after new traffic', async () => {
    let collections = 0;
    const c = new IdleCollector(100, 40, () => collections++);
    c.given(200, 10);
    await sleep(60);
    assert.equal(collections, 0, 'bytes still held');
    c.given(10, 0);
    await sleep(20);
    c.given(5, 5); // traffic again before the idle time ran out
    await sleep(60);
    assert.equal(collections, 0);
    c.given(5, 0);
    await sleep(60);
    assert.equal(collections, 1);
  });

  it('runs a real full collection without --expose-gc', () => {
    const gc = fullCollection();
    assert.equal(typeof gc, 'function');
    gc();
  });
});
