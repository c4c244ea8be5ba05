// How many classes a request asks for, as HTTP's `topk` query parameter and gRPC's `topk` input
// both spell it.

import { badRequest } from '../errors.js';
import { FIXED_BOUNDS } from '../config/limits.js';

export const MAX_TOPK = FIXED_BOUNDS.topk;

/** `raw` as a number of classes from 1 to MAX_TOPK, or `fallback` (the model's topk) when absent. */
export function parseTopK(raw: unknown, fallback: number): number {
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string' || !/^\d{1,4}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_TOPK) {
    throw badRequest(`topk must be an integer from 1 to ${MAX_TOPK}.`);
  }
  return Number(raw);
}
