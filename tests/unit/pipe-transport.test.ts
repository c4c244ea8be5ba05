// The pipe transport against a scripted browser on two in-memory streams: messages go out as
// CBOR, bytes as binary; what comes back is decoded whole; a closed or garbled pipe ends it.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { decodeMessage, encodeMessage, MessageFramer } from '../../server/devtools/cbor.js';
import { PipeTransport } from '../../server/devtools/pipe-transport.js';
import type { ProtocolMessage } from '../../server/devtools/transport.js';

function setUp() {
  const toBrowser = new PassThrough();
  const fromBrowser = new PassThrough();
  const transport = new PipeTransport(toBrowser, fromBrowser);
  const framer = new MessageFramer(1 << 24);
  const raw: Buffer[] = [];
  toBrowser.on('data', (chunk: Buffer) => raw.push(...framer.push(chunk)));
  const received: ProtocolMessage[] = [];
  transport.onmessage = (m) => received.push(m);
  const closed: string[] = [];
  transport.onclose = (reason) => closed.push(reason);
  const fromChromium = (message: ProtocolMessage) => {
    for (const chunk of encodeMessage(message)) fromBrowser.write(chunk);
  };
  const tick = () => new Promise((r) => setImmediate(r));
  return { transport, raw, received, closed, fromChromium, tick, fromBrowser };
}

describe('PipeTransport', () => {
  it('writes a message with its bytes as binary, not base64 text', async () => {
    const { transport, raw, tick } = setUp();
    const body = new Uint8Array(70_000).fill(7);
    transport.send({ id: 1, method: 'Fetch.fulfillRequest', params: { requestId: 'r1', body }, sessionId: 'S1' });
    await tick();
    assert.equal(raw.length, 1);
    // Tag 22 then a byte string with its 32-bit length: the bytes themselves.
    assert.ok(raw[0]!.includes(Buffer.from([0xd6, 0x5a, 0x00, 0x01, 0x11, 0x70])));
    const m = decodeMessage(raw[0]!);
    assert.equal(m['sessionId'], 'S1');
    assert.deepEqual(new Uint8Array((m['params'] as { body: Uint8Array }).body), body);
  });

  it('hands over each message from the browser whole, binary as bytes, however the pipe cuts it', async () => {
    const { received, fromBrowser, tick } = setUp();
    const bytes = new Uint8Array(10_000).map((_, i) => i & 255);
    const stream = Buffer.concat([...encodeMessage({ id: 4, result: {} }), ...encodeMessage({ method: 'Fetch.requestPaused', params: { request: { postDataEntries: [{ bytes }] } } })]);
    for (let i = 0; i < stream.length; i += 777) fromBrowser.write(stream.subarray(i, i + 777));
    await tick();
    assert.equal(received.length, 2);
    assert.deepEqual(received[0], { id: 4, result: {} });
    const entries = (received[1]!['params'] as { request: { postDataEntries: Array<{ bytes: Uint8Array }> } }).request.postDataEntries;
    assert.deepEqual(new Uint8Array(entries[0]!.bytes), bytes);
  });

  it('a closed pipe ends the transport once, saying so', async () => {
    const { closed, fromBrowser, tick } = setUp();
    fromBrowser.end();
    fromBrowser.destroy();
    await tick();
    assert.deepEqual(closed, ['the browser closed its DevTools pipe']);
  });

  it('a stream that is not CBOR ends the transport', async () => {
    const { closed, fromBrowser, tick } = setUp();
    fromBrowser.write(Buffer.from('{"id":1,"result":{}}\0'));
    await tick();
    assert.equal(closed.length, 1);
    assert.match(closed[0]!, /not DevTools CBOR/);
  });

  it('sends nothing once closed', async () => {
    const { transport, raw, closed, tick } = setUp();
    transport.close();
    transport.send({ id: 1, method: 'Browser.close', params: {} });
    await tick();
    assert.equal(raw.length, 0);
    assert.deepEqual(closed, ['the DevTools connection was closed']);
  });
});
