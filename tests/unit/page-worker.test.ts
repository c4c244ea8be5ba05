// A worker's page through a scripted stand-in for puppeteer's Browser and Page: whatever way a
// start ends other than ready, the page it opened is closed, so its renderer stops working.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { LoadRequest } from '../../browser-runtime/protocol.js';
import type { LaunchedBrowser } from '../../server/chromium/browser-launch.js';
import { PageWorker } from '../../server/page/page-worker.js';

/** Answers the load with `load()`; records whether it was closed. */
class ScriptedPage extends EventEmitter {
  closed = false;
  readonly evaluated: string[] = [];
  constructor(private readonly load: () => Promise<unknown>) {
    super();
  }
  async createCDPSession() {
    // Only the load is scripted; set-up commands (Fetch.enable) succeed.
    const send = (method: string, params?: { expression: string }) => (method === 'Runtime.evaluate' ? (this.evaluated.push(params!.expression), this.load()) : Promise.resolve({}));
    return { send, on: () => undefined, id: () => 'session' };
  }
  async goto() {}
  async waitForFunction() {}
  async close() {
    this.closed = true;
    this.emit('close');
  }
}

const browserOpening = (page: Promise<ScriptedPage>) => ({ browser: { newPage: () => page } }) as unknown as LaunchedBrowser;
const browserWith = (page: ScriptedPage) => browserOpening(Promise.resolve(page));
const worker = (loadTimeoutMs = 5000) => new PageWorker(0, 'm/1.0', { origin: 'http://127.0.0.1:1', pageUrl: 'http://127.0.0.1:1/s/' }, {} as LoadRequest, loadTimeoutMs);
const refused = { result: { value: { ok: false, error: { kind: 'model', message: 'not an ONNX model' } } } };

describe('PageWorker start', () => {
  it('a load the page refuses closes the page, and the worker says why it failed', async () => {
    const page = new ScriptedPage(async () => refused);
    const w = worker();
    await assert.rejects(w.start(browserWith(page)), /not an ONNX model/);
    assert.equal(page.closed, true);
    assert.equal(w.state, 'failed');
    assert.match(w.error ?? '', /not an ONNX model/);
  });

  it('a load past its deadline closes the page, which is what stops the load', async () => {
    const page = new ScriptedPage(() => new Promise(() => {}));
    const w = worker(50);
    await assert.rejects(w.start(browserWith(page)), /took longer than/);
    assert.equal(page.closed, true);
    assert.equal(w.state, 'failed');
  });

  it('a worker closed while its page was opening closes the page once it opens', async () => {
    let open!: (p: ScriptedPage) => void;
    const page = new ScriptedPage(() => new Promise(() => {}));
    const w = worker();
    const started = w.start(browserOpening(new Promise((r) => (open = r))));
    await w.close();
    open(page);
    await assert.rejects(started, /closed while it started/);
    assert.equal(page.closed, true);
    assert.equal(w.state, 'closed');
  });

  it('a load that succeeds keeps its page', async () => {
    const page = new ScriptedPage(async () => ({ result: { value: { ok: true, value: { backend: 'wasm' } } } }));
    const w = worker();
    await w.start(browserWith(page));
    assert.deepEqual(page.evaluated, ['globalThis.__inferenceRuntime.handle({"op":"load","args":{}})']);
    assert.equal(page.closed, false);
    assert.equal(w.state, 'ready');
  });
});
