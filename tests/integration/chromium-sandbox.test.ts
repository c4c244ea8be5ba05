// Chromium's sandbox, through the real server and browser: every renderer runs as an unprivileged
// user under Chromium's seccomp filter; `off` is honoured; on a host without user namespaces
// `prefer` falls back with one warning and `require` refuses to start. The runtime listener
// answers nothing without its per-start secret.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import type { ChromiumEngine } from '../../server/page/chromium-engine.js';
import { confinementOf } from '../../server/chromium/chromium-sandbox.js';
import { rendererPids } from '../../server/chromium/renderer-process.js';
import { PROJECT_ROOT } from '../../server/ops/paths.js';
import type { RunningServer } from '../../server/server.js';
import { FIXTURES, readImage } from '../support/paths.js';
import { call, postImage, startTestServer } from '../support/server-harness.js';
import { ANY_PORTS, spawnServer, type SpawnedServer } from '../support/spawned-server.js';
import { tempStore } from '../support/temp-store.js';

const MODEL = 'mobilenet_v2_int8';
// Asked to classify the kitten: MobileNet, one image a run (batches are not under test).
const STORE = tempStore([{ name: MODEL, from: 'mobilenet_v2_int8', config: { batch_size: 1 } }]);
after(() => STORE.remove());
// Where the server only has to start and serve (the fallback without user namespaces), or must
// refuse to: the null model, whose page loads at a fraction of MobileNet's cost.
const NULL_MODEL = 'null_model';
const NULL_STORE = tempStore([{ name: NULL_MODEL, from: 'null_model', config: { batch_size: 1 } }]);
after(() => NULL_STORE.remove());
/**
 * The wrapper, copied where the unprivileged user Chromium runs as may read it: the checkout may
 * be in a folder only its owner can enter (a clone into mktemp's).
 */
function noUserNamespacesWrapper(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sandbox-test-'));
  chmodSync(dir, 0o755);
  const file = path.join(dir, 'no-user-namespaces.sh');
  copyFileSync(path.join(FIXTURES, 'sandbox', 'no-user-namespaces.sh'), file);
  chmodSync(file, 0o755);
  return file;
}
const NO_USER_NAMESPACES = noUserNamespacesWrapper();
after(() => rmSync(path.dirname(NO_USER_NAMESPACES), { recursive: true, force: true }));
const asRoot = process.getuid?.() === 0;
const MAIN = path.join(PROJECT_ROOT, 'dist/server/main.js');
const serverArgs = (...more: string[]) => [MAIN, '--backend=wasm', '--model-store', NULL_STORE.root, '--load-models', NULL_MODEL, '--wasm-threads', '1', ...ANY_PORTS, ...more];

/** Every process of the server's Chromium: the browser and everything under it. */
function renderersOf(server: RunningServer): number[] {
  const pid = (server.engine as ChromiumEngine).browserPid();
  assert.ok(pid, 'the browser has a pid');
  const renderers = [...rendererPids(pid)];
  assert.ok(renderers.length >= 1, 'at least one renderer runs');
  return renderers;
}

async function describeWorkers(server: RunningServer) {
  const { status, body } = await call(`${server.managementUrl}/models/${MODEL}`);
  assert.equal(status, 200);
  return body[0].workers as Array<{ sandbox: Record<string, unknown>; pid: number | null }>;
}

async function sandboxGauge(server: RunningServer): Promise<string | undefined> {
  const text = await (await fetch(`${server.metricsUrl}/metrics`)).text();
  return /^ts_chromium_sandbox\{setting="(\w+)"\} (\d)$/m.exec(text)?.slice(1).join(' ');
}

async function predictsKitten(server: RunningServer): Promise<void> {
  const { status, body } = await postImage(`${server.inferenceUrl}/predictions/${MODEL}`, readImage('kitten.jpg'));
  assert.equal(status, 200, JSON.stringify(body));
  assert.match(JSON.stringify(body), /tabby/);
}

// The sandbox needs user namespaces from the host (a container under Docker's default seccomp
// profile gives none): there the tests of it running say why they cannot, and the rest still run.
const userNamespaces = spawnSync('unshare', ['--user', '--map-current-user', 'true']).status === 0;
const noUserNamespaces = userNamespaces ? false : 'this host makes no user namespace (unshare --user fails), so the sandbox cannot run here';

describe('Chromium sandbox on (the default)', { skip: noUserNamespaces }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startTestServer({ model_store: STORE.root, backend: 'wasm', load_models: MODEL, wasm_threads: '1' });
  });
  after(() => server?.close());

  it('runs every renderer as a non-root user under seccomp-bpf with no_new_privs', () => {
    for (const pid of renderersOf(server)) {
      const c = confinementOf(pid);
      assert.equal(c.seccomp, 2, `renderer ${pid} seccomp`);
      assert.equal(c.noNewPrivs, true, `renderer ${pid} no_new_privs`);
      if (asRoot) assert.notEqual(c.uid, 0, `renderer ${pid} runs as root`);
      else assert.equal(c.uid, process.getuid!());
    }
    if (asRoot) assert.notEqual(confinementOf((server.engine as ChromiumEngine).browserPid()!).uid, 0, 'the browser process runs as root');
  });

  it('says so per worker in the model description and as a metric, and still predicts', async () => {
    const workers = await describeWorkers(server);
    assert.ok(workers.length >= 1);
    for (const w of workers) {
      assert.equal(w.sandbox['enabled'], true);
      assert.equal(w.sandbox['setting'], 'prefer');
      assert.equal(w.sandbox['reason'], null);
      assert.equal(w.sandbox['seccomp'], 2);
      if (asRoot) assert.notEqual(w.sandbox['uid'], 0);
    }
    assert.equal(await sandboxGauge(server), 'prefer 1');
    await predictsKitten(server);
  });

  it('answers 404 on the runtime listener to a request without the per-start secret', async () => {
    assert.ok(server.runtimeOrigin);
    for (const p of ['/', '/browser-runtime/main.js', '/ort/ort.webgpu.min.mjs', `/models/${MODEL}/1.0/model.onnx`]) {
      const res: Response = await fetch(server.runtimeOrigin + p);
      assert.equal(res.status, 404, p);
      await res.arrayBuffer();
    }
  });
});

describe('chromium_sandbox=off', () => {
  let server: RunningServer;
  before(async () => {
    server = await startTestServer({ model_store: STORE.root, backend: 'wasm', load_models: MODEL, wasm_threads: '1', chromium_sandbox: 'off' });
  });
  after(() => server?.close());

  it('runs the renderers without the seccomp filter, still not as root, and says why', async () => {
    for (const pid of renderersOf(server)) {
      const c = confinementOf(pid);
      assert.equal(c.seccomp, 0, `renderer ${pid} seccomp`);
      if (asRoot) assert.notEqual(c.uid, 0);
    }
    for (const w of await describeWorkers(server)) {
      assert.equal(w.sandbox['enabled'], false);
      assert.equal(w.sandbox['reason'], 'chromium_sandbox is off');
    }
    assert.equal(await sandboxGauge(server), 'off 0');
    await predictsKitten(server);
  });
});

describe('a host without user namespaces', () => {
  let server: SpawnedServer | null = null;
  after(() => server?.child.kill('SIGKILL'));

  it('prefer: falls back to --no-sandbox with one warning that says why and how to enable it, and serves', async () => {
    server = await spawnServer(process.execPath, serverArgs('--chrome-path', NO_USER_NAMESPACES), {});
    const warnings = server
      .output()
      .split('\n')
      .filter((l) => /sandbox cannot start/.test(l));
    assert.equal(warnings.length, 1, server.output());
    assert.match(warnings[0]!, /No usable sandbox/);
    assert.match(warnings[0]!, /user namespaces/);
    assert.match(server.output(), /"event":"browser_launched","sandbox":false,"sandboxSetting":"prefer"/);
    const management = /Management API on (http:\/\/[\d.:]+)/.exec(server.output())![1]!;
    const { body } = await call(`${management}/models/${NULL_MODEL}`);
    const sandbox = body[0].workers[0].sandbox;
    assert.equal(sandbox.enabled, false);
    assert.match(sandbox.reason, /the sandbox could not start: No usable sandbox/);
    assert.equal(sandbox.seccomp, 0);
    const { status } = await postImage(`${server.inferenceUrl()}/predictions/${NULL_MODEL}`, readImage('kitten.jpg'));
    assert.equal(status, 200);
    server.child.kill('SIGTERM');
    await once(server.child, 'exit');
  });

  it('require: refuses to start, with one plain line that says why and how to fix it', async () => {
    const child = spawn(process.execPath, serverArgs('--chrome-path', NO_USER_NAMESPACES, '--chromium-sandbox', 'require'), { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d));
    child.stderr.on('data', (d: Buffer) => (output += d));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 1, output);
    assert.match(output, /^error: Chromium's sandbox cannot start and chromium_sandbox is require: No usable sandbox.*To run: the host must allow unprivileged user namespaces/m);
    assert.doesNotMatch(output, /server healthy/);
  });
});
