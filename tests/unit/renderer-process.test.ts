// Telling a page's renderer process: one page opening at a time, and the process that appeared.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { processMemory, rendererPids, withNewRenderer } from '../../server/bridge/renderer-process.js';

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
    const open = (name: string, ms: number) => async () => {
      order.push(`${name} start`);
      await new Promise((r) => setTimeout(r, ms));
      order.push(`${name} end`);
      return name;
    };
    const [a, b] = await Promise.all([withNewRenderer(process.pid, open('a', 30)), withNewRenderer(undefined, open('b', 1))]);
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
