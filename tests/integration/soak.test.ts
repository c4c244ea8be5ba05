// The soak, short: 600 requests at concurrency 16, good, bad and hostile mixed, through the real
// server. `npm run soak` is the long one (10,000 at 64, with memory and a flood).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningServer } from '../../server/server.js';
import { soak } from '../../scripts/soak/soak-load.js';
import { call, startTestServer } from '../support/server-harness.js';
import { tempStore } from '../support/temp-store.js';

describe('soak (short)', () => {
  const store = tempStore([{ name: 'mobilenet_v2', from: 'mobilenet_v2', config: { batch_size: 4 } }]);
  let server: RunningServer;

  before(async () => {
    server = await startTestServer({ model_store: store.root, backend: 'wasm', job_queue_size: '8' });
  });
  after(async () => {
    await server?.close();
    store.remove();
  });

  it('answers every request: good ones correctly, bad and hostile ones their 4xx, overload 503, nothing else', async () => {
    const r = await soak({ url: server.inferenceUrl, total: 600, concurrency: 16 });
    console.log(`soak: ${JSON.stringify(r.byStatus)} in ${r.seconds.toFixed(1)} s`);
    assert.equal(r.hung, 0);
    assert.equal(r.serverErrors, 0);
    assert.deepEqual(r.unexpected, []);
    assert.deepEqual(r.goodWrong, []);
    assert.ok(r.goodCorrect > 0);
    assert.ok(Object.keys(r.byKind).filter((k) => k.startsWith('hostile')).length >= 6);
    assert.equal((await call(`${server.inferenceUrl}/ping`)).status, 200);
  });
});
