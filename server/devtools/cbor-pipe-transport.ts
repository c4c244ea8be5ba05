// The DevTools connection to Chromium: its pipe (fds 3 and 4) in CBOR mode. puppeteer speaks
// JSON through it unchanged; the hot path sends commands whose binary parameters (the pixels of
// a batch) travel as raw bytes.
//
// Why (`npm run bench:channel`, 2-core Xeon, a batch of 8 images, 1,204,224 bytes): on the JSON
// pipe the bytes must be base64 inside a JSON string. Sent as a `Runtime.evaluate` expression they
// cost about 12 ms of CPU in Node (base64, JSON, the pipe), 29 ms in Chromium's browser process
// (parsing and re-encoding the message) and 25 ms in the renderer (compiling a 1.6 MB script,
// decoding base64): 47 to 58 ms a batch. Fulfilling a page's `fetch()` through the Fetch domain
// moved the renderer's share out (9 ms) but left the JSON parse. On this pipe the same bytes are
// one CBOR byte string that Chromium copies as it is.
//
// Every message gets a wire id of this transport's own, so puppeteer's ids and ours never meet.

import type { ConnectionTransport } from 'puppeteer-core';
import type { Readable, Writable } from 'node:stream';
import { decodeMessage, encodeMessage, MessageFramer } from './cbor.js';

interface Pending {
  /** puppeteer's own id for the command, or null for one sent through `command()`. */
  clientId: number | null;
  resolve?: (result: unknown) => void;
  reject?: (e: Error) => void;
}

/** Chromium refuses DevTools messages over 100 MB on its own reading side. */
const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

export class DevToolsCommandError extends Error {}

export class CborPipeTransport implements ConnectionTransport {
  onmessage?: (message: string) => void;
  onclose?: () => void;
  private readonly framer = new MessageFramer(MAX_MESSAGE_BYTES);
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly toBrowser: Writable,
    fromBrowser: Readable,
  ) {
    fromBrowser.on('data', (chunk: Buffer) => {
      let messages: Buffer[];
      try {
        messages = this.framer.push(chunk);
      } catch {
        // A stream we cannot frame cannot be resynchronised: the connection is over.
        this.close();
        return;
      }
      for (const m of messages) this.dispatch(m);
    });
    const gone = () => this.close();
    fromBrowser.on('close', gone);
    fromBrowser.on('error', gone);
    toBrowser.on('error', gone);
  }

  /** From puppeteer: a JSON command. */
  send(message: string): void {
    const parsed = JSON.parse(message) as Record<string, unknown>;
    const clientId = typeof parsed['id'] === 'number' ? parsed['id'] : null;
    if (clientId === null) {
      this.write(parsed);
      return;
    }
    const id = this.wireId();
    this.pending.set(id, { clientId });
    this.write({ ...parsed, id });
  }

  /**
   * A command of our own: `Uint8Array` values in `params` travel as binary. Answers the result;
   * fails with the protocol's error message, or when the connection closes first.
   */
  command(method: string, params: Record<string, unknown>, sessionId?: string): Promise<unknown> {
    if (this.closed) return Promise.reject(new DevToolsCommandError(`${method}: the DevTools connection is closed`));
    return new Promise((resolve, reject) => {
      const id = this.wireId();
      this.pending.set(id, { clientId: null, resolve, reject });
      this.write(sessionId === undefined ? { id, method, params } : { id, method, params, sessionId });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) p.reject?.(new DevToolsCommandError('the DevTools connection closed'));
    this.pending.clear();
    this.toBrowser.end();
    this.onclose?.();
  }

  private wireId(): number {
    // int32 ids, reused only once the one before is answered.
    do this.nextId = this.nextId >= 0x7fffffff ? 1 : this.nextId + 1;
    while (this.pending.has(this.nextId));
    return this.nextId;
  }

  private write(message: Record<string, unknown>): void {
    if (this.closed) return;
    // A message is several chunks (its large binary values are not copied in): one write for all.
    this.toBrowser.cork();
    for (const chunk of encodeMessage(message)) this.toBrowser.write(chunk);
    this.toBrowser.uncork();
  }

  private dispatch(bytes: Buffer): void {
    let message: Record<string, unknown>;
    try {
      message = decodeMessage(bytes);
    } catch {
      this.close();
      return;
    }
    const id = message['id'];
    if (typeof id !== 'number') {
      this.onmessage?.(JSON.stringify(message));
      return;
    }
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (p.clientId !== null) {
      this.onmessage?.(JSON.stringify({ ...message, id: p.clientId }));
      return;
    }
    const error = message['error'] as { message?: string } | undefined;
    if (error) p.reject?.(new DevToolsCommandError(error.message ?? 'DevTools command failed'));
    else p.resolve?.(message['result']);
  }
}
