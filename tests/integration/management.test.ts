// The Management API through the real browser: register from the store, scale, set the
// default version, unregister, paginate; and what it refuses.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningServer } from '../../server/server.js';
import { readImage } from '../support/paths.js';
import { call, postImage, startTestServer } from '../support/server-harness.js';
import { tempStore } from '../support/temp-store.js';

const kitten = readImage('kitten.jpg');

describe('Management API', () => {
  const store = tempStore([
    // Where only the model's life is under test (listed, scaled, versions set and removed), not
    // its answer: the null model, whose pages load at a fraction of MobileNet's cost.
    { name: 'null_model', from: 'null_model', config: { batch_size: 1 } },
    // Registered and asked to classify the kitten: MobileNet, one image a run (batches are not under test).
    { name: 'fp32', from: 'mobilenet_v2', config: { batch_size: 1 } },
    { name: 'multi', from: 'null_model', versions: ['1.0', '2.0'], config: { batch_size: 1 } },
  ]);
  let server: RunningServer;
  let api: string;
  let mgmt: string;
  const send = (method: string, path: string) => call(`${mgmt}${path}`, { method });

  before(async () => {
    server = await startTestServer({ model_store: store.root, backend: 'wasm', wasm_threads: '1', load_models: 'multi,null_model' });
    api = server.inferenceUrl;
    mgmt = server.managementUrl;
  });
  after(async () => {
    await server?.close();
    store.remove();
  });

  it('lists with pagination', async () => {
    const first = (await send('GET', '/models?limit=1')).body;
    assert.deepEqual(
      first.models.map((m: { modelName: string }) => m.modelName),
      ['multi'],
    );
    assert.equal(first.nextPageToken, '1');
    const rest = (await send('GET', `/models?limit=5&next_page_token=${first.nextPageToken}`)).body;
    assert.deepEqual(
      rest.models.map((m: { modelName: string }) => m.modelName),
      ['null_model'],
    );
    assert.equal(rest.nextPageToken, undefined);
  });

  it('registers a model from the store, and refuses remote URLs, paths outside and duplicates', async () => {
    assert.equal((await postImage(`${api}/predictions/fp32`, kitten)).status, 404);
    const reg = await send('POST', '/models?url=fp32&initial_workers=1&synchronous=true');
    assert.equal(reg.status, 200, JSON.stringify(reg.body));
    assert.match(reg.body.status, /fp32.*1\.0.*registered/);
    assert.equal((await postImage(`${api}/predictions/fp32`, kitten)).body[0].class, 'n02123045 tabby, tabby cat');
    assert.equal((await send('POST', '/models?url=fp32&synchronous=true')).status, 409);
    for (const url of ['https://example.com/model.mar', 'file:///etc/passwd', 's3://bucket/m.mar']) {
      const r = await send('POST', `/models?url=${encodeURIComponent(url)}&initial_workers=-5&batch_size=0`);
      assert.equal(r.status, 400, url);
      assert.equal(r.body.type, 'BadRequestException');
      assert.match(r.body.message, /remote URLs are not fetched/, 'whatever else is wrong');
    }
    for (const url of ['', 'nothing', '../../etc', '/etc', 'multi/../../x']) {
      const r = await send('POST', `/models?url=${encodeURIComponent(url)}`);
      assert.equal(r.status, 404, url);
      assert.deepEqual(r.body, { code: 404, type: 'ModelNotFoundException', message: `Model not found in model store: ${url}` });
    }
    assert.equal((await send('POST', '/models')).status, 400, 'no url at all');
  });

  it('scales workers, and the model keeps answering', async () => {
    const up = await send('PUT', '/models/null_model?min_worker=2&synchronous=true');
    assert.equal(up.status, 200, JSON.stringify(up.body));
    const [d] = (await send('GET', '/models/null_model')).body;
    assert.equal(d.workers.length, 2);
    assert.ok(d.workers.every((w: { status: string }) => w.status === 'READY'));
    const answers = await Promise.all([1, 2, 3, 4].map(() => postImage(`${api}/predictions/null_model`, kitten)));
    assert.ok(answers.every((a) => a.status === 200));
    assert.equal((await send('PUT', '/models/null_model?min_worker=1&synchronous=true')).status, 200);
    assert.equal((await send('GET', '/models/null_model')).body[0].workers.length, 1);
  });

  it('set-default changes what /predictions/{model} answers with; a new version did not', async () => {
    assert.equal((await send('GET', '/models/multi')).body[0].modelVersion, '1.0');
    const set = await send('PUT', '/models/multi/2.0/set-default');
    assert.equal(set.status, 200);
    assert.equal((await send('GET', '/models/multi')).body[0].modelVersion, '2.0');
    assert.equal((await postImage(`${api}/predictions/multi`, kitten)).status, 200);
  });

  it('unregisters a version; the default cannot go while others remain', async () => {
    assert.equal((await send('DELETE', '/models/multi/2.0')).status, 409, 'the default');
    const del = await send('DELETE', '/models/multi/1.0');
    assert.equal(del.status, 200);
    assert.equal((await postImage(`${api}/predictions/multi/1.0`, kitten)).body.type, 'ModelVersionNotFoundException');
    assert.equal((await postImage(`${api}/predictions/multi`, kitten)).status, 200, 'the default remains');
    assert.equal((await send('DELETE', '/models/fp32')).status, 200);
    assert.equal((await postImage(`${api}/predictions/fp32`, kitten)).body.type, 'ModelNotFoundException');
    assert.equal((await call(`${api}/ping`)).status, 200);
  });
});
