// KServe v1 predict request parsing, pure: every malformed request is a 400 naming what is wrong.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ApiError } from '../../server/errors.js';
import { decodeBase64, MAX_INSTANCES, parseInstances } from '../../server/kserve/kserve-v1.js';
import { readImage } from '../support/paths.js';

const kitten = readImage('kitten.jpg');
const dog = readImage('dog_malamute.jpg');
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const is400 = (re: RegExp) => (e: unknown) => e instanceof ApiError && e.status === 400 && re.test(e.message);
const parse = (json: unknown, max: number = MAX_INSTANCES) => parseInstances(Buffer.from(typeof json === 'string' ? json : JSON.stringify(json)), max);

describe('KServe v1 request parsing', () => {
  it('decodes base64 as Buffer writes it, padded or not, across line breaks', () => {
    for (const length of [1, 2, 3, 4, 5, 57, 1000]) {
      const bytes = randomBytes(length);
      const text = bytes.toString('base64');
      assert.deepEqual(decodeBase64(text), bytes);
      assert.deepEqual(decodeBase64(text.replace(/=+$/, '')), bytes, 'unpadded');
      assert.deepEqual(decodeBase64(text.replace(/(.{76})/g, '$1\n')), bytes, 'wrapped');
    }
  });

  it('refuses what is not standard base64, where Buffer would skip it', () => {
    for (const text of ['not base64!', 'QUJD-', 'QUJD_', 'Q', 'QUJDR', 'QQ=', 'QQ===', 'Q=Q=', '==', 'QUJD\u00e9']) assert.equal(decodeBase64(text), null, text);
  });

  it('takes the data as a string or {"b64": ...}, under "data" or "body", in order', () => {
    const images = parse({ instances: [{ data: b64(kitten) }, { data: { b64: b64(dog) } }, { body: b64(dog) }] });
    assert.deepEqual(images, [kitten, dog, dog]);
  });

  it('refuses every malformed request with 400, naming the instance', () => {
    for (const [body, re] of [
      ['not json', /not valid JSON/],
      ['[1]', /JSON object/],
      [{}, /no "instances"/],
      [{ instances: [] }, /no "instances"/],
      [{ instances: {} }, /no "instances"/],
      [{ instances: [{ data: b64(kitten) }, 5] }, /^instances\[1\] must be an object/],
      [{ instances: [{ data: b64(kitten) }, {}] }, /^instances\[1\] has no "data"/],
      [{ instances: [{ data: 7 }] }, /^instances\[0\]: "data" must be a base64 string/],
      [{ instances: [{ data: { b64: 7 } }] }, /^instances\[0\]: "data" must be a base64 string/],
      [{ instances: [{ data: b64(kitten) }, { data: 'not base64!' }] }, /^instances\[1\]: "data" is not base64/],
      [{ instances: [{ data: '' }] }, /^instances\[0\]: "data" is empty/],
      [{ instances: [{ data: b64(Buffer.from('hello, this is text')) }] }, /^instances\[0\]: "data" is not a supported image \(it looks like text\)/],
      [{ instances: [[[[[[[[[1]]]]]]]]] }, /nests deeper than 8/],
    ] as const) {
      assert.throws(() => parse(body), is400(re), JSON.stringify(body).slice(0, 80));
    }
  });

  it('takes at most the bound it is given, and never more than MAX_INSTANCES', () => {
    const instances = (n: number) => ({ instances: Array.from({ length: n }, () => ({ data: b64(kitten) })) });
    assert.equal(parse(instances(3), 3).length, 3);
    assert.throws(() => parse(instances(4), 3), is400(/4 instances, more than 3: .*job_queue_size/));
    assert.equal(MAX_INSTANCES, 64);
  });
});
