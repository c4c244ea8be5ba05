import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TensorBuffers } from '../../browser-runtime/tensor-buffers.js';

describe('TensorBuffers', () => {
  it('hands back a buffer given back, for the same length only', () => {
    const buffers = new TensorBuffers();
    const a = buffers.take(12);
    buffers.give(a);
    assert.notEqual(buffers.take(6), a);
    assert.equal(buffers.take(12), a);
    assert.notEqual(buffers.take(12), a, 'taken twice');
  });

  it('keeps at most `keep` of each length', () => {
    const buffers = new TensorBuffers(2);
    for (const b of [buffers.take(4), buffers.take(4), buffers.take(4), buffers.take(8)]) buffers.give(b);
    assert.equal(buffers.kept, 3);
  });
});
