// Telling a page's renderer process: one page opening at a time, and the process that appeared.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { processMemory, rendererPids, withNewRenderer } from '../../server/chromium/renderer-process.js';

describe('renderer process of a page', () => {
  it('reads a process memory from /proc, and none for a process that is gone', () => {
    assert.ok(processMemory(process.pid)! > 1024 * 1024);
    assert.equal(processMemory(2 ** 22 + 12345), null);
  });

  it('finds no renderer under a process that has none', () => {
    assert.deepEqual(rendererPids(process.pid), new Set());
  });

  it('opens one page at a time, in the order asked, and names no pid where none appeared', async () => {
    const order: string[] = [];
    let finishA!: () => void;
    const aOpened = new Promise<void>((r) => (finishA = r));
    const open = (name: string, until: Promise<void>) => async () => {
      order.push(`${name} start`);
      await until;
      order.push(`${name} end`);
      return name;
    };
    const both = Promise.all([withNewRenderer(process.pid, open('a', aOpened)), withNewRenderer(undefined, open('b', Promise.resolve()))]);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, ['a start'], 'b waits while a is still opening');
    finishA();
    const [a, b] = await both;
    assert.deepEqual(order, ['a start', 'a end', 'b start', 'b end']);
    assert.deepEqual(
      [a, b],
      [
        { value: 'a', pid: null },
        { value: 'b', pid: null },
      ],
    );
    await assert.rejects(
      withNewRenderer(process.pid, () => Promise.reject(new Error('no page'))),
      /no page/,
    );
    assert.equal((await withNewRenderer(process.pid, async () => 'after a failure')).value, 'after a failure');
  });
});
