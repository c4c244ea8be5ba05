// The page's side of how a run's bytes arrive (server/bridge/page-input.ts is the gateway's, and
// says why it is built this way). One fetch of the next input is always open, so the gateway can
// send a run's bytes together with the call that runs them; it opens again as soon as the last
// one's bytes are here.

import { INPUT_PATH } from './protocol.js';

let next: Promise<Response>;
function open(): void {
  next = fetch(`${INPUT_PATH}next`);
  next.catch(() => undefined);
}
open();

// Two calls may wait at once (the gateway sends the next run while this one computes): each takes
// the fetch that is open when the one before it is done, never the same one.
let turn: Promise<unknown> = Promise.resolve();

/** The bytes of input `id`; fails if the gateway handed over another's, which would be a bug. */
export function takeInput(id: number, what: string): Promise<Uint8Array> {
  const taken = turn.then(() => take(id, what));
  turn = taken.catch(() => undefined);
  return taken;
}

async function take(id: number, what: string): Promise<Uint8Array> {
  let bytes: ArrayBuffer;
  let got: string | null;
  try {
    const res = await next;
    got = res.headers.get('x-input-id');
    bytes = await res.arrayBuffer();
  } finally {
    open();
  }
  if (got !== String(id)) throw new Error(`input ${id} was handed the ${what} of input ${got}`);
  return new Uint8Array(bytes);
}
