// Token authorization compatible with TorchServe's: at start a key_file.json with an
// inference key and a management key (key-file.ts); requests carry `Authorization: Bearer <key>`.
// On by default whenever an API is bound to an address other than loopback.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { ApiError } from '../errors.js';

export interface ApiKeys {
  inference: string;
  management: string;
}

export function isLoopback(address: URL): boolean {
  return isLoopbackHost(address.hostname.replace(/^\[(.*)\]$/, '$1'));
}

export const isLoopbackHost = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\./.test(host);

/** The keys given in the settings, and a new random one for each that was not. */
export function makeKeys(given: { inference: string | null; management: string | null } = { inference: null, management: null }): ApiKeys {
  const key = () => randomBytes(18).toString('base64url');
  return { inference: given.inference ?? key(), management: given.management ?? key() };
}

/** Compares digests, so neither the key's content nor its length leaks through timing. */
export function keyMatches(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** Whether an `Authorization` value (an HTTP header or gRPC metadata) is `Bearer <expected>`. */
export function bearerMatches(authorization: string | undefined, expected: string): boolean {
  const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  return m !== null && keyMatches(m[1]!, expected);
}

/** TorchServe's answer to a missing or wrong key, over any transport. */
export const invalidKey = () => new ApiError(401, 'InvalidKeyException', 'Token Authorization failed. Token either incorrect, expired, or not provided correctly.', { 'WWW-Authenticate': 'Bearer' });

/** Requires the key of every request that reaches it: mounted after the routes open to anyone. */
export function requireKey(expected: string): RequestHandler {
  return (req, _res, next) => (bearerMatches(req.headers.authorization, expected) ? next() : next(invalidKey()));
}
