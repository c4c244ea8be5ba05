// The page's side of its channel to the gateway (protocol.ts says how it travels; the gateway's
// side is server/page/page-channel.ts). A chain keeps one request for calls open: a call and its
// bytes arrive as its answer, and the request after it is the POST of that call's reply, which
// the gateway answers with the next call. One call at a time is then one request each; when the
// gateway says so in a call's header, a second chain opens, so that a second call can arrive
// while the first runs.

import { callReceived } from './progress.js';
import { decodeCall, encodeReply, INPUT_PATH, PAGE_CHAINS, type PageCall, type PageOp, type PageReplies, type Reply } from './protocol.js';

/** Answers one call; `calledAt` is when it reached the page. */
export type CallHandler = (tenant: number, call: PageCall, calledAt: number) => Promise<Reply<PageReplies[PageOp]>>;

const now = () => performance.timeOrigin + performance.now();

let chains = 0;

/** Serves calls for as long as the page lives. */
export function serveCalls(handle: CallHandler): Promise<never> {
  openChain(handle);
  return new Promise<never>(() => {});
}

function openChain(handle: CallHandler): void {
  chains++;
  void chain(handle);
}

async function chain(handle: CallHandler): Promise<never> {
  let reply: { id: number; body: Uint8Array<ArrayBuffer> } | null = null;
  for (;;) {
    let bytes: Uint8Array;
    let calledAt: number;
    try {
      const res = await (reply ? fetch(`${INPUT_PATH}reply/${reply.id}`, { method: 'POST', body: reply.body }) : fetch(`${INPUT_PATH}next`));
      calledAt = now();
      // Not the gateway's answer: the request was not intercepted, and asking again at once would spin.
      if (!res.ok) throw new Error(`${INPUT_PATH} answered ${res.status}`);
      bytes = new Uint8Array(await res.arrayBuffer());
    } catch (e) {
      // The page is going away, or its channel is not set up: the gateway notices by itself (a
      // reply lost here fails its call at the call's deadline).
      console.error(`the call channel failed: ${e instanceof Error ? e.message : String(e)}`);
      reply = null;
      await new Promise((r) => setTimeout(r, 1000));
      continue;
    }
    reply = null;
    let decoded: ReturnType<typeof decodeCall>;
    try {
      decoded = decodeCall(bytes);
    } catch (e) {
      // A call that does not decode is a bug on one side; its caller's deadline ends it.
      console.error(`a call that does not decode: ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    if (decoded.openAnother && chains < PAGE_CHAINS) openChain(handle);
    callReceived();
    const { id, tenant, call } = decoded;
    reply = { id, body: encodeReply(id, call.op, await handle(tenant, call, calledAt)) };
  }
}
