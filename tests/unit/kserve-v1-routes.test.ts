// KServe v1 routes with a fake engine that answers by the pixels it is sent, so that each
// instance's answer can be told apart from the others'. The same behaviours run through
// Chromium in tests/integration/apis-on-one-server/kserve-v1.ts.

import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { softmax, topK } from '../../browser-runtime/top-k.js';
import { BridgeError } from '../../server/page/bridge-error.js';
import type { ImageResult } from '../../server/page/inference-engine.js';
import type { ModelVersion } from '../../server/store/model-store.js';
import { expressPath } from '../../server/http/operation.js';
import type { RunningServer } from '../../server/server.js';
import { FakeEngine } from '../support/fake-engine.js';
import { readImage } from '../support/paths.js';
import { call, postImage, startTestServer } from '../support/server-harness.js';

const kitten = readImage('kitten.jpg');
const dog = readImage('dog_malamute.jpg');
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

/**
 * Ranks first a class made of the image's first pixel, so images answer apart. With `holdFirst`,
 * the first image sent waits until another has been answered, so it finishes last.
 */
class PixelEngine extends FakeEngine {
  seen = 0;
  holdFirst = false;
  private releaseFirst = () => {};
  override async infer(model: ModelVersion, pixels: Uint8Array, k: number): Promise<ImageResult> {
    this.calls.push({ key: model.key, pixels, k });
    if (this.failWith) throw this.failWith;
    if (this.seen++ === 0 && this.holdFirst) await new Promise<void>((r) => (this.releaseFirst = r));
    const winner = (pixels[0]! * 7 + pixels[1]! * 3 + pixels[2]!) % 1000;
    const p = softmax(Array.from({ length: 1000 }, (_, i) => (i === winner ? 10 : -i / 100)));
    const top = topK(p, k);
    this.releaseFirst();
    return { classes: Int32Array.from(top), probabilities: Float32Array.from(top.map((i) => p[i]!)), timing: { batch: 1, queueMs: 0, transferMs: 1, inferMs: 1 } };
  }
}

it("the predict path's colon is literal in Express, the model name a parameter", () => {
  assert.equal(expressPath('/v1/models/{model_name}:predict'), '/v1/models/:model_name\\:predict');
});

describe('KServe v1 routes (fake engine)', () => {
  let server: RunningServer;
  let engine: PixelEngine;
  let api: string;
  const predict = (body: unknown, query = '') =>
    call(`${api}/v1/models/mobilenet_v2:predict${query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  before(async () => {
    engine = new PixelEngine();
    server = await startTestServer({ job_queue_size: '3' }, engine);
    api = server.inferenceUrl;
  });
  after(() => server.close());
  beforeEach(() => {
    engine.healthyNow = true;
    engine.failWith = null;
    engine.calls = [];
    engine.seen = 0;
    engine.holdFirst = false;
  });

  it('answers each instance as /predictions answers its image, in instance order, topk included', async () => {
    const alone = [(await postImage(`${api}/predictions/mobilenet_v2?topk=2`, kitten)).body, (await postImage(`${api}/predictions/mobilenet_v2?topk=2`, dog)).body];
    assert.notDeepEqual(alone[0], alone[1], 'the engine tells the images apart');
    engine.holdFirst = true;
    const res = await predict({ instances: [{ data: b64(kitten) }, { data: { b64: b64(dog) } }] }, '?topk=2');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { predictions: alone });
    assert.equal(res.headers.get('x-batch-size'), '1');
    assert.match(res.headers.get('server-timing') ?? '', /read;dur=.*decode;dur=.*queue;dur=.*transfer;dur=.*infer;dur=.*post;dur=.*total;dur=/);
    assert.equal((await predict({ instances: [{ data: b64(kitten) }] })).body.predictions[0].length, 5, "the model's topk by default");
  });

  it('a bad instance is a 400 {"error"} naming it, before any image is run', async () => {
    for (const [instances, re] of [
      [[{ data: b64(kitten) }, { data: 'not base64!' }], /^instances\[1\]: "data" is not base64/],
      [[{ data: b64(kitten) }, { data: b64(Buffer.from('plain text, not an image')) }], /^instances\[1\]: "data" is not a supported image/],
      [[{ data: b64(kitten) }, {}], /^instances\[1\] has no "data"/],
      [[{ data: b64(kitten) }, { data: b64(kitten.subarray(0, 200)) }], /^instances\[1\]: The JPEG image could not be (read|decoded)/], // last: instance 0 may run
    ] as const) {
      engine.calls = [];
      const res = await predict({ instances });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.deepEqual(Object.keys(res.body), ['error']);
      assert.match(res.body.error, re);
      if (!/JPEG/.test(String(re))) assert.equal(engine.calls.length, 0, 'nothing ran');
    }
  });

  it('bounds the instances by job_queue_size, and errors are {"error"} under /v1', async () => {
    const four = await predict({ instances: Array.from({ length: 4 }, () => ({ data: b64(kitten) })) });
    assert.equal(four.status, 400);
    assert.match(four.body.error, /4 instances, more than 3/);
    assert.equal((await predict({ instances: [{ data: b64(kitten) }] }, '?topk=0')).status, 400);
    const unknown = await call(`${api}/v1/models/nothing:predict`, { method: 'POST', body: '{}' });
    assert.deepEqual(unknown, { ...unknown, status: 404, body: { error: 'Model not found: nothing' } });
    assert.deepEqual((await call(`${api}/v1/nothing`)).body, { error: 'Requested resource is not found, please refer to API document.' });
    const wrong = await call(`${api}/v1/models/mobilenet_v2:predict`);
    assert.equal(wrong.status, 405, 'GET on :predict is a wrong method, not a model named "mobilenet_v2:predict"');
    assert.equal(wrong.headers.get('allow'), 'POST');
    assert.deepEqual(Object.keys(wrong.body), ['error']);
    engine.failWith = new BridgeError('busy', 'the queue of this model is full (job_queue_size 3)');
    const busy = await predict({ instances: [{ data: b64(kitten) }, { data: b64(dog) }] });
    assert.equal(busy.status, 503);
    assert.equal(busy.headers.get('retry-after'), '1');
    assert.match(busy.body.error, /overloaded/);
  });

  it('model readiness: 200 ready, 503 not, 404 unknown', async () => {
    assert.deepEqual((await call(`${api}/v1/models/mobilenet_v2`)).body, { name: 'mobilenet_v2', ready: true });
    engine.healthyNow = false;
    const sick = await call(`${api}/v1/models/mobilenet_v2`);
    assert.equal(sick.status, 503);
    assert.deepEqual(sick.body, { name: 'mobilenet_v2', ready: false });
    const unknown = await call(`${api}/v1/models/nothing`);
    assert.equal(unknown.status, 404);
    assert.deepEqual(Object.keys(unknown.body), ['error']);
  });
});
