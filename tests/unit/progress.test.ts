import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PAGE_PROGRESS } from '../../browser-runtime/protocol.js';
import { callReceived, describeProgress, loadEnded, loadStarted, loadStep } from '../../browser-runtime/progress.js';

describe("the runtime page's account of where it is", () => {
  it('names the calls received, the load in progress, its ended steps and how long the next has run', () => {
    const t0 = performance.now();
    assert.match(describeProgress(), /^0 call\(s\) received, no load in progress$/);
    callReceived();
    loadStarted('m/1.0');
    assert.match(describeProgress(t0 + 60_000), /^1 call\(s\) received; loading m\/1\.0 for \d+ ms, no step ended yet; the next step has run \d+ ms$/);
    loadStep('import onnxruntime-web', 11);
    loadStep('fetch model', 76);
    const said = describeProgress(performance.now() + 120_000);
    assert.match(said, /; loading m\/1\.0 for 12\d{4} ms, steps ended: import onnxruntime-web 11 ms, fetch model 76 ms; the next step has run 12\d{4} ms$/);
    loadEnded();
    assert.match(describeProgress(), /^1 call\(s\) received, no load in progress$/);
  });

  it('is what the global the gateway reads answers', () => {
    const read = (globalThis as Record<string, unknown>)[PAGE_PROGRESS] as () => string;
    assert.equal(read(), describeProgress());
  });
});
