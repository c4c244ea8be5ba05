// Chromium's DevTools pipe (fds 3 and 4) in CBOR mode: whole messages each way, nothing more.
// Ids, pending calls and sessions are the connection's (connection.ts).
//
// Why CBOR: a `Uint8Array` parameter (the bytes of a run) travels as one CBOR byte string that
// Chromium copies as it is, where the JSON pipe needs base64 that Node encodes and Chromium
// parses and decodes again (BENCHMARKS.md, `npm run bench:channel`).

import type { Readable, Writable } from 'node:stream';
import { decodeMessage, encodeMessage, MessageFramer } from './cbor.js';
import type { MessageTransport, ProtocolMessage } from './transport.js';

/** Chromium refuses DevTools messages over 100 MB on its own reading side. */
const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

export class PipeTransport implements MessageTransport {
  onmessage?: (message: ProtocolMessage) => void;
  onclose?: (reason: string) => void;
  private readonly framer = new MessageFramer(MAX_MESSAGE_BYTES);
  private closed = false;

  constructor(
    private readonly toBrowser: Writable,
    fromBrowser: Readable,
  ) {
    fromBrowser.on('data', (chunk: Buffer) => {
      let messages: Buffer[];
      try {
        messages = this.framer.push(chunk);
      } catch (e) {
        // A stream we cannot frame cannot be resynchronised: the connection is over.
        this.end(`the browser sent what is not DevTools CBOR (${errorText(e)})`);
        return;
      }
      for (const m of messages) this.dispatch(m);
    });
    fromBrowser.on('close', () => this.end('the browser closed its DevTools pipe'));
    fromBrowser.on('error', (e) => this.end(`reading the DevTools pipe failed: ${e.message}`));
    toBrowser.on('error', (e) => this.end(`writing the DevTools pipe failed: ${e.message}`));
  }

  send(message: ProtocolMessage): void {
    if (this.closed) return;
    // A message is several chunks (its large binary values are not copied in): one write for all.
    this.toBrowser.cork();
    for (const chunk of encodeMessage(message)) this.toBrowser.write(chunk);
    this.toBrowser.uncork();
  }

  close(): void {
    this.end('the DevTools connection was closed');
  }

  private end(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.toBrowser.end();
    this.onclose?.(reason);
  }

  private dispatch(bytes: Buffer): void {
    let message: ProtocolMessage;
    try {
      message = decodeMessage(bytes);
    } catch (e) {
      this.end(`the browser sent a message that does not decode (${errorText(e)})`);
      return;
    }
    this.onmessage?.(message);
  }
}

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));
