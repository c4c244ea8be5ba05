// Dynamic batching and the bounded queue through the real browser: requests that arrive
// together run as one batch, each still gets its own answer, and a full queue says 503 at once
// (shown with the page held still, so that nothing is served while the refusals come).

import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningServer } from '../../../server/server.js';
import { EXPECTED, LABELS, readImage } from '../../support/paths.js';
import { freezePage } from '../../support/frozen-page.js';
import { sendWhileHeld } from '../../support/held-requests.js';
import { call, postImage, type Answer } from '../../support/server-harness.js';
import type { ServerSource } from '../../support/shared-server.js';
import { until } from '../../support/until.js';

const FILES = Object.keys(EXPECTED);

// `mobilenet_v2` as shipped: batches of up to 4, no wait for company but for images of it still
// decoding (the server's max_batch_decode_wait, long enough here for any machine); a queue of six.
export const batchingSuite = (shared: ServerSource) =>
  describe('dynamic batching on WASM', () => {
    let server: RunningServer;
    let api: string;

    before(async () => {
      server = await shared();
      api = server.inferenceUrl;
    });

    it('runs every batch size, warmed up before it is healthy', async () => {
      assert.equal((await call(`${api}/ping`)).status, 200);
      const [d] = (await call(`${server.managementUrl}/models/mobilenet_v2`)).body;
      assert.deepEqual(d.batchSizes, [1, 2, 3, 4]);
      assert.equal(d.batchSize, 4);
      assert.ok(d.loadSteps['warm-up'] >= 0);
    });

    it('batches concurrent requests and gives each its own answer', async () => {
      const singles = new Map<string, unknown>();
      for (const f of FILES) singles.set(f, (await postImage(`${api}/predictions/mobilenet_v2`, readImage(f))).body);
      // Five different images, twice over, all at once: batches mix images.
      const order = [...FILES, ...FILES];
      let next = 0;
      const answers = await sendWhileHeld(server.managementUrl, 'mobilenet_v2', order.length, () => postImage(`${api}/predictions/mobilenet_v2`, readImage(order[next++]!)));
      const ok = answers.filter((a) => a.status === 200);
      assert.ok(ok.length >= 6, `${ok.length} answered`);
      const batched = ok.filter((a) => Number(a.headers.get('x-batch-size')) > 1);
      assert.ok(batched.length > 0, 'some requests shared a batch');
      answers.forEach((a, i) => {
        if (a.status !== 200) return;
        const file = order[i]!;
        assert.equal(LABELS.indexOf(a.body[0].class), EXPECTED[file]!.expected_top1, `${file} got ${a.body[0].class}`);
        const single = singles.get(file) as Array<{ class: string; probability: number }>;
        a.body.forEach((c: { class: string; probability: number }, r: number) => {
          assert.equal(c.class, single[r]!.class);
          assert.ok(Math.abs(c.probability - single[r]!.probability) < 1e-5, 'a batch answers like a single run');
        });
      });
    });

    it('images received together run together though they reach the queue a decode apart', async () => {
      // Three photos in one KServe v1 request: all three are received before any is decoded, and
      // each reaches the queue when its own decode ends.
      const alone = FILES.slice(0, 3).map((f) => readImage(f));
      const res = await call(`${api}/v1/models/mobilenet_v2:predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances: alone.map((b) => ({ data: Buffer.from(b).toString('base64') })) }),
      });
      assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
      assert.equal(res.headers.get('x-batch-size'), '3', 'one session.run for the three');
      res.body.predictions.forEach((p: Array<{ class: string }>, i: number) => assert.equal(LABELS.indexOf(p[0]!.class), EXPECTED[FILES[i]!]!.expected_top1));
      // A request alone waits for nothing: its batch is itself.
      const single = await postImage(`${api}/predictions/mobilenet_v2`, alone[0]!);
      assert.equal(single.headers.get('x-batch-size'), '1');
    });

    it('a full queue answers 503 with Retry-After at once, and the rest are served', async () => {
      const kitten = readImage('kitten.jpg');
      // The page held still: nothing can be served, so the refusals that come meanwhile came at once.
      const page = await freezePage(server.managementUrl, 'mobilenet_v2');
      let answers: Array<Promise<Answer>> = [];
      try {
        let refusedWhileHeld = 0;
        answers = Array.from({ length: 40 }, () =>
          postImage(`${api}/predictions/mobilenet_v2?topk=1`, kitten).then((a) => {
            if (a.status === 503) refusedWhileHeld++;
            return a;
          }),
        );
        await until('a request refused while the page is held', () => refusedWhileHeld > 0);
      } finally {
        page.thaw();
      }
      const settled = await Promise.all(answers);
      const refused = settled.filter((a) => a.status === 503);
      const served = settled.filter((a) => a.status === 200);
      assert.equal(refused.length + served.length, 40);
      assert.ok(served.length >= 6, 'the queue and the running batch were served');
      for (const r of refused) {
        assert.equal(r.body.type, 'ServiceUnavailableException');
        assert.equal(r.headers.get('retry-after'), '1');
      }
      for (const s of served) assert.equal(s.body[0].class, 'n02123045 tabby, tabby cat');
      assert.equal((await call(`${api}/ping`)).status, 200);
    });

    it('Server-Timing carries the queue stage', async () => {
      const res = await postImage(`${api}/predictions/mobilenet_v2`, readImage('kitten.jpg'));
      assert.match(res.headers.get('server-timing') ?? '', /queue;dur=[\d.]+/);
    });
  });
