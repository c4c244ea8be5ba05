import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TensorBuffers } from '../../browser-runtime/tensor-buffers.js';

describe('TensorBuffers', () => {
  it('hands back a buffer given back', () => {
    const buffers = new TensorBuffers();
    const a = buffers.take(12);
    buffers.give(a);
    assert.equal(buffers.take(12), a);
    assert.notEqual(buffers.take(12), a, 'taken twice');
  });

  it('answers a smaller batch with a view of a larger buffer, and takes the whole buffer back', () => {
    const buffers = new TensorBuffers();
    const large = buffers.take(16);
    buffers.give(large);
    const small = buffers.take(4);
    assert.equal(small.length, 4);
    assert.equal(small.buffer, large.buffer);
    buffers.give(small);
    assert.equal(buffers.keptValues, 16);
    assert.equal(buffers.take(16).buffer, large.buffer);
  });

  it('keeps at most `keep` buffers, the largest, however the sizes vary', () => {
    const buffers = new TensorBuffers(2);
    const taken = [4, 8, 2, 16, 1].map((n) => buffers.take(n));
    for (const b of taken) buffers.give(b);
    assert.equal(buffers.keptValues, 16 + 8);
    for (let n = 1; n <= 16; n++) buffers.give(buffers.take(n));
    assert.equal(buffers.keptValues, 16 + 8, 'sizes 1 to 16 in turn keep nothing more');
  });
});
