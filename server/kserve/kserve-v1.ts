// A KServe v1 predict request, as TorchServe's kserve envelope takes it:
// {"instances": [{"data": "<base64 image>"}, ...]}, the data also as {"b64": "..."} (how KServe
// clients send binary) and under "body" (which TorchServe's vision handler reads when "data" is
// absent). Each instance is checked and decoded here, before any image work: a bad one is a 400
// that names its index. Pure.

import { badRequest } from '../errors.js';
import { describeUnknownBody, sniffRasterFormat } from '../image/image-format.js';
import { FIXED_BOUNDS } from '../config/limits.js';
import { nestingExceeds } from './kserve-v2.js';
import { isJsonObject } from '../ops/json-object.js';

/**
 * Instances one request may carry: the largest batch_size any model may have. More could never
 * run together, and each instance takes a place in the image decoders' line (64 per decode slot)
 * and in the model's queue, so one request cannot fill either.
 */
export const MAX_INSTANCES = FIXED_BOUNDS.batchSize;

/** {"instances": [{"data": {"b64": "..."}}]} is four levels; anything deeper is not a request. */
const MAX_JSON_DEPTH = 8;

const USAGE = 'send {"instances": [{"data": "<base64 image>"}, ...]}';

/**
 * Standard base64, padded or not; line breaks and spaces (what `base64` writes) are skipped.
 * Null for anything else: Buffer.from would skip the characters it does not know and decode the rest.
 */
export function decodeBase64(text: string): Buffer | null {
  const s = /[\t\n\r ]/.test(text) ? text.replace(/[\t\n\r ]+/g, '') : text;
  if (/[^A-Za-z0-9+/=]/.test(s)) return null;
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 0x3d) end--;
  const padding = s.length - end;
  if (padding > 2 || s.lastIndexOf('=', end - 1) !== -1 || end % 4 === 1) return null;
  if (padding > 0 && s.length % 4 !== 0) return null;
  return Buffer.from(s, 'base64');
}

/** The image bytes of each instance, in order; 400 naming the first bad one. */
export function parseInstances(body: Buffer, maxInstances: number): Buffer[] {
  if (nestingExceeds(body, MAX_JSON_DEPTH)) throw badRequest(`the request nests deeper than ${MAX_JSON_DEPTH} levels; ${USAGE}`);
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch {
    throw badRequest(`the request is not valid JSON; ${USAGE}`);
  }
  if (!isJsonObject(raw)) throw badRequest(`the request must be a JSON object; ${USAGE}`);
  return instancesOf(raw, maxInstances, USAGE).map((instance, i) => {
    const at = `instances[${i}]`;
    if (!isJsonObject(instance)) throw badRequest(`${at} must be an object: {"data": "<base64 image>"}`);
    const value = instance['data'] ?? instance['body'];
    if (value === undefined || value === null) throw badRequest(`${at} has no "data"; ${USAGE}`);
    const text = typeof value === 'string' ? value : isJsonObject(value) && typeof value['b64'] === 'string' ? value['b64'] : null;
    if (text === null) throw badRequest(`${at}: "data" must be a base64 string or {"b64": "<base64>"}`);
    const bytes = decodeBase64(text);
    if (bytes === null) throw badRequest(`${at}: "data" is not base64`);
    if (bytes.length === 0) throw badRequest(`${at}: "data" is empty`);
    if (!sniffRasterFormat(bytes)) throw badRequest(`${at}: "data" is not a supported image (it looks like ${describeUnknownBody(bytes)}); send JPEG, PNG, WebP, GIF, TIFF or AVIF`);
    return bytes;
  });
}

/** A request's "instances": there, and no more than `maxInstances`; `usage` says what a request looks like. */
export function instancesOf(raw: unknown, maxInstances: number, usage: string): unknown[] {
  const instances = isJsonObject(raw) ? raw['instances'] : undefined;
  if (!Array.isArray(instances) || instances.length === 0) throw badRequest(`the request has no "instances"; ${usage}`);
  if (instances.length > maxInstances) {
    throw badRequest(
      `the request has ${instances.length} instances, more than ${maxInstances}: each takes a place in the model's queue (job_queue_size), and at most ${MAX_INSTANCES} (the largest batch_size) may come in one request`,
    );
  }
  return instances;
}
