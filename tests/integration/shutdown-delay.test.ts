// shutdown_delay: after SIGTERM the server fails readiness at once but serves new requests for
// the delay, so that a balancer polling readiness stops sending before anything is refused;
// then it drains and exits 0. The real server, in its own process, with Chromium. The test
// follows the server's log rather than a clock: the delay starts and ends where the log says.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import path from 'node:path';
import { PROJECT_ROOT } from '../../server/ops/paths.js';
import { freezePage } from '../support/frozen-page.js';
import { readImage } from '../support/paths.js';
import { call, postImage, type Answer } from '../support/server-harness.js';
import { ANY_PORTS, spawnServer, type SpawnedServer } from '../support/spawned-server.js';
import { tempStore } from '../support/temp-store.js';

// Long beside the few requests made in it, so that they land inside it on a slow machine too.
const DELAY_S = 10;

describe('shutdown_delay', () => {
  // What is under test is which requests are served, not their answers: the null model.
  const store = tempStore([{ name: 'm', from: 'null_model', config: { batch_size: 1 } }]);
  let server: SpawnedServer;

  before(async () => {
    server = await spawnServer(
      process.execPath,
      [path.join(PROJECT_ROOT, 'dist/server/main.js'), '--model-store', store.root, '--backend', 'wasm', '--shutdown-delay', String(DELAY_S), ...ANY_PORTS],
      {
        TS_WASM_THREADS: '1',
      },
    );
  });
  after(() => {
    server.child.kill('SIGKILL');
    store.remove();
  });

  it('on SIGTERM is not ready at once, still answers for the delay, then refuses and exits 0', async () => {
    const api = server.inferenceUrl();
    const kitten = readImage('kitten.jpg');
    const exited = once(server.child, 'exit');
    server.child.kill('SIGTERM');
    // Logged once readiness has turned false, as the delay starts.
    await server.logged(new RegExp(`serving on for shutdown_delay \\(${DELAY_S} s\\) before the drain`));
    assert.equal((await call(`${api}/v2/health/ready`)).status, 503, 'not ready at once');
    assert.equal((await call(`${api}/ping`)).status, 500);
    const during = await postImage(`${api}/predictions/m?topk=1`, kitten);
    assert.equal(during.status, 200, 'a request during the delay is served');
    assert.doesNotMatch(server.output(), /prediction\(s\) in flight/, 'and that was within the delay');

    // One more, held in the page so that it is still in flight when the delay ends: the log
    // line that says so marks the end of the delay.
    const page = await freezePage(server.managementUrl(), 'm');
    let held: Promise<Answer | null> = Promise.resolve(null);
    try {
      held = postImage(`${api}/predictions/m?topk=1`, kitten);
      await server.logged(/waiting for \d+ prediction\(s\) in flight/);
      // The listeners stay open while that one is in flight: a new request is refused, not cut off.
      const late = await postImage(`${api}/predictions/m`, kitten);
      assert.equal(late.status, 503, 'after the delay a request is refused');
    } finally {
      page.thaw();
    }
    assert.equal((await held)?.status, 200, 'the prediction in flight when the delay ended is answered');
    const [code] = await exited;
    assert.equal(code, 0);
  });
});
