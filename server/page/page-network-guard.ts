// The page's second wall, behind its Content-Security-Policy (runtime-policy.ts): every request
// a runtime page makes is paused by the DevTools Fetch domain (page-channel.ts enables it for all
// URLs), and only those to the runtime listener's own origin go on. This holds where CSP does
// not reach: a navigation of the page itself (to another origin, or another port of this host),
// and any request a policy would let through by mistake. A model's own handler.js runs in the
// page (docs/handlers.md, "The sandbox").

import { INPUT_PATH } from '../../browser-runtime/protocol.js';

/**
 * `channel`: a request of the page's call channel (page-channel.ts answers it); `continue`: a
 * file of the runtime listener; `abort`: a navigation elsewhere, cancelled so the page stays as
 * it is; `block`: anything else elsewhere, failed as blocked.
 */
export type RequestVerdict = 'channel' | 'continue' | 'abort' | 'block';

/** Pure: what happens to a request for `url` of `resourceType` (the Fetch domain's names) from a page of `origin`. */
export function verdictFor(url: string, origin: string, resourceType: string | undefined): RequestVerdict {
  if (url.startsWith(`${origin}${INPUT_PATH}`)) return 'channel';
  if (url.startsWith(`${origin}/`)) return 'continue';
  return resourceType === 'Document' ? 'abort' : 'block';
}

/** What the Fetch domain is told for a paused request that is not the channel's. */
export function fetchCommand(verdict: Exclude<RequestVerdict, 'channel'>, requestId: string): { method: string; params: Record<string, unknown> } {
  if (verdict === 'continue') return { method: 'Fetch.continueRequest', params: { requestId } };
  return { method: 'Fetch.failRequest', params: { requestId, errorReason: verdict === 'abort' ? 'Aborted' : 'BlockedByClient' } };
}
