// The page's side of its channel to the gateway (protocol.ts says how it travels; the gateway's
// side is server/page/page-channel.ts). One fetch of the next call is always open, so a call and
// its bytes arrive in one message; it opens again as soon as a call is here, so a second call can
// arrive while the first runs. Each reply is POSTed back under its call's id.

import { decodeCall, encodeReply, INPUT_PATH, OUTPUT_PATH, type PageCall, type PageOp, type PageReplies, type Reply } from './protocol.js';

/** Answers one call; `calledAt` is when it reached the page. */
export type CallHandler = (call: PageCall, calledAt: number) => Promise<Reply<PageReplies[PageOp]>>;

const now = () => performance.timeOrigin + performance.now();

/** Serves calls for as long as the page lives. */
export async function serveCalls(handle: CallHandler): Promise<never> {
  for (;;) {
    let bytes: Uint8Array;
    let calledAt: number;
    try {
      const res = await fetch(`${INPUT_PATH}next`);
      calledAt = now();
      // Not the gateway's answer: the request was not intercepted, and asking again at once would spin.
      if (!res.ok) throw new Error(`${INPUT_PATH}next answered ${res.status}`);
      bytes = new Uint8Array(await res.arrayBuffer());
    } catch (e) {
      // The page is going away, or its channel is not set up: the gateway notices by itself.
      console.error(`the call channel failed: ${e instanceof Error ? e.message : String(e)}`);
      await new Promise((r) => setTimeout(r, 1000));
      continue;
    }
    void answer(bytes, calledAt, handle);
  }
}

async function answer(bytes: Uint8Array, calledAt: number, handle: CallHandler): Promise<void> {
  let id: number;
  let call: PageCall;
  try {
    ({ id, call } = decodeCall(bytes));
  } catch (e) {
    // A call that does not decode is a bug on one side; its caller's deadline ends it.
    console.error(`a call that does not decode: ${e instanceof Error ? e.message : String(e)}`);
    return;
  }
  const reply = await handle(call, calledAt);
  try {
    await fetch(`${OUTPUT_PATH}${id}`, { method: 'POST', body: encodeReply(id, call.op, reply) });
  } catch (e) {
    console.error(`the reply to call ${id} did not go: ${e instanceof Error ? e.message : String(e)}`);
  }
}
