// The gateway's side of a page's channel (browser-runtime/channel.ts is the page's; protocol.ts
// says how it travels). A call and its bytes answer one of the page's open requests for calls, in
// the order calls are made; the page's reply is the body of the request it sends next, paused by
// the Fetch domain, read from the paused request as raw bytes, and then answered with the next
// call when there is one. Nothing on the way is text or base64: both are CBOR byte strings on the
// DevTools pipe (pipe-transport.ts). One call at a time costs one request: the page keeps a second
// one open only once a call has had to wait for a request (PAGE_CHAINS).
//
// Chromium passes a POST body made from an ArrayBuffer whole in `postDataEntries` (checked with
// Chromium 156 up to 60 MB, far above any reply); a Chromium that cut it or kept it back would
// fail the call with that reason, since each reply states its own length (protocol-codec.ts).
//
// Why open requests and not a `Runtime.evaluate` per call: an expression is text the renderer
// compiles, and a result crosses as JSON (BENCHMARKS.md, `npm run bench:channel`).

import { decodeReply, encodeCall, type GatewayCall, markOpenAnother, PAGE_CHAINS, type PageOp, type PageReplies, type Reply } from '../../browser-runtime/protocol.js';
import { BinaryParts } from '../devtools/cbor.js';
import { DevToolsError } from '../devtools/protocol-error.js';
import type { DevToolsSession } from '../devtools/session.js';
import { withDeadline } from './bridge-error.js';
import type { Deadline } from '../ops/deadline.js';
import { log } from '../ops/log.js';
import { fetchCommand, verdictFor } from './page-network-guard.js';

interface Outgoing {
  id: number;
  /** The call's message: its header and its bytes, written to the pipe without being joined. */
  body: BinaryParts;
}

interface Waiting {
  resolve(reply: Reply<PageReplies[PageOp]>): void;
  reject(e: Error): void;
}

interface PausedRequest {
  requestId: string;
  resourceType?: string;
  request: { url: string; method: string; hasPostData?: boolean; postDataEntries?: Array<{ bytes?: Uint8Array }> };
}

export class PageChannel {
  /** The page's open requests for calls, once Chromium has paused them, oldest first. */
  private readonly open: string[] = [];
  /** Calls handed to the page whose reply has not come back: each holds one of its chains. */
  private inPage = 0;
  /** A call had to wait for a request: the page is to open another at the next hand-over. */
  private wantAnother = false;
  /** Calls made and not yet handed over, in order, for the page to open its next fetch. */
  private readonly outgoing: Outgoing[] = [];
  /** Calls made and not yet answered, by id. */
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;

  private constructor(
    private readonly session: DevToolsSession,
    private readonly origin: string,
  ) {}

  /**
   * Before the page loads, so its first fetch is already caught. Every request of the page is
   * paused, not only the channel's: those not to `origin` are refused (page-network-guard.ts).
   */
  static async attach(session: DevToolsSession, origin: string): Promise<PageChannel> {
    const channel = new PageChannel(session, origin);
    session.on('Fetch.requestPaused', (e) => channel.paused(e as unknown as PausedRequest));
    // Calls waiting for a reply fail with the session: a crashed page POSTs nothing.
    session.onEnd((kind, reason) => channel.failAll(new DevToolsError('Fetch.requestPaused').settle(kind, reason)));
    await session.send('Fetch.enable', { patterns: [{ urlPattern: '*', requestStage: 'Request' }] });
    return channel;
  }

  /**
   * Makes `call` in the page, for the model that is `tenant` there; answers its reply, or fails (a timeout BridgeError) at `deadline`.
   * Calls reach the page in the order made.
   */
  async call<Op extends PageOp>(call: GatewayCall<Op>, deadline: Deadline, what: string, tenant = 0): Promise<Reply<PageReplies[Op]>> {
    const id = this.nextId++;
    const out = { id, body: new BinaryParts(encodeCall(id, call as GatewayCall, tenant)) };
    const replied = new Promise<Reply<PageReplies[PageOp]>>((resolve, reject) => this.waiting.set(out.id, { resolve, reject }));
    const open = this.open.shift();
    if (open) this.handOver(open, out);
    else {
      this.wantAnother = true;
      this.outgoing.push(out);
    }
    try {
      return (await withDeadline(replied, deadline, what)) as Reply<PageReplies[Op]>;
    } finally {
      // A call that ended (its deadline) before the page took it must not go to the page.
      this.waiting.delete(out.id);
      const at = this.outgoing.indexOf(out);
      if (at >= 0) this.outgoing.splice(at, 1);
    }
  }

  private paused({ requestId, request, resourceType }: PausedRequest): void {
    const verdict = verdictFor(request.url, this.origin, resourceType);
    if (verdict !== 'channel') {
      if (verdict !== 'continue') log.warn(`a runtime page's request was refused: ${resourceType ?? 'request'} to ${request.url.slice(0, 200)}`);
      const { method, params } = fetchCommand(verdict, requestId);
      // Refused by Chromium only where the page has gone meanwhile.
      this.session.send(method, params).catch(() => undefined);
      return;
    }
    if (request.method === 'POST') this.replied(request);
    const next = this.outgoing.shift();
    if (next) this.handOver(requestId, next);
    else this.open.push(requestId);
  }

  private handOver(requestId: string, out: Outgoing): void {
    // This call's chain, the chains holding calls, and those open: fewer than PAGE_CHAINS in all.
    if (this.wantAnother && 1 + this.inPage + this.open.length < PAGE_CHAINS) {
      markOpenAnother(out.body.parts[0]!);
      this.wantAnother = false;
    }
    this.inPage++;
    // A failure here is the call's own: it fails with Chromium's reason, not at its deadline.
    this.session.send('Fetch.fulfillRequest', { requestId, responseCode: 200, body: out.body }).catch((e: Error) => this.waiting.get(out.id)?.reject(e));
  }

  /** The reply a request for the next call carries: to its call, if that still waits for it. */
  private replied(request: PausedRequest['request']): void {
    this.inPage = Math.max(0, this.inPage - 1);
    const body = postBody(request);
    let decoded: ReturnType<typeof decodeReply> | null = null;
    let problem: Error | null = null;
    try {
      if (!body) throw new Error("Chromium passed no body with the page's reply");
      decoded = decodeReply(body);
    } catch (e) {
      problem = e instanceof Error ? e : new Error(String(e));
    }
    const id = Number(request.url.slice(request.url.lastIndexOf('/') + 1));
    const caller = this.waiting.get(decoded?.id ?? id);
    if (!caller) return;
    if (decoded) caller.resolve(decoded.reply);
    else caller.reject(new DevToolsError('Fetch.requestPaused').settle('protocol', `the reply to call ${id} could not be read: ${problem!.message}`));
  }

  private failAll(e: Error): void {
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
    this.outgoing.length = 0;
  }
}

/** The POST body as Chromium passed it, whole, or null if it passed none (a body kept elsewhere). */
function postBody(request: PausedRequest['request']): Uint8Array | null {
  const parts = request.postDataEntries?.map((e) => e.bytes);
  if (!parts?.length || parts.some((p) => !(p instanceof Uint8Array))) return null;
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts as Uint8Array[]);
}
