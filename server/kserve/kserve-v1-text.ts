// A KServe v1 predict request to a text classifier, as KServe v1 clients send text and
// TorchServe's kserve envelope reads it: {"instances": ["text", ...]}, or instances of
// {"data": "text"} (also under "body"), or {"data": {"b64": "<base64 of UTF-8 text>"}}. Each
// instance becomes its text's UTF-8 bytes, checked (present, bounded, UTF-8) with the rest of
// the text pipeline (server/text/text-input.ts). Pure.

import { badRequest } from '../errors.js';
import { decodeBase64, instancesOf } from './kserve-v1.js';
import { nestingExceeds } from './kserve-v2.js';
import { isJsonObject } from '../ops/json-object.js';

const MAX_JSON_DEPTH = 8;
const USAGE = 'send {"instances": ["<text>", ...]} or {"instances": [{"data": "<text>"}, ...]}';
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Each instance's text as UTF-8 bytes, in order; 400 naming the first bad one. */
export function parseTextInstances(body: Buffer, maxInstances: number): Buffer[] {
  if (nestingExceeds(body, MAX_JSON_DEPTH)) throw badRequest(`the request nests deeper than ${MAX_JSON_DEPTH} levels; ${USAGE}`);
  let raw: unknown;
  try {
    raw = JSON.parse(utf8.decode(body));
  } catch {
    throw badRequest(`the request is not valid JSON in UTF-8; ${USAGE}`);
  }
  return instancesOf(raw, maxInstances, USAGE).map((instance, i) => {
    const at = `instances[${i}]`;
    const value = isJsonObject(instance) ? (instance['data'] ?? instance['body']) : instance;
    if (typeof value === 'string') return Buffer.from(value, 'utf8');
    if (isJsonObject(value) && typeof value['b64'] === 'string') {
      const bytes = decodeBase64(value['b64']);
      if (bytes === null) throw badRequest(`${at}: "b64" is not base64`);
      return bytes;
    }
    throw badRequest(`${at} must be a string, {"data": "<text>"} or {"data": {"b64": "<base64>"}}`);
  });
}
