import type { ErrorRequestHandler } from 'express';
import { BridgeError } from './page/bridge-error.js';
import { log } from './ops/log.js';

/** An error a client may see: an HTTP status and TorchServe's error type. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  toBody(): { code: number; type: string; message: string } {
    return { code: this.status, type: this.type, message: this.message };
  }

  /**
   * The same answer, after which the connection closes: for a request whose body is refused
   * unread, so the server stops reading it (an endless upload would otherwise be read forever).
   */
  closing(): ApiError {
    return new ApiError(this.status, this.type, this.message, { ...this.headers, Connection: 'close' });
  }
}

export const modelNotFound = (name: string) => new ApiError(404, 'ModelNotFoundException', `Model not found: ${name}`);
export const versionNotFound = (name: string, version: string) => new ApiError(404, 'ModelVersionNotFoundException', `Model version: ${version} does not exist for model: ${name}`);
export const resourceNotFound = () => new ApiError(404, 'ResourceNotFoundException', 'Requested resource is not found, please refer to API document.');
export const methodNotAllowed = (allowed: readonly string[]) =>
  new ApiError(405, 'MethodNotAllowedException', 'Requested method is not allowed, please refer to API document.', {
    Allow: allowed.join(', '),
  });
export const badRequest = (message: string) => new ApiError(400, 'BadRequestException', message);
export const payloadTooLarge = (limit: number) => new ApiError(413, 'RequestEntityTooLargeException', `Request body is larger than max_request_size (${limit} bytes).`);
export const imageTooLarge = (width: number, height: number, limit: number) =>
  new ApiError(413, 'RequestEntityTooLargeException', `The image is ${width}x${height} pixels, more than max_image_pixels (${limit}).`);
export const serviceUnavailable = (message: string) => new ApiError(503, 'ServiceUnavailableException', message);
export const timeout = (message: string) => new ApiError(504, 'RequestTimeoutException', message);
export const internalError = () => new ApiError(500, 'InternalServerException', 'Internal server error; the server log has the details.');

/** Browser-side failures: gone is 503 (retry later), late is 504, anything else is our 500. */
export function fromBridgeError(err: BridgeError): ApiError {
  switch (err.kind) {
    case 'closed':
    case 'crashed':
      return serviceUnavailable(`The model is unavailable: ${err.message}.`);
    case 'timeout':
      return timeout(`The prediction timed out: ${err.message}.`);
    case 'handler':
      // The model's author wrote the message (custom-handler.ts keeps stacks and the page's address out of it).
      return new ApiError(500, 'InternalServerException', `The model's handler failed: ${err.message}`);
    case 'busy':
      return new ApiError(503, 'ServiceUnavailableException', `The model is overloaded: ${err.message}; retry later.`, { 'Retry-After': '1' });
    default:
      return new ApiError(500, 'InternalServerException', 'The model failed to run; the server log has the details.');
  }
}

/**
 * What a client is told of any error a handler threw: known errors as they say, a library's 4xx
 * by a fixed message for its status; anything else is logged in full (under `where`, the request
 * or the call) and becomes a plain 500 without internals. Every transport answers from this.
 */
export function toApiError(err: unknown, where: string): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof BridgeError) {
    const apiError = fromBridgeError(err);
    if (apiError.status === 500) log.error(`${where}: the runtime page failed (${err.kind})`, err);
    else if (err.detail) log.warn(`${where}: ${err.message}: ${err.detail}`);
    return apiError;
  }
  const raised = libraryClientError(err);
  if (raised) {
    log.warn(`${where}: answered ${raised.status} for ${raised.message}`);
    return clientError(raised.status);
  }
  log.error(`${where} failed`, err);
  return internalError();
}

/** Everything an Express handler throws ends here, answered in its path's family's shape. */
export const errorHandler: ErrorRequestHandler = (err: unknown, req, res, _next) => {
  // The client has gone (its request was abandoned on purpose): there is no one to answer.
  if (req.socket?.destroyed) return;
  const apiError = toApiError(err, `${req.method} ${req.originalUrl}`);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res
    .status(apiError.status)
    .set(apiError.headers)
    .json(isKServePath(req.path) ? { error: apiError.message } : apiError.toBody());
};

/** Every error under /v1 and /v2 is KServe's `{"error": ...}`, wrong methods and unknown paths too; the rest TorchServe's. */
export const isKServePath = (path: string): boolean => /^\/v[12](?:\/|$)/.test(path);

/**
 * A 4xx raised by Express or a library (a malformed URL, a file gone from under sendFile): its
 * status, and its message, which is for the server's log only: it may hold an absolute path.
 */
export function libraryClientError(err: unknown): { status: number; message: string } | null {
  if (typeof err !== 'object' || err === null || !('status' in err)) return null;
  const { status } = err;
  if (typeof status !== 'number' || status < 400 || status >= 500) return null;
  return { status, message: String((err as { message?: unknown }).message) };
}

/** The fixed answer for a 4xx raised outside our own code: its status, never its message. */
export function clientError(status: number): ApiError {
  if (status === 404) return resourceNotFound();
  if (status === 413) return new ApiError(413, 'RequestEntityTooLargeException', 'Request body is too large, please refer to API document.');
  return new ApiError(status, 'BadRequestException', 'Bad request, please refer to API document.');
}
