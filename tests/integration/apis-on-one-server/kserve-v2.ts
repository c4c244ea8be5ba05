// KServe v2 / Open Inference Protocol through the real browser, with requests built from the
// protocol's specification: JSON tensors, and a binary request assembled byte by byte.

import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { softmax, topK } from '../../../browser-runtime/top-k.js';
import type { RunningServer } from '../../../server/server.js';
import { readImage } from '../../support/paths.js';
import { bytesOf, kittenTensor } from '../../support/kitten-tensor.js';
import { call, postImage } from '../../support/server-harness.js';
import type { ServerSource } from '../../support/shared-server.js';

// `pair` waits as long as a model may for company, so two requests sent together always meet
// however slowly the second is parsed; `mobilenet_v2` (no wait for company) answers a request sent
// alone as a batch of one.
export const kserveV2Suite = (shared: ServerSource) =>
  describe('KServe v2 protocol', () => {
    let server: RunningServer;
    let api: string;
    let tensor: Float32Array;

    before(async () => {
      server = await shared();
      api = server.inferenceUrl;
      // The kitten, preprocessed as a Triton client would: FP32 NCHW, ImageNet mean/std.
      tensor = await kittenTensor();
    });

    it('server and model health, and metadata with -1 for the batch dimension', async () => {
      assert.equal((await call(`${api}/v2`)).body.extensions.includes('binary_tensor_data'), true);
      assert.equal((await call(`${api}/v2/health/live`)).status, 200);
      assert.equal((await call(`${api}/v2/health/ready`)).status, 200);
      assert.equal((await call(`${api}/v2/models/pair/ready`)).status, 200);
      assert.equal((await call(`${api}/v2/models/pair/versions/1.0/ready`)).status, 200);
      const meta = (await call(`${api}/v2/models/pair`)).body;
      assert.deepEqual(meta.inputs, [{ name: 'input', datatype: 'FP32', shape: [-1, 3, 224, 224] }]);
      assert.deepEqual(meta.outputs, [{ name: 'output', datatype: 'FP32', shape: [-1, 1000] }]);
      assert.deepEqual(meta.versions, ['1.0']);
    });

    it('JSON tensors in and out: the kitten is a tabby, as on /predictions', async () => {
      const res = await call(`${api}/v2/models/mobilenet_v2/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: 'k1', inputs: [{ name: 'input', shape: [1, 3, 224, 224], datatype: 'FP32', data: Array.from(tensor) }] }),
      });
      assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
      assert.equal(res.body.id, 'k1');
      const out = res.body.outputs[0];
      assert.deepEqual(out.shape, [1, 1000]);
      const p = softmax(out.data);
      assert.equal(topK(p, 1)[0], 281);
      const viaPredictions = (await postImage(`${api}/predictions/mobilenet_v2?topk=1`, readImage('kitten.jpg'))).body[0].probability;
      assert.ok(Math.abs(p[281]! - viaPredictions) < 1e-4, `${p[281]} vs ${viaPredictions}`);
    });

    it('binary tensor data extension: a request assembled byte by byte, binary output back', async () => {
      const header = Buffer.from(
        JSON.stringify({
          inputs: [{ name: 'input', shape: [2, 3, 224, 224], datatype: 'FP32', parameters: { binary_data_size: tensor.byteLength * 2 } }],
          outputs: [{ name: 'output', parameters: { binary_data: true } }],
        }),
      );
      const data = Buffer.alloc(tensor.byteLength * 2);
      for (let i = 0; i < tensor.length; i++) {
        data.writeFloatLE(tensor[i]!, i * 4);
        data.writeFloatLE(0, (tensor.length + i) * 4); // a second, blank image
      }
      const res = await fetch(`${api}/v2/models/pair/versions/1.0/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
        body: Buffer.concat([header, data]),
      });
      assert.equal(res.status, 200);
      const body = Buffer.from(await res.arrayBuffer());
      const jsonLength = Number(res.headers.get('inference-header-content-length'));
      const reply = JSON.parse(body.subarray(0, jsonLength).toString('utf8'));
      assert.deepEqual(reply.outputs[0].shape, [2, 1000]);
      assert.equal(reply.outputs[0].parameters.binary_data_size, 2 * 1000 * 4);
      const logits = Array.from({ length: 2000 }, (_, i) => body.readFloatLE(jsonLength + i * 4));
      assert.equal(topK(softmax(logits.slice(0, 1000)), 1)[0], 281, 'the kitten');
      assert.notDeepEqual(logits.slice(0, 1000), logits.slice(1000), 'the blank image answers differently');
    });

    it("binary inputs are read each from its own bytes: the model's input sent second, after a decoy, answers as it does alone", async () => {
      const inferBinary = async (inputs: Array<{ name: string; tensor: Float32Array }>) => {
        const header = Buffer.from(
          JSON.stringify({ inputs: inputs.map(({ name, tensor: t }) => ({ name, shape: [1, 3, 224, 224], datatype: 'FP32', parameters: { binary_data_size: t.byteLength } })) }),
        );
        // Sent one at a time: to the model that answers alone, not to the one that waits for company.
        return call(`${api}/v2/models/mobilenet_v2/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
          body: Buffer.concat([header, ...inputs.map(({ tensor: t }) => bytesOf(t))]),
        });
      };
      // A decoy the model would answer differently: a blank image of the same shape.
      const decoy = { name: 'other', tensor: new Float32Array(tensor.length) };
      const alone = await inferBinary([{ name: 'input', tensor }]);
      const second = await inferBinary([decoy, { name: 'input', tensor }]);
      const decoyAlone = await inferBinary([{ name: 'input', tensor: decoy.tensor }]);
      for (const r of [alone, second, decoyAlone]) assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
      const expected: number[] = alone.body.outputs[0].data;
      const got: number[] = second.body.outputs[0].data;
      assert.equal(got.length, 1000);
      assert.ok(
        got.every((x, i) => Math.abs(x - expected[i]!) < 1e-4),
        'the same logits as the kitten sent alone',
      );
      assert.equal(topK(softmax(got), 1)[0], 281, 'the kitten');
      assert.ok(
        decoyAlone.body.outputs[0].data.some((x: number, i: number) => Math.abs(x - expected[i]!) > 1e-2),
        "the decoy's bytes would have answered otherwise",
      );
    });

    it('binary sizes that do not add up to the bytes after the JSON header are a 400 {"error"}', async () => {
      const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'input', shape: [1, 3, 224, 224], datatype: 'FP32', parameters: { binary_data_size: tensor.byteLength } }] }));
      const r = await call(`${api}/v2/models/pair/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
        body: Buffer.concat([header, bytesOf(tensor), Buffer.alloc(16)]),
      });
      assert.equal(r.status, 400);
      assert.match(r.body.error, /add up to 602112 bytes, but 602128 follow the JSON header/);
    });

    it('requests batch with each other when their shapes allow, each gets its own rows, and the metrics count them', async () => {
      const requests = async () =>
        Number(/ts_inference_requests_total\{model_name="pair",model_version="1.0",hostname="[^"]+",\} (\d+\.\d+)/.exec((await call(`${server.metricsUrl}/metrics`)).body)?.[1] ?? 0);
      const before = await requests();
      const infer = (data: Float32Array, model = 'pair') =>
        call(`${api}/v2/models/${model}/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ inputs: [{ name: 'input', shape: [1, 3, 224, 224], datatype: 'FP32', data: Array.from(data) }] }),
        });
      const alone = await infer(tensor, 'mobilenet_v2');
      assert.equal(alone.headers.get('x-batch-size'), '1');
      const [kitten, blank] = await Promise.all([infer(tensor), infer(new Float32Array(tensor.length))]);
      for (const r of [kitten, blank]) {
        assert.equal(r.status, 200);
        assert.equal(r.headers.get('x-batch-size'), '2', 'both ran in one session.run');
        assert.deepEqual(r.body.outputs[0].shape, [1, 1000]);
        assert.match(r.headers.get('server-timing') ?? '', /read;dur=.*decode;dur=.*queue;dur=.*transfer;dur=.*infer;dur=.*post;dur=.*total;dur=/);
      }
      const batched: number[] = kitten.body.outputs[0].data;
      const solo: number[] = alone.body.outputs[0].data;
      assert.ok(
        batched.every((x, i) => Math.abs(x - solo[i]!) < 1e-4),
        'the kitten answers as it does alone',
      );
      assert.equal(topK(softmax(batched), 1)[0], 281);
      assert.notDeepEqual(blank.body.outputs[0].data, batched, 'the blank image got its own row');
      assert.equal((await requests()) - before, 2, 'v2 predictions are counted with the others');
    });

    it('errors are {"error": ...} with the right status', async () => {
      const post = (path: string, body: string, headers: Record<string, string> = {}) => call(`${api}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
      const missing = await post('/v2/models/resnet/infer', '{}');
      assert.equal(missing.status, 404);
      assert.match(missing.body.error, /resnet/);
      for (const [body, re] of [
        ['not json', /JSON/],
        ['{"inputs": []}', /inputs/],
        [JSON.stringify({ inputs: [{ name: 'input', shape: [1, 3, 100, 100], datatype: 'FP32', data: [1] }] }), /shape/],
        [JSON.stringify({ inputs: [{ name: 'input', shape: [1, 3, 224, 224], datatype: 'INT8', data: [1] }] }), /FP32/],
        [JSON.stringify({ inputs: [{ name: 'input', shape: [1, 3, 224, 224], datatype: 'FP32', data: [1, 2] }] }), /150528 values\), more than the request carries/],
      ] as const) {
        const r = await post('/v2/models/pair/infer', body);
        assert.equal(r.status, 400, body.slice(0, 60));
        assert.match(r.body.error, re);
      }
      const lying = await post('/v2/models/pair/infer', '{"inputs":[]}', { 'inference-header-content-length': '99999' });
      assert.equal(lying.status, 400);
      assert.equal((await call(`${api}/ping`)).status, 200);
    });
  });
