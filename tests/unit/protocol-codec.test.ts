// The page channel's byte layouts: every call and reply reads back as it was written, numbers
// and arrays exactly, and a message cut short or of an unknown op is refused, not misread.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeCall,
  decodeReply,
  encodeCall,
  encodeReply,
  MAX_TENANTS,
  markOpenAnother,
  ProtocolError,
  type HandleReply,
  type InferReply,
  type LoadRequest,
  type ModelRuntimeInfo,
  type TensorReply,
} from '../../browser-runtime/protocol.js';

/** A call's parts as the pipe writes them: one message. */
const joined = (parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

describe('page calls', () => {
  it('an image batch crosses as its own bytes, after its batch size and k', () => {
    const pixels = Uint8Array.from({ length: 300 }, (_, i) => i & 255);
    const parts = encodeCall(7, { op: 'infer', args: { batch: 2, k: 5, pixels } });
    assert.equal(parts[1], pixels, 'the pixels are sent as they are, not copied');
    assert.equal(joined(parts).length, 16 + pixels.length);
    assert.deepEqual(decodeCall(joined(parts)), { id: 7, tenant: 0, openAnother: false, call: { op: 'infer', args: { batch: 2, k: 5, pixels } } });
    markOpenAnother(parts[0]!);
    assert.equal(decodeCall(joined(parts)).openAnother, true, 'the flag a hand-over may set in the header');
  });

  it("a batch given as its images reads back as the images joined, none copied on the gateway's side", () => {
    const images = [Uint8Array.of(1, 2, 3), Uint8Array.of(4, 5, 6)];
    const parts = encodeCall(1, { op: 'infer', args: { batch: 2, k: 1, pixels: images } });
    assert.deepEqual(parts.slice(1), images);
    assert.ok(parts[1] === images[0] && parts[2] === images[1]);
    assert.deepEqual(decodeCall(joined(parts)).call.args, { batch: 2, k: 1, pixels: Uint8Array.of(1, 2, 3, 4, 5, 6) });
  });

  it('a tensor crosses with its dims, floats exact, whatever the offset of the bytes it arrives in', () => {
    const data = Float32Array.of(1.5, -0, Number.MAX_VALUE, 1e-45, Number.NaN, 3);
    const bytes = joined(encodeCall(2 ** 32 - 1, { op: 'runTensor', args: { dims: [1, 2, 3], data } }));
    assert.deepEqual(decodeCall(bytes).call.args, { dims: [1, 2, 3], data });
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const { id, call } = decodeCall(shifted.subarray(1));
    assert.equal(id, 2 ** 32 - 1);
    assert.equal(call.op, 'runTensor');
    assert.deepEqual(call.args, { dims: [1, 2, 3], data });
  });

  it("a handler's items cross as their own bytes, with their lengths and each one's numbers", () => {
    const items = [Uint8Array.of(1, 2, 3), new Uint8Array(0), Uint8Array.of(9)];
    const meta = Float32Array.of(640, 480, 0.5, 1, 2, 3, 4, 5, 6);
    const parts = encodeCall(3, { op: 'handle', args: { items, metaWidth: 3, meta } });
    assert.ok(
      parts.slice(2).every((p, i) => p === items[i]),
      'the items are sent as they are, not copied',
    );
    assert.deepEqual(decodeCall(joined(parts)), { id: 3, tenant: 0, openAnother: false, call: { op: 'handle', args: { items, metaWidth: 3, meta } } });
    const longer = joined([...parts, Uint8Array.of(0)]);
    assert.throws(() => decodeCall(longer), /1 bytes past its items/);
    assert.throws(() => decodeCall(joined(parts).subarray(0, 20)), ProtocolError);
  });

  it('a load request crosses whole', () => {
    const req = { model: 'm', version: '1.0', maxBatch: 8, normalisation: { size: 224, mean: [0.5, 0.5, 0.5] } } as unknown as LoadRequest;
    assert.deepEqual(decodeCall(joined(encodeCall(1, { op: 'load', args: req }))), { id: 1, tenant: 0, openAnother: false, call: { op: 'load', args: req } });
  });

  it("a call names the model's place in a shared page, and an unload is its header alone", () => {
    const parts = encodeCall(5, { op: 'infer', args: { batch: 1, k: 1, pixels: new Uint8Array(3) } }, 0xfffe);
    markOpenAnother(parts[0]!);
    const { tenant, openAnother } = decodeCall(joined(parts));
    assert.deepEqual({ tenant, openAnother }, { tenant: 0xfffe, openAnother: true }, 'the tenant beside the flag, neither overwriting the other');
    const unload = joined(encodeCall(6, { op: 'unload', args: {} }, 3));
    assert.equal(unload.length, 8);
    assert.deepEqual(decodeCall(unload), { id: 6, tenant: 3, openAnother: false, call: { op: 'unload', args: {} } });
    assert.throws(() => decodeCall(joined([unload, Uint8Array.of(0)])), /past its header/);
    assert.throws(() => encodeCall(1, { op: 'unload', args: {} }, MAX_TENANTS), /not a u16/);
    const reply = decodeReply(encodeReply(6, 'unload', { ok: true, value: { released: true } }));
    assert.deepEqual(reply, { id: 6, op: 'unload', reply: { ok: true, value: { released: true } } });
  });

  it('refuses a call of an unknown op, or one cut inside its header', () => {
    const bytes = joined(encodeCall(1, { op: 'infer', args: { batch: 1, k: 1, pixels: new Uint8Array(3) } }));
    bytes[0] = 9;
    assert.throws(() => decodeCall(bytes), ProtocolError);
    assert.throws(() => decodeCall(joined(encodeCall(1, { op: 'runTensor', args: { dims: [4], data: new Float32Array(4) } })).subarray(0, 10)), /cut short/);
  });
});

describe('page replies', () => {
  it('the top k of a batch come back as int32 and float32, with the run facts', () => {
    const value: InferReply = {
      calledAt: 1.7e12 + 0.25,
      k: 2,
      ranBatch: 4,
      normaliseMs: 1.5,
      waitMs: 0.125,
      runMs: 20.75,
      rankMs: 0.0625,
      classes: Int32Array.of(1, 999, -1, 2 ** 31 - 1),
      probabilities: Float32Array.of(0.5, 0.25, 1, 0),
    };
    const back = decodeReply(Buffer.from(encodeReply(3, 'infer', { ok: true, value })));
    assert.deepEqual(back, { id: 3, op: 'infer', reply: { ok: true, value } });
  });

  it("a handler's answers come back as the texts they were, with the run facts, whatever their count", () => {
    for (const answers of [['[{"dog":[1,2,3,4],"score":0.5}]'], ['[]', '{"é":"✓"}'], []]) {
      const value: HandleReply = { calledAt: 1, prepareMs: 2, waitMs: 3, runMs: 4, answerMs: 5, ranBatch: 4, answers };
      assert.deepEqual(decodeReply(encodeReply(9, 'handle', { ok: true, value })), { id: 9, op: 'handle', reply: { ok: true, value } });
    }
  });

  it("a tensor's output comes back with its dims", () => {
    const value: TensorReply = { calledAt: 5, runMs: 3, waitMs: 1, dims: [2, 1000], output: Float32Array.from({ length: 2000 }, (_, i) => i / 7) };
    assert.deepEqual(decodeReply(encodeReply(4, 'runTensor', { ok: true, value })), { id: 4, op: 'runTensor', reply: { ok: true, value } });
  });

  it("a model's description and an error reply come back as they went", () => {
    const info = { backend: 'wasm', batchSizes: [1, 2], loadSteps: { 'fetch model': 3 } } as unknown as ModelRuntimeInfo;
    assert.deepEqual(decodeReply(encodeReply(1, 'load', { ok: true, value: info })).reply, { ok: true, value: info });
    const failed = { ok: false as const, error: { kind: 'input' as const, message: 'batch 9 is larger than the largest batch size 8 — ✓' } };
    assert.deepEqual(decodeReply(encodeReply(2, 'infer', failed)), { id: 2, op: 'infer', reply: failed });
  });

  it('a reply cut short on its way is told from a whole one', () => {
    const whole = encodeReply(6, 'runTensor', { ok: true, value: { calledAt: 0, runMs: 0, waitMs: 0, dims: [3], output: new Float32Array(3) } });
    assert.throws(() => decodeReply(whole.subarray(0, whole.length - 4)), /the reply to call 6 has \d+ of its \d+ bytes/);
    assert.throws(() => decodeReply(whole.subarray(0, 5)), /cut short/);
  });
});
