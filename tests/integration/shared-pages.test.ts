// share_pages through the real server and Chromium: worker i of every model in page i, each
// answering as it would alone; a crash of a shared page reloads every model it held, and no
// other page; a model leaving a shared page leaves the others serving from it.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { ChromiumEngine } from '../../server/page/chromium-engine.js';
import type { RunningServer } from '../../server/server.js';
import { EXPECTED, FIXTURES, readImage } from '../support/paths.js';
import { call, postImage, startTestServer } from '../support/server-harness.js';
import { tempStore } from '../support/temp-store.js';
import { until } from '../support/until.js';

const kitten = readImage('kitten.jpg');

interface Worker {
  id: number;
  pid: number | null;
  status: string;
}

describe('models sharing pages (share_pages)', () => {
  const store = tempStore([
    // One image a run, so that each (re)load warms up no larger batch.
    { name: 'fp32', from: 'mobilenet_v2', config: { batch_size: 1 } },
    { name: 'text', from: 'tiny_sentiment', files: { 'tokenizer.json': path.join(FIXTURES, 'text-model-store', 'tiny_sentiment', 'tokenizer.json') } },
    // Two workers: its second is alone in page 1.
    { name: 'nil', from: 'null_model', config: { batch_size: 1, workers: 2 } },
  ]);
  let server: RunningServer;
  let api: string;
  let engine: ChromiumEngine;

  const workers = async (model: string): Promise<Worker[]> => (await call(`${server.managementUrl}/models/${model}`)).body[0].workers;
  const allReady = async (models: string[]) => (await Promise.all(models.map(workers))).flat().every((w) => w.status === 'READY');

  /** What each model answers as it would in a page of its own. */
  const answers: Record<string, () => Promise<void>> = {
    fp32: async () => {
      const cat = await postImage(`${api}/predictions/fp32`, kitten);
      assert.equal(cat.status, 200, JSON.stringify(cat.body));
      assert.equal(cat.body[0].class, EXPECTED['kitten.jpg']!.expected_top1_label);
      assert.ok(Math.abs(cat.body[0].probability - EXPECTED['kitten.jpg']!.fp32_dequant_top1_prob!) < 1e-3, JSON.stringify(cat.body[0]));
    },
    text: async () => {
      const review = await postImage(`${api}/predictions/text`, new TextEncoder().encode('a terrible, boring film'), 'POST', 'text/plain');
      assert.equal(review.status, 200, JSON.stringify(review.body));
      assert.ok(review.body['negative'] > 0.98, JSON.stringify(review.body));
    },
    nil: async () => assert.equal((await postImage(`${api}/predictions/nil`, kitten)).status, 200),
  };
  const answerRight = async (models = ['fp32', 'text', 'nil']) => {
    for (const m of models) await answers[m]!();
  };

  before(async () => {
    server = await startTestServer({ model_store: store.root, backend: 'wasm', wasm_threads: '1', share_pages: 'true' });
    api = server.inferenceUrl;
    engine = server.engine as ChromiumEngine;
  });
  after(async () => {
    await server?.close();
    store.remove();
  });

  it('worker i of every model is in page i, and each model answers as alone', async () => {
    const [fp32, text, nil] = await Promise.all(['fp32', 'text', 'nil'].map(workers));
    const page0 = fp32![0]!.pid;
    assert.ok(page0 && page0 > 0, JSON.stringify(fp32));
    assert.deepEqual([text![0]!.pid, nil![0]!.pid], [page0, page0]);
    assert.ok(nil![1]!.pid && nil![1]!.pid !== page0, 'worker 1 has a page of its own');
    assert.equal(await engine.pageCount(), 2);
    await answerRight();
  });

  it('a crash of a shared page reloads every model it held into one fresh page; the other page is untouched', async () => {
    const before = (await workers('fp32'))[0]!.pid;
    const second = (await workers('nil'))[1]!.pid;
    await engine.crashWorker('text/1.0');
    await until('the fp32 model unavailable', async () => (await workers('fp32'))[0]!.status !== 'READY');
    await until('every model ready again', () => allReady(['fp32', 'text', 'nil']));
    const [fp32, text, nil] = await Promise.all(['fp32', 'text', 'nil'].map(workers));
    const fresh = fp32![0]!.pid;
    assert.ok(fresh && fresh !== before, 'a new renderer');
    assert.deepEqual([text![0]!.pid, nil![0]!.pid, nil![1]!.pid], [fresh, fresh, second]);
    assert.equal(await engine.pageCount(), 2, 'the crashed page is gone, not left behind');
    const metrics = await (await fetch(`${server.metricsUrl}/metrics`)).text();
    for (const model of ['fp32', 'text', 'nil']) assert.match(metrics, new RegExp(`^ts_page_restarts_total\\{model_name="${model}",model_version="1.0"\\} 1$`, 'm'));
    await answerRight();
  });

  it("a model leaving a shared page leaves the others serving from it; the page's last model closes it", async () => {
    const page0 = (await workers('fp32'))[0]!.pid;
    assert.equal((await call(`${server.managementUrl}/models/text`, { method: 'DELETE' })).status, 200);
    await answers['fp32']!();
    assert.equal((await workers('fp32'))[0]!.pid, page0, 'the same page');
    assert.equal(await engine.pageCount(), 2);
    assert.equal((await call(`${server.managementUrl}/models/nil?min_worker=1&synchronous=true`, { method: 'PUT' })).status, 200);
    assert.equal(await engine.pageCount(), 1, "page 1's only model left it");
    await answerRight(['fp32', 'nil']);
  });
});
