// How a run's bytes reach its page: the one place that owns the gateway's side of the channel
// (browser-runtime/input-channel.ts is the page's side).
//
// The page always holds one `fetch()` of INPUT_PATH open. It never reaches the network: the
// DevTools Fetch domain pauses it, and the gateway fulfils it with the next run's bytes as a CBOR
// binary value (cbor-pipe-transport.ts), while a small `Runtime.evaluate` tells the page to run
// them. The page opens the next fetch as soon as it has the bytes.
//
// Why, measured with `npm run bench:channel` (2-core Xeon, a batch of 8 images, 1,204,224 bytes;
// BENCHMARKS.md has the table): the way before this one sent the bytes as base64 inside a
// `Runtime.evaluate` expression on the JSON pipe, about 59 ms a batch and 66 core-ms (Node 12,
// the browser process 29 parsing and re-encoding the message, the renderer 25 compiling a 1.6 MB
// script and decoding base64). Fulfilling a fetch over the JSON pipe still paid the JSON parse
// and base64 (45 ms). Raw bytes on the CBOR pipe: about 15 ms and 18 core-ms. Asking for the
// bytes only once told to run would add a round trip (about 3 ms a run); the open fetch saves it.

import type { CDPSession, Protocol } from 'puppeteer-core';
import { INPUT_PATH } from '../../browser-runtime/protocol.js';
import type { CborPipeTransport } from '../devtools/cbor-pipe-transport.js';

interface Input {
  id: number;
  bytes: Uint8Array;
}

export class PageInput {
  /** The page's open fetch of the next input, once Chromium has paused it. */
  private openFetch: string | null = null;
  /** Inputs waiting, in the order their runs were sent, for the page to open its next fetch. */
  private readonly waiting: Input[] = [];
  private nextId = 0;

  private constructor(
    private readonly cdp: CDPSession,
    private readonly transport: CborPipeTransport,
  ) {}

  /** Before the page loads, so its first fetch is already caught. */
  static async attach(cdp: CDPSession, transport: CborPipeTransport, origin: string): Promise<PageInput> {
    const input = new PageInput(cdp, transport);
    cdp.on('Fetch.requestPaused', (e: Protocol.Fetch.RequestPausedEvent) => input.asked(e.requestId));
    await cdp.send('Fetch.enable', { patterns: [{ urlPattern: `${origin}${INPUT_PATH}*`, requestStage: 'Request' }] });
    return input;
  }

  /**
   * Hands `bytes` to the page under a fresh id while `work` runs; `work` tells the page to take
   * that id. The page takes inputs in the order their runs reach it, which is the order of these
   * calls, so inputs are handed over first come, first served.
   */
  async with<T>(bytes: Uint8Array, work: (id: number) => Promise<T>): Promise<T> {
    const input = { id: this.nextId++, bytes };
    if (this.openFetch) {
      this.fulfil(this.openFetch, input);
      this.openFetch = null;
    } else {
      this.waiting.push(input);
    }
    try {
      return await work(input.id);
    } finally {
      // A run that failed before the page took its bytes: they must not go to the next one.
      const at = this.waiting.indexOf(input);
      if (at >= 0) this.waiting.splice(at, 1);
    }
  }

  private asked(requestId: string): void {
    const next = this.waiting.shift();
    if (next) this.fulfil(requestId, next);
    else this.openFetch = requestId;
  }

  private fulfil(requestId: string, { id, bytes }: Input): void {
    const responseHeaders = [{ name: 'x-input-id', value: String(id) }];
    // A failure here (the page closed meanwhile) surfaces as the run's own failure.
    this.transport.command('Fetch.fulfillRequest', { requestId, responseCode: 200, responseHeaders, body: bytes }, this.cdp.id()).catch(() => undefined);
  }
}
