// The soak, short: 600 requests at concurrency 16, good, bad and hostile mixed, through the real
// server. `npm run soak` is the long one (10,000 at 64, with memory and a flood).

import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningServer } from '../../../server/server.js';
import { soak } from '../../../scripts/soak/soak-load.js';
import { call } from '../../support/server-harness.js';
import type { ServerSource } from '../../support/shared-server.js';

// Against `mobilenet_v2` as shipped (batches of 4), with a queue of six: overload is met.
export const soakSuite = (shared: ServerSource) =>
  describe('soak (short)', () => {
    let server: RunningServer;

    before(async () => {
      server = await shared();
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
