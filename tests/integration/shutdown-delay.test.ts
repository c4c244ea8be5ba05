// shutdown_delay: after SIGTERM the server fails readiness at once but serves new requests for
// the delay, so that a balancer polling readiness stops sending before anything is refused;
// then it drains and exits 0. The real server, in its own process, with Chromium.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import path from 'node:path';
import { PROJECT_ROOT } from '../../server/paths.js';
import { readImage } from '../support/paths.js';
import { call, postImage } from '../support/server-harness.js';
import { ANY_PORTS, spawnServer, type SpawnedServer } from '../support/spawned-server.js';
import { tempStore } from '../support/temp-store.js';

describe('shutdown_delay', () => {
  const store = tempStore([{ name: 'm', from: 'mobilenet_v2_int8' }]);
  let server: SpawnedServer;

  before(async () => {
    server = await spawnServer(process.execPath, [path.join(PROJECT_ROOT, 'dist/server/main.js'), '--model-store', store.root, '--backend', 'wasm', '--shutdown-delay', '3', ...ANY_PORTS], {
      TS_WASM_THREADS: '1',
    });
  });
  after(() => {
    server.child.kill('SIGKILL');
    store.remove();
  });

  it('on SIGTERM is not ready at once, still answers for the delay, then refuses and exits 0', async () => {
    const api = server.inferenceUrl();
    const exited = once(server.child, 'exit');
    const t0 = performance.now();
    server.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await call(`${api}/v2/health/ready`)).status, 503, 'not ready at once');
    assert.equal((await call(`${api}/ping`)).status, 500);
    const during = await postImage(`${api}/predictions/m?topk=1`, readImage('kitten.jpg'));
    assert.equal(during.status, 200, 'a request during the delay is served');
    assert.ok(performance.now() - t0 < 2500, 'and that was within the delay');
    await new Promise((r) => setTimeout(r, Math.max(0, 3300 - (performance.now() - t0))));
    const late = await postImage(`${api}/predictions/m`, readImage('kitten.jpg')).catch(() => null);
    if (late) assert.equal(late.status, 503, 'after the delay a request is refused (or the port is already closed)');
    const [code] = await exited;
    assert.equal(code, 0);
    assert.match(server.output(), /serving on for shutdown_delay \(3 s\) before the drain/);
  });
});
