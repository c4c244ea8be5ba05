// A worker's page over the real DevTools connection, with the test playing Chromium and the
// runtime page: a load that fails any way closes the page it opened, so its renderer stops
// working; a run answers what the page replied; a crash fails what waits as `crashed`.

import { Deadline } from '../../server/ops/deadline.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCall, encodeReply, type LoadRequest, type PageCall, type PageOp, type PageReplies, type Reply } from '../../browser-runtime/protocol.js';
import type { LaunchedBrowser } from '../../server/chromium/browser-launch.js';
import type { BinaryParts } from '../../server/devtools/cbor.js';
import { DevToolsConnection } from '../../server/devtools/connection.js';
import { BridgeError } from '../../server/page/bridge-error.js';
import { PageWorker, type StartupTimeout } from '../../server/page/page-worker.js';
import { RuntimePage } from '../../server/page/runtime-page.js';
import { FakeTransport } from './fake-transport.js';

const ORIGIN = 'http://127.0.0.1:1';
const ready = { ok: true, value: { backend: 'wasm' } } as unknown as Reply<PageReplies[PageOp]>;

/** Chromium with one page whose runtime answers each call with `answer(call)` (never, if that never settles). */
class ScriptedBrowser {
  readonly transport = new FakeTransport();
  readonly connection: DevToolsConnection;
  readonly calls: PageCall[] = [];
  /** The tenant each call named, in the order of `calls`. */
  readonly tenants: number[] = [];
  targetsCreated = 0;
  closedTargets: string[] = [];
  /** Held until the test lets Target.createTarget answer. */
  createTarget: Promise<void> = Promise.resolve();
  /** Told when the page is navigated; false: the runtime page never fires its load event. */
  onNavigate: () => void = () => {};
  pageLoads = true;
  /** What the page says of where it is (browser-runtime/progress.ts), asked through Runtime.evaluate. */
  progress = 'no load in progress';
  private opened = 0;

  constructor(private readonly answer: (call: PageCall) => Promise<Reply<PageReplies[PageOp]>>) {
    this.connection = new DevToolsConnection(this.transport, { ms: 60_000, setting: 'default_response_timeout' });
    this.transport.onsend = (m) => void this.handle(m as { id: number; method: string; params: Record<string, unknown>; sessionId?: string });
  }

  get launched(): LaunchedBrowser {
    return { connection: this.connection, version: 'HeadlessChrome/1', pid: undefined, sandbox: null, close: async () => {} } as unknown as LaunchedBrowser;
  }

  private async handle({ id, method, params }: { id: number; method: string; params: Record<string, unknown> }) {
    const t = this.transport;
    switch (method) {
      case 'Target.createTarget':
        this.targetsCreated++;
        await this.createTarget;
        return t.answer(id, { targetId: 'T' });
      case 'Target.attachToTarget':
        t.event('Target.attachedToTarget', { sessionId: 'S1' });
        return t.answer(id, { sessionId: 'S1' });
      case 'Page.navigate':
        t.answer(id, { frameId: 'F' });
        this.onNavigate();
        if (!this.pageLoads) return;
        t.event('Page.loadEventFired', {}, 'S1');
        return this.pageOpensFetch();
      case 'Fetch.fulfillRequest': {
        t.answer(id);
        const body = params['body'] as BinaryParts | undefined;
        if (!body) return;
        const { id: callId, call, openAnother, tenant } = decodeCall(new Uint8Array(Buffer.concat(body.parts)));
        this.calls.push(call);
        this.tenants.push(tenant);
        if (openAnother) this.pageOpensFetch();
        const reply = await this.answer(call);
        const bytes = Buffer.from(encodeReply(callId, call.op, reply));
        // As the page does: the reply is the body of its request for the next call.
        return t.event('Fetch.requestPaused', { requestId: `reply-${callId}`, request: { url: `${ORIGIN}/__input/reply/${callId}`, method: 'POST', postDataEntries: [{ bytes }] } }, 'S1');
      }
      case 'Target.closeTarget':
        this.closedTargets.push(params['targetId'] as string);
        t.answer(id, { success: true });
        // As Chromium does: the answer first, the target gone after it.
        t.event('Target.detachedFromTarget', { sessionId: 'S1' });
        return t.event('Target.targetDestroyed', { targetId: params['targetId'] });
      case 'Page.crash':
        return t.event('Inspector.targetCrashed', {}, 'S1');
      case 'Runtime.evaluate':
        return t.answer(id, { result: { type: 'string', value: this.progress } });
      default:
        return t.answer(id);
    }
  }

  private pageOpensFetch() {
    this.transport.event('Fetch.requestPaused', { requestId: `in-${++this.opened}`, request: { url: `${ORIGIN}/__input/next`, method: 'GET' } }, 'S1');
  }
}

const worker = (loadTimeoutMs = 5000, startup: StartupTimeout | null = null) =>
  new PageWorker(0, 'm/1.0', new RuntimePage({ origin: ORIGIN, pageUrl: `${ORIGIN}/s/` }, loadTimeoutMs, 'm/1.0'), { model: 'm' } as LoadRequest, () => {}, startup);
const refused = { ok: false, error: { kind: 'model', message: 'not an ONNX model' } } as const;
const never = () => new Promise<never>(() => {});

describe('PageWorker start', () => {
  it('a load the page refuses closes the page, and the worker says why it failed', async () => {
    const browser = new ScriptedBrowser(async () => refused);
    const w = worker();
    await assert.rejects(w.start(browser.launched), /not an ONNX model/);
    assert.deepEqual(browser.closedTargets, ['T']);
    assert.equal(w.state, 'failed');
    assert.match(w.error ?? '', /not an ONNX model/);
  });

  it('a load past its deadline closes the page, which is what stops the load', async () => {
    const browser = new ScriptedBrowser(never);
    browser.progress = '1 call(s) received; loading m/1.0 for 200 ms, steps ended: import onnxruntime-web 5 ms';
    const w = worker(200);
    await assert.rejects(
      w.start(browser.launched),
      (e: unknown) =>
        e instanceof BridgeError &&
        e.kind === 'timeout' &&
        /^loading the model took longer than \d+\.\d s \(raise default_response_timeout .*\); the page: 1 call\(s\) received; loading m\/1\.0 for 200 ms, steps ended: import onnxruntime-web 5 ms$/.test(
          e.message,
        ),
    );
    assert.deepEqual(browser.closedTargets, ['T']);
    assert.equal(w.state, 'failed');
  });

  it('a worker closed while its page was opening closes the page once it opens', async () => {
    const browser = new ScriptedBrowser(never);
    let open!: () => void;
    browser.createTarget = new Promise((r) => (open = r));
    const w = worker();
    const started = w.start(browser.launched);
    await w.close();
    open();
    await assert.rejects(started, /closed while it started/);
    assert.deepEqual(browser.closedTargets, ['T']);
    assert.equal(w.state, 'closed');
  });

  it('a worker closed while its runtime page loads ends its start then, not at the load deadline', { timeout: 60_000 }, async () => {
    const browser = new ScriptedBrowser(never);
    browser.pageLoads = false;
    const w = worker(3_600_000);
    browser.onNavigate = () => void w.close();
    await assert.rejects(w.start(browser.launched), (e: unknown) => e instanceof BridgeError && /ended while it loaded|closed while it started/.test(e.message));
    assert.deepEqual(browser.closedTargets, ['T']);
    assert.equal(w.state, 'closed');
  });

  it('a startup_timeout of 0 fails the start once its page exists, closes that page, and names the setting', async () => {
    const browser = new ScriptedBrowser(async () => ready);
    const w = worker(5000, { ms: 0, setting: 'startup_timeout' });
    await assert.rejects(
      w.start(browser.launched),
      (e: unknown) => e instanceof BridgeError && e.kind === 'timeout' && e.message === 'worker 0 of m/1.0 did not start within 0.0 s (raise startup_timeout to allow more)',
    );
    assert.deepEqual(browser.closedTargets, ['T']);
    assert.deepEqual(browser.calls, [], 'the model was never sent');
    assert.equal(w.state, 'failed');
  });

  it('a page still being made when startup_timeout runs out is waited for, then closed: none is left behind', async () => {
    const browser = new ScriptedBrowser(async () => ready);
    let open!: () => void;
    browser.createTarget = new Promise((r) => (open = r));
    const w = worker(5000, { ms: 0, setting: 'startup_timeout' });
    const started = w.start(browser.launched);
    // Past the 0 ms the start had: a createTarget held to it would have given up by now.
    await new Promise((r) => setTimeout(r, 20));
    open();
    await assert.rejects(started, /did not start within 0\.0 s/);
    assert.deepEqual(browser.closedTargets, ['T']);
  });

  it('a load past startup_timeout closes the page and names startup_timeout, not the server default', async () => {
    const browser = new ScriptedBrowser(never);
    const w = worker(60_000, { ms: 200, setting: 'startup_timeout' });
    await assert.rejects(w.start(browser.launched), /loading the model took longer than \d+\.\d s \(raise startup_timeout to allow more\)/);
    assert.deepEqual(browser.closedTargets, ['T']);
  });

  it('a load that succeeds sends the load request and keeps its page', async () => {
    const browser = new ScriptedBrowser(async () => ready);
    const w = worker();
    await w.start(browser.launched);
    assert.deepEqual(browser.calls, [{ op: 'load', args: { model: 'm' } }]);
    assert.deepEqual(browser.closedTargets, []);
    assert.equal(w.state, 'ready');
  });
});

describe('PageWorker runs', () => {
  it('a batch goes to the page as its pixels, and each image gets its own top k back', async () => {
    const browser = new ScriptedBrowser(async (call) => {
      if (call.op !== 'infer') return ready;
      const value = { calledAt: 0, k: 2, ranBatch: 2, normaliseMs: 1, waitMs: 0, runMs: 3, rankMs: 0, classes: Int32Array.of(7, 1, 4, 2), probabilities: Float32Array.of(0.5, 0.25, 0.75, 0.125) };
      return { ok: true, value } as Reply<PageReplies[PageOp]>;
    });
    const w = worker();
    await w.start(browser.launched);
    const out = await w.runBatch(
      [
        { pixels: Uint8Array.of(1, 2), k: 2 },
        { pixels: Uint8Array.of(3, 4), k: 1 },
      ] as never,
      Deadline.after(5000, 'default_response_timeout'),
    );
    assert.deepEqual(browser.calls[1], { op: 'infer', args: { batch: 2, k: 2, pixels: Uint8Array.of(1, 2, 3, 4) } });
    assert.deepEqual(
      out.results.map((r) => [[...r.classes], [...r.probabilities]]),
      [
        [
          [7, 1],
          [0.5, 0.25],
        ],
        [[4], [0.75]],
      ],
    );
  });

  it('a page that crashes mid-run fails the run as `crashed` (503), and the worker with it', async () => {
    const browser = new ScriptedBrowser(async (call) => (call.op === 'load' ? ready : never()));
    const w = worker();
    await w.start(browser.launched);
    const run = w.runTensor({ data: Float32Array.of(1), dims: [1] } as never, Deadline.after(5000, 'default_response_timeout'));
    await new Promise((r) => setImmediate(r));
    await w.crash();
    await assert.rejects(run, (e: unknown) => e instanceof BridgeError && e.kind === 'crashed');
    assert.equal(w.state, 'failed');
    assert.equal(w.error, 'the page crashed');
  });
});

describe('PageWorkers sharing a page (share_pages)', () => {
  /** Models a/1 and b/1 as worker 0 of one page, both started, the page answering each call with `answer`. */
  async function twoTenants(answer: ConstructorParameters<typeof ScriptedBrowser>[0]) {
    const browser = new ScriptedBrowser(answer);
    const page = new RuntimePage({ origin: ORIGIN, pageUrl: `${ORIGIN}/s/` }, 5000, 'shared page 0');
    const [a, b] = ['a/1', 'b/1'].map((key) => new PageWorker(0, key, page, { model: key } as LoadRequest)) as [PageWorker, PageWorker];
    await Promise.all([a.start(browser.launched), b.start(browser.launched)]);
    return { browser, page, a, b };
  }

  it('open one page, each load naming its place; one leaving unloads its model only, the last closes the page', async () => {
    const { browser, page, a, b } = await twoTenants(async () => ready);
    assert.equal(browser.targetsCreated, 1);
    assert.deepEqual(
      browser.calls.map((c, i) => [c.op, browser.tenants[i]]),
      [
        ['load', 0],
        ['load', 1],
      ],
    );
    await a.close();
    assert.deepEqual(browser.calls.at(-1), { op: 'unload', args: {} });
    assert.equal(browser.tenants.at(-1), 0);
    assert.deepEqual(browser.closedTargets, [], 'b still serves from it');
    assert.equal(b.state, 'ready');
    await b.close();
    assert.deepEqual(browser.closedTargets, ['T']);
    assert.equal(browser.calls.length, 3, 'the last to leave closes the page, with no unload first');
    assert.equal(page.usable, false, 'a closed page takes no new model');
  });

  it('a run that fails retires the page: every model in it fails, so that each is loaded again elsewhere', async () => {
    const { browser, page, a, b } = await twoTenants(async (call) => (call.op === 'load' ? ready : never()));
    await assert.rejects(
      a.runTensor({ data: Float32Array.of(1), dims: [1] } as never, Deadline.after(50, 'default_response_timeout')),
      (e: unknown) => e instanceof BridgeError && e.kind === 'timeout',
    );
    assert.equal(a.state, 'failed');
    assert.equal(b.state, 'failed');
    assert.match(b.error ?? '', /a\/1 worker 0 retired after a failed run/);
    assert.deepEqual(browser.closedTargets, ['T']);
    assert.equal(page.usable, false);
  });

  it('a crash fails every model of the page', async () => {
    const { a, b } = await twoTenants(async () => ready);
    await b.crash();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual([a.state, b.state, a.error], ['failed', 'failed', 'the page crashed']);
  });
});
