import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ServedRuns, SHORT_RUN_MS, startingWasmThreads, wasmThreadsFor } from '../../server/page/wasm-thread-choice.js';

describe('wasmThreadsFor', () => {
  it('gives a model whose runs are long one thread a core', () => {
    assert.equal(wasmThreadsFor({ backend: 'wasm', singleRunMs: 17 }, 4)?.threads, 4);
    assert.equal(wasmThreadsFor({ backend: 'wasm', singleRunMs: SHORT_RUN_MS }, 2)?.threads, 2, 'the bound itself is long');
  });

  it('gives a model whose runs are short one thread, and says so', () => {
    const choice = wasmThreadsFor({ backend: 'wasm', singleRunMs: 0.25 }, 8);
    assert.equal(choice?.threads, 1);
    assert.match(choice?.why ?? '', /0\.25 ms/);
  });

  it('leaves a page on WebGPU on the threads it started on', () => {
    assert.equal(wasmThreadsFor({ backend: 'webgpu', singleRunMs: null }, 8), null);
  });

  it('keeps a core count of one or more', () => {
    assert.equal(wasmThreadsFor({ backend: 'wasm', singleRunMs: null }, 0)?.threads, 1);
  });

  it('starts a page asked for WebGPU outright on one thread, any other on one a core', () => {
    assert.equal(startingWasmThreads('webgpu', 8), 1);
    assert.equal(startingWasmThreads('auto', 8), 8);
    assert.equal(startingWasmThreads('wasm', 8), 8);
  });
});

describe('ServedRuns', () => {
  it('answers the median once enough runs are in, then never again', () => {
    const runs = new ServedRuns(4);
    assert.equal(runs.add(9), null);
    assert.equal(runs.add(0.2), null);
    assert.equal(runs.add(0.4), null);
    assert.equal(runs.settled, false);
    assert.equal(runs.add(0.3), 0.35, 'one slow run does not move it');
    assert.equal(runs.settled, true);
    assert.equal(runs.add(0.1), null);
  });

  it('answers nothing once settled from outside (at load)', () => {
    const runs = new ServedRuns(1);
    runs.settled = true;
    assert.equal(runs.add(1), null);
  });
});
