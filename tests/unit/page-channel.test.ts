// The gateway's side of a page's channel, over the real DevTools connection with the test playing
// Chromium and the page: calls reach the page's open fetches in the order made, replies come back
// from the page's POSTs as raw bytes, and every way a call can fail fails it with its reason.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCall, encodeReply, type InferReply } from '../../browser-runtime/protocol.js';
import type { BinaryParts } from '../../server/devtools/cbor.js';
import { DevToolsConnection } from '../../server/devtools/connection.js';
import { DevToolsError } from '../../server/devtools/protocol-error.js';
import { PageChannel } from '../../server/page/page-channel.js';
import { ManualClock } from '../support/manual-clock.js';
import { Deadline } from '../../server/ops/deadline.js';
import { FakeTransport } from './fake-transport.js';

const ORIGIN = 'http://127.0.0.1:1';

async function setUp() {
  const transport = new FakeTransport();
  const clock = new ManualClock();
  const connection = new DevToolsConnection(transport, { ms: 60_000, setting: 'default_response_timeout' }, clock);
  const attaching = connection.attach('T');
  transport.event('Target.attachedToTarget', { sessionId: 'S1' });
  transport.answer(transport.last('Target.attachToTarget').id, { sessionId: 'S1' });
  const session = await attaching;
  const attachingChannel = PageChannel.attach(session, ORIGIN);
  const enable = transport.last('Fetch.enable');
  transport.answer(enable.id);
  const channel = await attachingChannel;
  let request = 0;
  /** The page opens its fetch of the next call; Chromium pauses it. */
  const opens = () => {
    const requestId = `in-${++request}`;
    transport.event('Fetch.requestPaused', { requestId, request: { url: `${ORIGIN}/__input/next`, method: 'GET' } }, 'S1');
    return requestId;
  };
  /** What fulfilled `requestId`, decoded as the page would. */
  const handedTo = (requestId: string) => {
    const m = transport.sent.find((s) => s['method'] === 'Fetch.fulfillRequest' && (s['params'] as { requestId: string }).requestId === requestId);
    if (!m) return null;
    return { ...decodeCall(Buffer.concat((m['params'] as { body: BinaryParts }).body.parts)) };
  };
  /** The page asks for its next call with a POST of `body`, its reply to call `id`. */
  const posts = (id: number, body: Uint8Array | null) => {
    const requestId = `reply-${++request}`;
    const entries = body ? [{ bytes: Buffer.from(body.subarray(0, 10)) }, { bytes: Buffer.from(body.subarray(10)) }] : undefined;
    transport.event('Fetch.requestPaused', { requestId, request: { url: `${ORIGIN}/__input/reply/${id}`, method: 'POST', hasPostData: true, postDataEntries: entries } }, 'S1');
    return requestId;
  };
  return { transport, session, channel, clock, opens, handedTo, posts, enable };
}

const reply = (id: number): InferReply => ({ calledAt: 5, k: 1, ranBatch: 1, normaliseMs: 1, waitMs: 0, runMs: 2, rankMs: 0, classes: Int32Array.of(id), probabilities: Float32Array.of(0.5) });
const LIMIT_MS = 1000;
const limit = (clock: ManualClock) => Deadline.after(LIMIT_MS, 'response_timeout', clock);
const infer = (n: number) => ({ op: 'infer' as const, args: { batch: 1, k: 1, pixels: Uint8Array.of(n) } });

describe('PageChannel', () => {
  it("catches every request of the page before it loads: its calls' on this origin, and the rest to pass or refuse", async () => {
    const { enable } = await setUp();
    assert.deepEqual(enable.params, {
      patterns: [{ urlPattern: '*', requestStage: 'Request' }],
    });
  });

  it("lets the page's own files through, cancels a navigation elsewhere and fails any other request elsewhere", async () => {
    const { transport } = await setUp();
    const pause = (requestId: string, url: string, resourceType: string) => transport.event('Fetch.requestPaused', { requestId, resourceType, request: { url, method: 'GET' } }, 'S1');
    pause('own', `${ORIGIN}/secret/ort/ort.wasm.min.mjs`, 'Script');
    pause('away', 'http://127.0.0.1:2/', 'Document');
    pause('other', 'http://127.0.0.1:2/x.png', 'Image');
    const sent = (id: string) => transport.sent.find((s) => (s['params'] as { requestId?: string } | undefined)?.requestId === id);
    assert.equal(sent('own')?.['method'], 'Fetch.continueRequest');
    assert.deepEqual(sent('away')?.['params'], { requestId: 'away', errorReason: 'Aborted' });
    assert.deepEqual(sent('other')?.['params'], { requestId: 'other', errorReason: 'BlockedByClient' });
    assert.equal(sent('other')?.['method'], 'Fetch.failRequest');
  });

  it('hands calls to the open fetches in the order made, and each reply to its own call', async () => {
    const { channel, opens, handedTo, posts, clock } = await setUp();
    const a = channel.call(infer(1), limit(clock), 'the prediction'); // no fetch open yet: waits
    const b = channel.call(infer(2), limit(clock), 'the prediction'); // waits behind a
    const r1 = opens();
    const r2 = opens();
    const r3 = opens(); // nothing left: stays open
    const c = channel.call(infer(3), limit(clock), 'the prediction'); // handed over at once
    const calls = [r1, r2, r3].map((r) => handedTo(r)!);
    assert.deepEqual(
      calls.map((x) => [...(x.call.args as { pixels: Uint8Array }).pixels]),
      [[1], [2], [3]],
    );
    // The first call had to wait for a request: it asks the page for a second chain, and only it.
    assert.deepEqual(
      calls.map((x) => x.openAnother),
      [true, false, false],
    );
    // Replies in another order than the calls: each goes to its own caller, and each request
    // that carried one stays open for the next call.
    for (const x of [calls[2]!, calls[0]!, calls[1]!]) {
      const classOf = (x.call.args as { pixels: Uint8Array }).pixels[0]!;
      const asks = posts(x.id, encodeReply(x.id, 'infer', { ok: true, value: reply(classOf) }));
      assert.equal(handedTo(asks), null);
    }
    const values = await Promise.all([a, b, c]);
    assert.deepEqual(
      values.map((v) => (v.ok ? [...v.value.classes] : null)),
      [[1], [2], [3]],
    );
  });

  it('one call at a time is one request: the request carrying a reply is answered with the next call, and no second chain is asked for', async () => {
    const { channel, opens, handedTo, posts, clock } = await setUp();
    const r1 = opens();
    const first = channel.call(infer(1), limit(clock), 'the prediction');
    const one = handedTo(r1)!;
    assert.equal(one.openAnother, false);
    const asks = posts(one.id, encodeReply(one.id, 'infer', { ok: true, value: reply(1) }));
    const v = await first;
    assert.ok(v.ok && v.value.classes[0] === 1);
    const second = channel.call(infer(2), limit(clock), 'the prediction');
    const two = handedTo(asks)!;
    assert.deepEqual([...(two.call.args as { pixels: Uint8Array }).pixels], [2]);
    assert.equal(two.openAnother, false);
    posts(two.id, encodeReply(two.id, 'infer', { ok: true, value: reply(2) }));
    assert.ok((await second).ok);
  });

  it('a call past its deadline before the page took it goes to no later fetch', async () => {
    const { channel, clock, opens, handedTo } = await setUp();
    const late = channel.call(infer(9), limit(clock), 'the prediction');
    clock.advance(LIMIT_MS);
    await assert.rejects(late, /the prediction took longer than 1\.0 s \(raise response_timeout to allow more\)/);
    void channel.call(infer(4), limit(clock), 'the prediction');
    const r1 = opens();
    assert.deepEqual([...(handedTo(r1)!.call.args as { pixels: Uint8Array }).pixels], [4]);
  });

  it("a failed Fetch.fulfillRequest fails the waiting call with Chromium's reason", async () => {
    const { channel, opens, transport, clock } = await setUp();
    const r1 = opens();
    const call = channel.call(infer(1), limit(clock), 'the prediction');
    const fulfil = transport.sent.findLast((s) => s['method'] === 'Fetch.fulfillRequest')!;
    assert.equal((fulfil['params'] as { requestId: string }).requestId, r1);
    transport.refuse(fulfil['id'] as number, 'Invalid InterceptionId.');
    await assert.rejects(call, (e: unknown) => e instanceof DevToolsError && e.kind === 'protocol' && /Invalid InterceptionId/.test(e.message));
  });

  it('a reply cut short, or passed without its body, fails its call as a protocol error', async () => {
    const { channel, opens, handedTo, posts, clock } = await setUp();
    const call = channel.call(infer(1), limit(clock), 'the prediction');
    const { id } = handedTo(opens())!;
    const whole = encodeReply(id, 'infer', { ok: true, value: reply(1) });
    const asks = posts(id, whole.subarray(0, whole.length - 4));
    await assert.rejects(call, /the reply to call \d+ could not be read: the reply to call \d+ has (\d+) of its \d+ bytes/);
    const next = channel.call(infer(2), limit(clock), 'the prediction');
    const second = handedTo(asks)!;
    posts(second.id, null);
    await assert.rejects(next, /Chromium passed no body/);
  });

  it('a page that crashes fails the calls waiting for its reply as `crashed`', async () => {
    const { channel, opens, transport, clock } = await setUp();
    opens();
    const running = channel.call(infer(1), limit(clock), 'the prediction');
    const queued = channel.call(infer(2), limit(clock), 'the prediction');
    transport.event('Inspector.targetCrashed', {}, 'S1');
    for (const c of [running, queued]) await assert.rejects(c, (e: unknown) => e instanceof DevToolsError && e.kind === 'crashed');
  });
});
