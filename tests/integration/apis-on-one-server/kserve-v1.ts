// KServe v1 (TorchServe's kserve envelope) through the real browser: instances answer as
// /predictions answers each image, and run in the same batches as /predictions traffic.

import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningServer } from '../../../server/server.js';
import { readImage } from '../../support/paths.js';
import { call, postImage } from '../../support/server-harness.js';
import type { ServerSource } from '../../support/shared-server.js';

type Ranked = Array<{ class: string; probability: number }>;

const kitten = readImage('kitten.jpg');
const eagle = readImage('bald_eagle.jpg');
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

function assertSameRanking(got: Ranked, want: Ranked, what: string): void {
  assert.deepEqual(
    got.map((r) => r.class),
    want.map((r) => r.class),
    what,
  );
  got.forEach((r, i) => assert.ok(Math.abs(r.probability - want[i]!.probability) < 1e-6, `${what}: ${r.class} ${r.probability} vs ${want[i]!.probability}`));
}

// `pair` waits as long as a model may for company, so two requests sent together always meet;
// `mobilenet_v2` (no wait for company) answers a request sent alone as a batch of one.
export const kserveV1Suite = (shared: ServerSource) =>
  describe('KServe v1 protocol', () => {
    let server: RunningServer;
    let api: string;
    const predict = (instances: unknown[], query = '') =>
      call(`${api}/v1/models/pair:predict${query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances }) });

    before(async () => {
      server = await shared();
      api = server.inferenceUrl;
    });

    it('model readiness, and 404 for an unknown model', async () => {
      const ready = await call(`${api}/v1/models/mobilenet_v2`);
      assert.equal(ready.status, 200);
      assert.deepEqual(ready.body, { name: 'mobilenet_v2', ready: true });
      const unknown = await call(`${api}/v1/models/resnet`);
      assert.equal(unknown.status, 404);
      assert.deepEqual(unknown.body, { error: 'Model not found: resnet' });
      const unknownPredict = await call(`${api}/v1/models/resnet:predict`, { method: 'POST', body: '{}' });
      assert.equal(unknownPredict.status, 404);
      assert.match(unknownPredict.body.error, /resnet/);
    });

    it('two images in one request answer as /predictions does for each, in order, run as one batch', async () => {
      const alone = [(await postImage(`${api}/predictions/mobilenet_v2`, kitten)).body as Ranked, (await postImage(`${api}/predictions/mobilenet_v2`, eagle)).body as Ranked];
      assert.equal(alone[0]![0]!.class, 'n02123045 tabby, tabby cat');
      assert.equal(alone[1]![0]!.class, 'n01614925 bald eagle, American eagle, Haliaeetus leucocephalus');
      const res = await predict([{ data: b64(kitten) }, { data: { b64: b64(eagle) } }]);
      assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
      assert.equal(res.headers.get('x-batch-size'), '2', 'both instances ran in one session.run');
      assert.match(res.headers.get('server-timing') ?? '', /read;dur=.*decode;dur=.*queue;dur=.*transfer;dur=.*infer;dur=.*post;dur=.*total;dur=/);
      assert.equal(res.body.predictions.length, 2);
      assertSameRanking(res.body.predictions[0], alone[0]!, 'the kitten');
      assertSameRanking(res.body.predictions[1], alone[1]!, 'the eagle');
    });

    it('an instance batches with /predictions traffic', async () => {
      const [v1, plain] = await Promise.all([predict([{ data: b64(kitten) }], '?topk=1'), postImage(`${api}/predictions/pair?topk=1`, eagle)]);
      for (const r of [v1, plain]) {
        assert.equal(r.status, 200);
        assert.equal(r.headers.get('x-batch-size'), '2');
      }
      assert.equal(v1.body.predictions[0][0].class, 'n02123045 tabby, tabby cat');
      assert.equal(plain.body[0].class, 'n01614925 bald eagle, American eagle, Haliaeetus leucocephalus');
    });

    it('a bad instance is a 400 {"error"} naming it', async () => {
      const bad = await predict([{ data: b64(kitten) }, { data: 'this is not base64!' }]);
      assert.equal(bad.status, 400);
      assert.deepEqual(bad.body, { error: 'instances[1]: "data" is not base64' });
      const notImage = await predict([{ data: b64(Buffer.from('just some text, no image')) }]);
      assert.equal(notImage.status, 400);
      assert.match(notImage.body.error, /^instances\[0\]: "data" is not a supported image/);
      assert.equal((await call(`${api}/ping`)).status, 200);
    });
  });
