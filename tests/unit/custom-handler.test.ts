// What a model's own handler.js is given and what its answers must be, checked without a
// browser: the image items, the tensors it returns, its answers, and the message its client sees.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from 'onnxruntime-common';
import { answerTexts, handlerMessage, imageItems, toFeeds } from '../../browser-runtime/handlers/custom-handler.js';
import { HandlerError } from '../../browser-runtime/handlers/page-handler.js';

const ort = { Tensor } as unknown as Parameters<typeof toFeeds>[0];

describe('imageItems', () => {
  it("gives each image its pixels, the input's side, and where it was placed", () => {
    const meta = { width: 6, values: new Float32Array([640, 480, 0.35, 0.35, 0, 28, 100, 200, 2, 2, 12, 0]) };
    const items = imageItems([new Uint8Array(12), new Uint8Array(12)], meta, 2);
    assert.equal(items.length, 2);
    assert.deepEqual({ width: items[1]!.width, height: items[1]!.height }, { width: 2, height: 2 });
    assert.deepEqual(items[1]!.placement, { width: 100, height: 200, scaleX: 2, scaleY: 2, left: 12, top: 0 });
    assert.equal(items[0]!.placement.top, 28);
  });
});

describe('toFeeds', () => {
  it('turns { type, data, dims } objects into tensors by input name', () => {
    const feeds = toFeeds(ort, { input: { type: 'float32', data: new Float32Array(6), dims: [1, 2, 3] } }, ['input']);
    assert.ok(feeds['input'] instanceof Tensor);
    assert.deepEqual(feeds['input'].dims, [1, 2, 3]);
  });

  it("refuses, as the handler's fault, inputs the model lacks or lacking one, and a tensor whose data does not fit", () => {
    const t = { type: 'float32', data: new Float32Array(6), dims: [1, 6] };
    assert.throws(
      () => toFeeds(ort, { other: t }, ['input']),
      (e: Error) => e instanceof HandlerError && /the model's are \["input"\]/.test(e.message),
    );
    assert.throws(() => toFeeds(ort, {}, ['input']), HandlerError);
    assert.throws(() => toFeeds(ort, null, ['input']), /returned null/);
    assert.throws(() => toFeeds(ort, { input: { type: 'float32', data: [1, 2], dims: [2] } }, ['input']), /not a \{ type, data, dims \} tensor/);
    assert.throws(
      () => toFeeds(ort, { input: { ...t, dims: [4, 4] } }, ['input']),
      (e: Error) => e instanceof HandlerError && /input "input"/.test(e.message),
    );
  });
});

describe('answerTexts', () => {
  it('writes the first `count` answers as JSON', () => {
    assert.deepEqual(answerTexts([{ a: 1 }, [2], 'x'], 2), ['{"a":1}', '[2]']);
  });

  it('refuses too few answers, a non-array, and answers JSON cannot write', () => {
    assert.throws(() => answerTexts([1], 2), /1 answers for 2 items/);
    assert.throws(() => answerTexts({ 0: 1 }, 1), /must return an array/);
    assert.throws(() => answerTexts([undefined], 1), /answer 0 cannot be written as JSON/);
    const loop: Record<string, unknown> = {};
    loop['self'] = loop;
    assert.throws(
      () => answerTexts([loop], 1),
      (e: Error) => e instanceof HandlerError && /answer 0/.test(e.message),
    );
    assert.throws(() => answerTexts([1n], 1), HandlerError);
  });
});

describe('handlerMessage', () => {
  const base = 'http://127.0.0.1:4000/SECRET/';

  it("keeps the message, never the stack, and names an error's kind where it is not a plain Error", () => {
    const e = new TypeError('x is not a function');
    assert.equal(handlerMessage(e, base), 'TypeError: x is not a function');
    assert.equal(handlerMessage(new Error('plain'), base), 'plain');
    assert.equal(handlerMessage('thrown text', base), 'thrown text');
  });

  it("takes out the page's address, which holds the runtime listener's secret, and bounds the length", () => {
    assert.equal(handlerMessage(new Error(`failed to import ${base}models/m/1/handler.js`), base), 'failed to import models/m/1/handler.js');
    assert.equal(handlerMessage(new Error('y'.repeat(5000)), base).length, 2001);
  });
});
