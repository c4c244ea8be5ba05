// The DevTools CBOR dialect: what we write is what Chromium's parser accepts (envelopes, indefinite
// maps, int32, tagged binary), and what Chromium writes reads back, binary as bytes.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BinaryParts, CborError, decodeMessage, encodeMessage, MessageFramer } from '../../server/devtools/cbor.js';

const bytesOf = (m: Record<string, unknown>) => Buffer.concat(encodeMessage(m));

describe('CBOR messages', () => {
  it('round-trips what JSON carries', () => {
    const message = {
      id: 7,
      method: 'Runtime.evaluate',
      sessionId: 'ABCDEF',
      params: { expression: '1 + 1', awaitPromise: true, returnByValue: false, timeout: 1.5, depth: -3, big: 2 ** 40, nothing: null, list: [1, 'two', [3], { four: 4 }], empty: {}, none: [] },
    };
    assert.deepEqual(decodeMessage(bytesOf(message)), message);
  });

  it('writes an envelope holding an indefinite-length map, as Chromium does', () => {
    const b = bytesOf({ id: 1 });
    assert.deepEqual([...b.subarray(0, 2)], [0xd8, 0x5a]);
    assert.equal(b.readUInt32BE(2), b.length - 6);
    assert.equal(b[6], 0xbf);
    assert.equal(b[b.length - 1], 0xff);
  });

  it('keeps integers to int32 and sends the rest as doubles', () => {
    for (const n of [0, 23, 24, 255, 256, 65535, 65536, 2 ** 31 - 1, -1, -24, -25, -(2 ** 31)]) {
      const b = bytesOf({ n });
      assert.equal(decodeMessage(b)['n'], n);
      assert.ok(!b.includes(0xfb), `${n} should be an integer`);
    }
    for (const n of [2 ** 31, -(2 ** 31) - 1, 0.5, -0]) {
      const b = bytesOf({ n });
      assert.ok(b.includes(0xfb), `${n} should be a double`);
      assert.ok(Object.is(decodeMessage(b)['n'], n));
    }
  });

  it('sends non-ASCII text as UTF-16 and reads both string forms', () => {
    const text = 'größe ✓ 𝄞';
    assert.equal(decodeMessage(bytesOf({ text }))['text'], text);
  });

  it('sends bytes as tagged binary, unconverted, and reads binary back as the same bytes', () => {
    const body = new Uint8Array(100_000).map((_, i) => (i * 7) & 255);
    const chunks = encodeMessage({ params: { body } });
    // The payload is referenced, not copied.
    assert.ok(chunks.includes(body));
    const b = Buffer.concat(chunks);
    const at = b.indexOf(0xd6);
    assert.ok(at > 0 && b[at + 1] === 0x5a, 'tag 22, then a byte string with a 32-bit length');
    assert.deepEqual(new Uint8Array((decodeMessage(b)['params'] as { body: Uint8Array }).body), body);
  });

  it('reads the standard envelope form (tag number byte present) too', () => {
    // d8 18 5a <len> { "id": 3 }
    const map = [0xbf, 0x62, 0x69, 0x64, 0x03, 0xff];
    const standard = Buffer.from([0xd8, 0x18, 0x5a, 0, 0, 0, map.length, ...map]);
    assert.deepEqual(decodeMessage(standard), { id: 3 });
    assert.equal(new MessageFramer(100).push(standard).length, 1);
  });

  it('refuses what is not a message', () => {
    assert.throws(() => decodeMessage(Buffer.from([0xbf, 0xff])), CborError);
    assert.throws(() => decodeMessage(bytesOf({ a: 1 }).subarray(0, 8)), CborError);
    assert.throws(() => decodeMessage(Buffer.concat([bytesOf({ a: 1 }), Buffer.from([0])])), CborError);
  });
});

describe('MessageFramer', () => {
  it('splits a stream into messages wherever the chunks are cut', () => {
    const messages = [{ id: 1 }, { method: 'Fetch.requestPaused', params: { requestId: 'r', body: new Uint8Array(5000) } }, { id: 2, result: {} }];
    const stream = Buffer.concat(messages.map(bytesOf));
    for (const size of [1, 3, 7, 100, stream.length]) {
      const framer = new MessageFramer(1 << 20);
      const out: Buffer[] = [];
      for (let i = 0; i < stream.length; i += size) out.push(...framer.push(stream.subarray(i, i + size)));
      assert.deepEqual(
        out.map((m) => decodeMessage(m)['id'] ?? decodeMessage(m)['method']),
        [1, 'Fetch.requestPaused', 2],
      );
    }
  });

  it('refuses a message over its limit and a stream that is not CBOR', () => {
    assert.throws(() => new MessageFramer(100).push(bytesOf({ big: 'x'.repeat(200) })), /over the 100-byte limit/);
    assert.throws(() => new MessageFramer(100).push(Buffer.from('{"id":1}\0')), CborError);
  });
});

describe('BinaryParts', () => {
  it('is written as the one binary value its parts make, each part referenced, not copied', () => {
    const head = Uint8Array.of(1, 2, 3);
    const big = new Uint8Array(50_000).map((_, i) => i & 255);
    const chunks = encodeMessage({ params: { body: new BinaryParts([head, big]) } });
    assert.ok(chunks.includes(big));
    const joined = new Uint8Array(head.length + big.length);
    joined.set(head);
    joined.set(big, head.length);
    assert.deepEqual(Buffer.concat(chunks), bytesOf({ params: { body: joined } }));
  });
});
