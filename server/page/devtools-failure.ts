// A DevTools failure as the BridgeError the HTTP layer answers by (errors.ts): a page or browser
// that went away is `closed` or `crashed` (503), a call past its deadline `timeout` (504), and
// Chromium refusing a call is a `runtime` failure (500) whose reason goes to the log.

import { DevToolsError } from '../devtools/protocol-error.js';
import { BridgeError } from './bridge-error.js';

/** `whose`: what the call was for, e.g. "the page for mobilenet_v2/1.0". */
export function asBridgeError(e: unknown, whose: string): BridgeError {
  if (e instanceof BridgeError) return e;
  if (!(e instanceof DevToolsError)) return new BridgeError('runtime', `${whose} failed`, e instanceof Error ? e.message : String(e));
  switch (e.kind) {
    case 'closed':
      return new BridgeError('closed', `${whose} went away`, e.message);
    case 'crashed':
      return new BridgeError('crashed', `${whose} crashed`, e.message);
    case 'timeout':
      return new BridgeError('timeout', e.message);
    default:
      return new BridgeError('runtime', `${whose} refused a DevTools call`, e.message);
  }
}
