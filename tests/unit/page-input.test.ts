// The gateway's side of the input channel, against a scripted DevTools session: inputs reach the
// page's open fetches first come, first served, and an input whose run failed goes to no one.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { CDPSession } from 'puppeteer-core';
import type { CborPipeTransport } from '../../server/devtools/cbor-pipe-transport.js';
import { PageInput } from '../../server/page/page-input.js';

class ScriptedSession extends EventEmitter {
  sent: string[] = [];
  async send(method: string) {
    this.sent.push(method);
    return {};
  }
  id() {
    return 'session-1';
  }
  /** The page opens a fetch of the next input; Chromium pauses it. */
  opens(requestId: string) {
    this.emit('Fetch.requestPaused', { requestId, request: { url: 'http://127.0.0.1:1/__input/next' } });
  }
}

function setUp() {
  const cdp = new ScriptedSession();
  const fulfilled: Array<{ requestId: string; id: string; bytes: number[] }> = [];
  const transport = {
    command: async (method: string, params: { requestId: string; responseHeaders: Array<{ value: string }>; body: Uint8Array }, sessionId: string) => {
      assert.equal(method, 'Fetch.fulfillRequest');
      assert.equal(sessionId, 'session-1');
      fulfilled.push({ requestId: params.requestId, id: params.responseHeaders[0]!.value, bytes: [...params.body] });
      return {};
    },
  } as unknown as CborPipeTransport;
  return { cdp, fulfilled, attach: () => PageInput.attach(cdp as unknown as CDPSession, transport, 'http://127.0.0.1:1') };
}

describe('PageInput', () => {
  it('enables the Fetch domain for the input path before the page loads', async () => {
    const { cdp, attach } = setUp();
    await attach();
    assert.deepEqual(cdp.sent, ['Fetch.enable']);
  });

  it('hands inputs to the open fetches in the order their runs were sent', async () => {
    const { cdp, fulfilled, attach } = setUp();
    const input = await attach();
    const runs: Array<() => void> = [];
    const run = (bytes: number[]) => input.with(new Uint8Array(bytes), (id) => new Promise<number>((done) => runs.push(() => done(id))));
    const a = run([1]); // no fetch open yet: waits
    const b = run([2]); // waits behind a
    assert.equal(fulfilled.length, 0);
    cdp.opens('r1');
    cdp.opens('r2');
    cdp.opens('r3'); // nothing left: stays open
    const c = run([3]); // answered at once
    assert.deepEqual(fulfilled, [
      { requestId: 'r1', id: '0', bytes: [1] },
      { requestId: 'r2', id: '1', bytes: [2] },
      { requestId: 'r3', id: '2', bytes: [3] },
    ]);
    runs.forEach((finish) => finish());
    assert.deepEqual(await Promise.all([a, b, c]), [0, 1, 2]);
  });

  it('an input whose run failed before the page took it goes to no later fetch', async () => {
    const { cdp, fulfilled, attach } = setUp();
    const input = await attach();
    await assert.rejects(
      input.with(new Uint8Array([9]), async () => Promise.reject(new Error('deadline'))),
      /deadline/,
    );
    const next = input.with(new Uint8Array([4]), (id) => new Promise<number>((done) => setImmediate(() => done(id))));
    cdp.opens('r1');
    assert.deepEqual(fulfilled, [{ requestId: 'r1', id: '1', bytes: [4] }]);
    assert.equal(await next, 1);
  });
});
