import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { encodeBase64 } from '../../browser-runtime/base64.js';

// The gateway decodes what the page encodes with Buffer.
const decodeBase64 = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));

const LENGTHS = [0, 1, 2, 3, 4, 5, 57, 100, 0x8000 - 1, 0x8000, 0x8000 + 1, 100_000];

describe('base64', () => {
  for (const length of LENGTHS) {
    it(`encodes ${length} random bytes like Buffer does`, () => {
      const bytes = new Uint8Array(randomBytes(length));
      const expected = Buffer.from(bytes).toString('base64');
      const encoded = encodeBase64(bytes);
      assert.equal(encoded, expected);
    });
  }

  it('matches RFC 4648 test vectors', () => {
    const vectors: Array<[string, string]> = [
      ['', ''],
      ['f', 'Zg=='],
      ['fo', 'Zm8='],
      ['foo', 'Zm9v'],
      ['foob', 'Zm9vYg=='],
      ['fooba', 'Zm9vYmE='],
      ['foobar', 'Zm9vYmFy'],
    ];
    for (const [plain, b64] of vectors) {
      assert.equal(encodeBase64(new TextEncoder().encode(plain)), b64, plain);
      assert.equal(new TextDecoder().decode(decodeBase64(b64)), plain, b64);
    }
  });

  it('round-trips every byte value', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    assert.equal(encodeBase64(all), Buffer.from(all).toString('base64'));
    assert.deepEqual([...decodeBase64(encodeBase64(all))], [...all]);
  });

  it('encodes only the bytes of a subarray view', () => {
    const backing = Uint8Array.from([0xde, 0xad, 0xbe, 0xef, 0x01]);
    const view = backing.subarray(1, 4);
    assert.equal(encodeBase64(view), Buffer.from([0xad, 0xbe, 0xef]).toString('base64'));
  });

  it('round-trips float32 data as the runtime sends it', () => {
    const floats = new Float32Array([0, -1.5, Math.PI, 1e-30, -Infinity]);
    const decoded = decodeBase64(encodeBase64(new Uint8Array(floats.buffer)));
    const back = new Float32Array(decoded.buffer, decoded.byteOffset, decoded.byteLength / 4);
    assert.deepEqual([...back], [...floats]);
  });
});
