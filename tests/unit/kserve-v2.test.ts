// KServe v2 request parsing, pure: every malformed shape of request is a 400.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../server/errors.js';
import { binaryLayout, flatten, inferResponse, inputTensor, nestingExceeds, parseRequest, type V2Input } from '../../server/kserve/kserve-v2.js';
import { parseModelConfig } from '../../server/store/model-config.js';
import type { ModelVersion } from '../../server/store/model-store.js';
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

  it('places each binary input after the binary inputs before it; JSON inputs take no bytes', () => {
    const binaryInput = (name: string, size: number): V2Input => ({ name, shape: [size / 4], datatype: 'FP32', parameters: { binary_data_size: size } });
    const jsonInput: V2Input = { name: 'j', shape: [1], datatype: 'FP32', data: [1] };
    assert.deepEqual(binaryLayout([binaryInput('a', 8), binaryInput('b', 12)], 20), [
      { offset: 0, size: 8 },
      { offset: 8, size: 12 },
    ]);
    assert.deepEqual(binaryLayout([jsonInput, binaryInput('a', 8), jsonInput, binaryInput('b', 4)], 12), [null, { offset: 0, size: 8 }, null, { offset: 8, size: 4 }]);
    assert.deepEqual(binaryLayout([binaryInput('a', 0), binaryInput('b', 4)], 4), [
      { offset: 0, size: 0 },
      { offset: 0, size: 4 },
    ]);
    assert.deepEqual(binaryLayout([jsonInput], 0), [null]);
  });

  it('refuses binary sizes that are not whole bytes, inputs sent both ways, and sizes that do not add up to the bytes sent', () => {
    const sized = (size: unknown): V2Input => ({ name: 'a', shape: [1], datatype: 'FP32', parameters: { binary_data_size: size } });
    for (const size of [-4, 1.5, '4', null, Number.MAX_VALUE]) assert.throws(() => binaryLayout([sized(size)], 4), is400(/binary_data_size of input "a" must be a whole number/), String(size));
    assert.throws(() => binaryLayout([{ ...sized(4), data: [1] }], 4), is400(/both "data" and a binary_data_size/));
    assert.throws(() => binaryLayout([sized(4), sized(4)], 12), is400(/add up to 8 bytes, but 12 follow the JSON header/));
    assert.throws(() => binaryLayout([sized(4), sized(8)], 8), is400(/add up to 12 bytes, but 8 follow/));
    assert.throws(() => binaryLayout([{ name: 'j', shape: [1], datatype: 'FP32', data: [1] }], 4), is400(/add up to 0 bytes, but 4 follow/));
    assert.throws(() => binaryLayout([sized(4)], 0), is400(/needs the Inference-Header-Content-Length header/));
  });

  it("reads the model's input from its own bytes, wherever it is listed", () => {
    const tiny = { ...model, config: parseModelConfig({ input_name: 'input', output_name: 'output', preprocessing: { crop: 1 } }) } as ModelVersion;
    const floats = (...xs: number[]) => Buffer.from(new Float32Array(xs).buffer);
    const request = (inputs: unknown[], ...tensors: Buffer[]) => {
      const json = Buffer.from(JSON.stringify({ inputs }));
      return parseRequest(Buffer.concat([json, ...tensors]), json.length);
    };
    const own = { name: 'input', shape: [1, 3, 1, 1], datatype: 'FP32', parameters: { binary_data_size: 12 } };
    const decoy = { name: 'other', shape: [4], datatype: 'FP32', parameters: { binary_data_size: 16 } };
    const second = request([decoy, own], floats(9, 9, 9, 9), floats(1, 2, 3));
    assert.deepEqual([...inputTensor(tiny, second.request, second.binary).data], [1, 2, 3]);
    const first = request([own, decoy], floats(1, 2, 3), floats(9, 9, 9, 9));
    assert.deepEqual([...inputTensor(tiny, first.request, first.binary).data], [1, 2, 3]);
    const besideJson = request([{ name: 'other', shape: [1], datatype: 'FP32', data: [9] }, decoy, own], floats(9, 9, 9, 9), floats(1, 2, 3));
    assert.deepEqual([...inputTensor(tiny, besideJson.request, besideJson.binary).data], [1, 2, 3]);
    const jsonBesideBinary = request([decoy, { name: 'input', shape: [1, 3, 1, 1], datatype: 'FP32', data: [1, 2, 3] }], floats(9, 9, 9, 9));
    assert.deepEqual([...inputTensor(tiny, jsonBesideBinary.request, jsonBesideBinary.binary).data], [1, 2, 3]);
    const wrongSize = request([decoy, { ...own, parameters: { binary_data_size: 8 } }], floats(9, 9, 9, 9), floats(1, 2));
    assert.throws(() => inputTensor(tiny, wrongSize.request, wrongSize.binary), is400(/binary_data_size 8 of input "input" does not match its shape \[1,3,1,1\] in FP32 \(12 bytes\)/));
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

  it('answers the output as JSON data, or as JSON then its bytes when binary output is asked', () => {
    const out = { data: Float32Array.of(0.5, -2), dims: [1, 2] };
    const input = { name: 'input', shape: [1], datatype: 'FP32', data: [0] };
    const asJson = inferResponse(model, parse({ id: 'r1', inputs: [input] }).request, out);
    assert.deepEqual(asJson, { json: '{"model_name":"m","model_version":"1","id":"r1","outputs":[{"name":"output","datatype":"FP32","shape":[1,2],"data":[0.5,-2]}]}' });
    const asBinary = inferResponse(model, parse({ inputs: [input], parameters: { binary_data_output: true } }).request, out);
    assert.ok('body' in asBinary);
    const header = '{"model_name":"m","model_version":"1","outputs":[{"name":"output","datatype":"FP32","shape":[1,2],"parameters":{"binary_data_size":8}}]}';
    assert.equal(asBinary.jsonLength, header.length);
    assert.equal(asBinary.body.subarray(0, asBinary.jsonLength).toString(), header);
    const values = asBinary.body.subarray(asBinary.jsonLength);
    assert.deepEqual([values.readFloatLE(0), values.readFloatLE(4)], [0.5, -2]);
  });
});
