// The page's side of how a run's bytes arrive (server/page/page-input.ts is the gateway's, and
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

/**
 * The bytes of input `id`; fails if the gateway handed over another's, which would be a bug.
 * One call at a time (main.ts runs calls in turn): two at once would take the same fetch.
 */
export async function takeInput(id: number, what: string): Promise<Uint8Array> {
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
