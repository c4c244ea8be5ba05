// The CBOR pipe transport against a scripted browser on two in-memory streams: puppeteer's JSON
// goes out as CBOR and comes back as JSON with puppeteer's own ids; our binary commands travel as
// bytes and are answered apart from puppeteer's; a closed pipe fails what waits.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { decodeMessage, encodeMessage, MessageFramer } from '../../server/devtools/cbor.js';
import { CborPipeTransport } from '../../server/devtools/cbor-pipe-transport.js';

function setUp() {
  const toBrowser = new PassThrough();
  const fromBrowser = new PassThrough();
  const transport = new CborPipeTransport(toBrowser, fromBrowser);
  const framer = new MessageFramer(1 << 24);
  const received: Array<Record<string, unknown>> = [];
  const raw: Buffer[] = [];
  toBrowser.on('data', (chunk: Buffer) => {
    for (const m of framer.push(chunk)) {
      raw.push(m);
      received.push(decodeMessage(m));
    }
  });
  const toClient: string[] = [];
  transport.onmessage = (m) => toClient.push(m);
  const answer = (message: Record<string, unknown>) => {
    for (const chunk of encodeMessage(message)) fromBrowser.write(chunk);
  };
  const tick = () => new Promise((r) => setImmediate(r));
  return { transport, received, raw, toClient, answer, tick, fromBrowser };
}

describe('CborPipeTransport', () => {
  it("carries puppeteer's commands and answers under its own ids, and events as they are", async () => {
    const { transport, received, toClient, answer, tick } = setUp();
    transport.send(JSON.stringify({ id: 41, method: 'Target.getTargets', params: {} }));
    await tick();
    assert.equal(received.length, 1);
    assert.equal(received[0]!['method'], 'Target.getTargets');
    const wireId = received[0]!['id'] as number;
    answer({ id: wireId, result: { targetInfos: [] } });
    answer({ method: 'Target.targetCreated', params: { targetInfo: { targetId: 'T' } } });
    await tick();
    assert.deepEqual(
      toClient.map((m) => JSON.parse(m)),
      [
        { id: 41, result: { targetInfos: [] } },
        { method: 'Target.targetCreated', params: { targetInfo: { targetId: 'T' } } },
      ],
    );
  });

  it('sends its own commands with bytes as binary and answers them apart from puppeteer', async () => {
    const { transport, received, raw, toClient, answer, tick } = setUp();
    const body = new Uint8Array(70_000).fill(7);
    const done = transport.command('Fetch.fulfillRequest', { requestId: 'r1', body }, 'S1');
    await tick();
    assert.equal(received[0]!['sessionId'], 'S1');
    // Tag 22 then a byte string: the bytes themselves, not base64 text.
    assert.ok(raw[0]!.includes(Buffer.from([0xd6, 0x5a, 0x00, 0x01, 0x11, 0x70])));
    answer({ id: received[0]!['id'], result: {} });
    assert.deepEqual(await done, {});
    assert.equal(toClient.length, 0, 'puppeteer never sees it');
    const refused = transport.command('Fetch.fulfillRequest', { requestId: 'gone' });
    await tick();
    answer({ id: received[1]!['id'], error: { code: -32602, message: 'Invalid InterceptionId.' } });
    await assert.rejects(refused, /Invalid InterceptionId/);
  });

  it('a closed pipe fails the commands waiting and tells puppeteer', async () => {
    const { transport, fromBrowser, tick } = setUp();
    let closed = false;
    transport.onclose = () => (closed = true);
    const waiting = transport.command('Runtime.evaluate', { expression: '1' });
    await tick();
    fromBrowser.end();
    fromBrowser.destroy();
    await assert.rejects(waiting, /closed/);
    assert.equal(closed, true);
    await assert.rejects(transport.command('Runtime.evaluate', { expression: '1' }), /closed/);
  });

  it('a stream that is not CBOR ends the connection', async () => {
    const { transport, fromBrowser, tick } = setUp();
    let closed = false;
    transport.onclose = () => (closed = true);
    fromBrowser.write(Buffer.from('{"id":1,"result":{}}\0'));
    await tick();
    assert.equal(closed, true);
  });
});
