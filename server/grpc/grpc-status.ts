// An ApiError (what an HTTP client would get) as a gRPC status. One table, so that every service
// maps alike: KServe's and TorchServe's specs name these codes; a full queue is
// RESOURCE_EXHAUSTED (retry later, elsewhere), a server shutting down or a model without a worker
// UNAVAILABLE (retry elsewhere), a deadline DEADLINE_EXCEEDED.

import { Metadata, status as Code, type ServiceError } from '@grpc/grpc-js';
import type { ApiError } from '../errors.js';

export function grpcCodeOf(e: ApiError): Code {
  switch (e.status) {
    case 400:
      return Code.INVALID_ARGUMENT;
    case 401:
      return Code.UNAUTHENTICATED;
    case 403:
      return Code.PERMISSION_DENIED;
    case 404:
      return Code.NOT_FOUND;
    case 405:
    case 501:
      return Code.UNIMPLEMENTED;
    case 409:
      return Code.FAILED_PRECONDITION;
    case 413:
    case 429:
      return Code.RESOURCE_EXHAUSTED;
    case 503:
      // Overload says when to retry; a shutdown or a missing worker does not.
      return e.headers['Retry-After'] ? Code.RESOURCE_EXHAUSTED : Code.UNAVAILABLE;
    case 504:
      return Code.DEADLINE_EXCEEDED;
    default:
      return e.status >= 500 ? Code.INTERNAL : Code.UNKNOWN;
  }
}

/** The status a call ends with: the code, the message, and TorchServe's error type in the trailers. */
export function serviceError(e: ApiError): Partial<ServiceError> {
  const metadata = new Metadata();
  metadata.set('error-type', e.type);
  return { code: grpcCodeOf(e), details: e.message, metadata };
}

export const codeName = (code: Code): string => Code[code] ?? String(code);
