// The DevTools connection against a transport the test plays the browser on: one id space,
// answers to their callers, events to their session, a deadline per call named by its setting,
// and every pending call failed with its kind when the pipe closes or a target crashes or goes.

import { Deadline } from '../../server/ops/deadline.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DevToolsConnection } from '../../server/devtools/connection.js';
import { DevToolsError } from '../../server/devtools/protocol-error.js';
import type { DevToolsSession } from '../../server/devtools/session.js';
import { ManualClock } from '../support/manual-clock.js';
import { FakeTransport } from './fake-transport.js';

const DEADLINE = { ms: 30_000, setting: 'default_response_timeout' };

function setUp() {
  const transport = new FakeTransport();
  const clock = new ManualClock();
  const connection = new DevToolsConnection(transport, DEADLINE, clock);
  return { transport, clock, connection };
}

/** Attaches to target T as Chromium does in flatten mode: the event, then the answer. */
async function attached(transport: FakeTransport, connection: DevToolsConnection, sessionId = 'S1'): Promise<DevToolsSession> {
  const attaching = connection.attach('T');
  const call = transport.last('Target.attachToTarget');
  assert.deepEqual(call.params, { targetId: 'T', flatten: true });
  transport.event('Target.attachedToTarget', { sessionId, targetInfo: { targetId: 'T', type: 'page' } });
  transport.answer(call.id, { sessionId });
  return attaching;
}

const rejection = async (p: Promise<unknown>): Promise<DevToolsError> => {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof DevToolsError, `a DevToolsError, not ${String(e)}`);
    return e;
  }
  assert.fail('it did not fail');
};

describe('DevToolsConnection', () => {
  it('numbers every call in one id space, whichever session sends it, and answers each its own', async () => {
    const { transport, connection } = setUp();
    const page = await attached(transport, connection);
    const a = connection.browser.send('Target.getTargets');
    const b = page.send('Runtime.evaluate', { expression: '1' });
    const ids = transport.sent.map((m) => m['id']);
    assert.deepEqual(ids, [1, 2, 3]);
    assert.equal(transport.sent[2]!['sessionId'], 'S1');
    assert.equal('sessionId' in transport.sent[1]!, false);
    transport.answer(3, { result: { value: 1 } });
    transport.answer(2, { targetInfos: [] });
    assert.deepEqual(await b, { result: { value: 1 } });
    assert.deepEqual(await a, { targetInfos: [] });
  });

  it('routes events to the session they name', async () => {
    const { transport, connection } = setUp();
    const one = await attached(transport, connection, 'S1');
    const two = await attached(transport, connection, 'S2');
    const seen: string[] = [];
    one.on('Fetch.requestPaused', (p) => seen.push(`one ${p['requestId']}`));
    two.on('Fetch.requestPaused', (p) => seen.push(`two ${p['requestId']}`));
    connection.browser.on('Fetch.requestPaused', () => seen.push('browser'));
    transport.event('Fetch.requestPaused', { requestId: 'b' }, 'S2');
    transport.event('Fetch.requestPaused', { requestId: 'a' }, 'S1');
    transport.event('Fetch.requestPaused', { requestId: 'x' }, 'S9');
    assert.deepEqual(seen, ['two b', 'one a']);
  });

  it("fails a call Chromium refuses as `protocol`, with Chromium's reason", async () => {
    const { transport, connection } = setUp();
    const page = await attached(transport, connection);
    const refused = page.send('Fetch.fulfillRequest', { requestId: 'gone' });
    transport.refuse(transport.last('Fetch.fulfillRequest').id, 'Invalid InterceptionId.');
    const e = await rejection(refused);
    assert.equal(e.kind, 'protocol');
    assert.match(e.message, /^Fetch\.fulfillRequest: Invalid InterceptionId\.$/);
  });

  it('the error of a failed call has the stack of whoever made the call', async () => {
    const { transport, connection } = setUp();
    async function askingForTargets() {
      return connection.browser.send('Target.getTargets');
    }
    const asked = askingForTargets();
    transport.refuse(transport.last('Target.getTargets').id, 'no');
    const e = await rejection(asked);
    assert.match(e.stack ?? '', /^DevToolsError: Target\.getTargets: no\n/);
    assert.match(e.stack ?? '', /askingForTargets/);
  });

  it('fails a call past its deadline as `timeout`, naming the setting to raise, and ignores a late answer', async () => {
    const { transport, clock, connection } = setUp();
    const slow = connection.browser.send('Target.createTarget', { url: 'about:blank' }, Deadline.after(2000, 'load_timeout', clock));
    const other = connection.browser.send('Target.getTargets');
    clock.advance(1999);
    transport.answer(transport.last('Target.getTargets').id, {});
    assert.deepEqual(await other, {});
    clock.advance(1);
    const e = await rejection(slow);
    assert.equal(e.kind, 'timeout');
    assert.equal(e.message, 'Target.createTarget took longer than 2.0 s (raise load_timeout to allow more)');
    transport.answer(transport.last('Target.createTarget').id, { targetId: 'late' });
  });

  it('a call with no deadline of its own gets the default one', async () => {
    const { clock, connection } = setUp();
    const waiting = connection.browser.send('Target.getTargets');
    clock.advance(DEADLINE.ms);
    assert.match((await rejection(waiting)).message, /took longer than 30 s \(raise default_response_timeout/);
  });

  it("a crashed target fails its own pending calls as `crashed`, and later ones, and no other session's", async () => {
    const { transport, connection } = setUp();
    const page = await attached(transport, connection);
    let ended: string | null = null;
    page.onEnd((kind, reason) => (ended = `${kind}: ${reason}`));
    const run = page.send('Runtime.evaluate', { expression: 'work()' });
    const browserCall = connection.browser.send('Target.getTargets');
    transport.event('Inspector.targetCrashed', {}, 'S1');
    const e = await rejection(run);
    assert.equal(e.kind, 'crashed');
    assert.equal(e.message, 'Runtime.evaluate: the page crashed');
    assert.equal(ended, 'crashed: the page crashed');
    assert.equal((await rejection(page.send('Page.navigate', { url: 'x' }))).kind, 'crashed');
    transport.answer(transport.last('Target.getTargets').id, { targetInfos: [] });
    assert.deepEqual(await browserCall, { targetInfos: [] });
  });

  it('a detached target fails its pending calls as `closed`', async () => {
    const { transport, connection } = setUp();
    const page = await attached(transport, connection);
    const run = page.send('Runtime.evaluate', { expression: 'work()' });
    transport.event('Target.detachedFromTarget', { sessionId: 'S1' });
    const e = await rejection(run);
    assert.equal(e.kind, 'closed');
    assert.equal(page.ended?.kind, 'closed');
    let told: string | null = null;
    page.onEnd((kind) => (told = kind));
    assert.equal(told, 'closed', 'a listener added after the end is told at once');
  });

  it('a closed pipe fails every pending call at once as `closed`, ends every session, and refuses later calls', async () => {
    const { transport, connection } = setUp();
    const page = await attached(transport, connection);
    const calls = [page.send('Runtime.evaluate', { expression: '1' }), connection.browser.send('Target.getTargets')];
    const order: string[] = [];
    connection.onClose((reason) => order.push(`connection: ${reason}`));
    page.onEnd((kind) => order.push(`session: ${kind}`));
    transport.onclose!('the browser closed its DevTools pipe');
    for (const c of calls) {
      const e = await rejection(c);
      assert.equal(e.kind, 'closed');
      assert.match(e.message, /the browser closed its DevTools pipe$/);
    }
    assert.deepEqual(order, ['connection: the browser closed its DevTools pipe', 'session: closed']);
    assert.equal(connection.open, false);
    assert.equal((await rejection(connection.browser.send('Target.getTargets'))).kind, 'closed');
    let told = false;
    connection.onClose(() => (told = true));
    assert.equal(told, true, 'a listener added after the close is told at once');
  });

  it('an attach whose target went before the answer fails as `closed`', async () => {
    const { transport, connection } = setUp();
    const attaching = connection.attach('T');
    transport.answer(transport.last('Target.attachToTarget').id, { sessionId: 'never-announced' });
    assert.equal((await rejection(attaching)).kind, 'closed');
  });
});
