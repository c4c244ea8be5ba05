// A text as a client sent it, checked at the front door: present, within the model's byte
// bound, and UTF-8. Pure.

import { badRequest } from '../errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** `what` names the text in the message: "The text", "instances[2]". */
export function textOf(bytes: Uint8Array, maxBytes: number, what = 'The text'): string {
  if (bytes.length === 0) throw badRequest(`${what} is empty; send the text to classify as the body (UTF-8), or in a form field named "data".`);
  if (bytes.length > maxBytes) throw badRequest(`${what} is ${bytes.length} bytes, more than this model's ${maxBytes} (its config's "text": {"max_bytes"}).`);
  try {
    return utf8.decode(bytes);
  } catch {
    throw badRequest(`${what} is not valid UTF-8.`);
  }
}
