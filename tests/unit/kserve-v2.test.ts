// KServe v2 request parsing, pure: every malformed shape of request is a 400.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../server/errors.js';
import { flatten, inputTensor, nestingExceeds, parseRequest } from '../../server/kserve-v2.js';
import { parseModelConfig } from '../../server/model-config.js';
import type { ModelVersion } from '../../server/model-store.js';
import { deeplyNestedV2Request } from '../../scripts/hostile/inputs.js';

const model = { name: 'm', version: '1', config: parseModelConfig({ input_name: 'input', output_name: 'output' }) } as ModelVersion;
const is400 = (re: RegExp) => (e: unknown) => e instanceof ApiError && e.status === 400 && re.test(e.message);
const parse = (json: unknown) => parseRequest(Buffer.from(typeof json === 'string' ? json : JSON.stringify(json)), null);

describe('KServe v2 request parsing', () => {
  it('refuses every malformed request with 400 and what is wrong', () => {
    const input = { name: 'input', shape: [1, 3, 224, 224], datatype: 'FP32', data: [0] };
    for (const [body, re] of [
      ['not json', /not valid JSON/],
      ['[1]', /JSON object/],
      ['null', /JSON object/],
      [{}, /no "inputs"/],
      [{ inputs: [null] }, /inputs\[0\] must be an object/],
      [{ inputs: [5] }, /inputs\[0\] must be an object/],
      [{ inputs: [{ shape: [1], datatype: 'FP32' }] }, /needs a "name"/],
      [{ inputs: [{ name: 'input', shape: 'x', datatype: 'FP32' }] }, /"shape" array/],
      [{ inputs: [{ name: 'input', shape: [1] }] }, /"datatype"/],
      [{ inputs: [{ ...input, parameters: 'x' }] }, /"parameters" of input/],
      [{ inputs: [input], outputs: 'x' }, /"outputs" must be an array/],
      [{ inputs: [input], outputs: [null] }, /"outputs" must be an array of objects/],
      [{ inputs: [input], parameters: [] }, /"parameters" must be an object/],
      [{ inputs: [input], id: 7 }, /"id" must be a string/],
      [deeplyNestedV2Request(100_000), /nests deeper than 32/],
    ] as const) {
      assert.throws(() => parse(body), is400(re), JSON.stringify(body).slice(0, 80));
    }
  });

  it('refuses a shape that claims more values than the request carries, before allocating them', () => {
    const { request, binary } = parse({ inputs: [{ name: 'input', shape: [1e9, 3, 224, 224], datatype: 'FP32', data: [1] }] });
    assert.throws(() => inputTensor(model, request, binary), is400(/more than the request carries/));
  });

  it('reads binary output wishes from either place', () => {
    const input = { name: 'input', shape: [1, 3, 224, 224], datatype: 'FP32', data: [] };
    assert.equal(parse({ inputs: [input] }).request.binaryOutput, false);
    assert.equal(parse({ inputs: [input], parameters: { binary_data_output: true } }).request.binaryOutput, true);
    assert.equal(parse({ inputs: [input], outputs: [{ name: 'output', parameters: { binary_data: true } }] }).request.binaryOutput, true);
  });

  it('flattens flat or nested data iteratively, and nothing else', () => {
    assert.deepEqual([...flatten([1, 2, 3, 4], 4, 2)!], [1, 2, 3, 4]);
    assert.deepEqual(
      [
        ...flatten(
          [
            [1, 2],
            [3, 4],
          ],
          4,
          2,
        )!,
      ],
      [1, 2, 3, 4],
    );
    assert.equal(flatten([[[1]]], 1, 2), null, 'deeper than the shape');
    assert.equal(flatten([1, 2, 3], 4, 1), null, 'too few');
    assert.equal(flatten([1, 2, 3, 4, 5], 4, 1), null, 'too many');
    assert.equal(flatten([1, '2'], 2, 1), null);
    assert.equal(flatten([1, null], 2, 1), null);
    assert.equal(flatten('abc', 3, 1), null);
    let deep: unknown = [1];
    for (let i = 0; i < 100_000; i++) deep = [deep];
    assert.equal(flatten(deep, 1, 4), null, 'no stack overflow');
  });

  it('measures nesting outside strings only', () => {
    assert.equal(nestingExceeds(Buffer.from('{"a":"[[[[[[["}'), 2), false);
    assert.equal(nestingExceeds(Buffer.from('{"a":"\\"[[[["}'), 2), false);
    assert.equal(nestingExceeds(Buffer.from('[[[1]]]'), 2), true);
    assert.equal(nestingExceeds(Buffer.from('[[1]]'), 2), false);
  });
});
