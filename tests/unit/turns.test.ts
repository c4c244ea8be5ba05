import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Turns } from '../../browser-runtime/turns.js';

describe('Turns', () => {
  it('runs each piece only once the ones given before it have ended, in order; a failure ends only its own', async () => {
    const turns = new Turns();
    const seen: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const first = turns.take(async () => {
      seen.push('first starts');
      await held;
      seen.push('first ends');
      return 1;
    });
    const second = turns.take(() => {
      seen.push('second');
      throw new Error('second failed');
    });
    const third = turns.take(() => {
      seen.push('third');
      return 3;
    });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(seen, ['first starts'], 'the others wait for the first');
    release();
    assert.equal(await first, 1);
    await assert.rejects(second, /second failed/);
    assert.equal(await third, 3);
    assert.deepEqual(seen, ['first starts', 'first ends', 'second', 'third']);
  });
});
