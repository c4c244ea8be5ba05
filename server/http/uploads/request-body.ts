// The body of a request, read into memory against its bounds, counted as the bytes arrive: its
// own size (max_request_size, 413), the bytes its client has still arriving (uploads.ts, 429),
// the server-wide budget of bytes held at once (the request's admission ticket, 503), and a
// minimum pace (408 when it stalls). A declared length past max_request_size has been refused
// before reading started (routes/inference-request.ts).
// Predictions take the image from the raw body, or from a multipart form's "data" field (else
// "body", else the first file), as TorchServe reads it.
//
// Every stream on this path has an error listener: an 'error' event without one is thrown by
// Node and takes the whole process down, so one malformed upload would stop every model. A body
// refused before its end is answered with the connection closing, so that the rest of it is not
// read (an endless upload would otherwise be read until the request timeout), and what was read
// of it is given back at once, not once its answer is written: a client that reads no answer
// would otherwise keep its bytes held.

import type { Request } from 'express';
import busboy from 'busboy';
import type { Ticket } from '../../pipeline/admission.js';
import { ApiError, badRequest, payloadTooLarge } from '../../errors.js';
import { lingerOnClose } from './lingering-close.js';
import type { Uploads } from './uploads.js';

const PREFERRED_FIELDS = ['data', 'body'];

const malformed = (e: Error) => badRequest(`The multipart request is malformed: ${e.message}.`);
const cutShort = () => badRequest('The client closed the connection before the body was complete.');
const unreadable = (e: Error) => badRequest(`The request body could not be read: ${e.message}.`);

export interface BodyLimits {
  /** max_request_size. */
  maxBytes: number;
  /** The request's admission ticket: every byte read is held against the server's budget. */
  ticket: Ticket;
  /** Bodies while they arrive: the client's bound and the minimum pace. */
  uploads: Uploads;
}

interface Arrival {
  /** Counts `n` more bytes against every bound; the refusal, if they pass one. */
  count(n: number): ApiError | null;
  /** The last byte is in. */
  done(): void;
  /** Refused or cut short: nothing of it is kept, so its bytes go back now. */
  abandon(): void;
}

/** Starts counting a body's bytes; throws the 429 if its client may not send it now. `stalled` hears of a 408. */
function arrival(req: Request, { maxBytes, ticket, uploads }: BodyLimits, stalled: (e: ApiError) => void): Arrival {
  const declared = Number(req.headers['content-length']);
  const upload = uploads.begin(req.socket.remoteAddress, Number.isFinite(declared) ? declared : 0, stalled);
  let size = 0;
  return {
    count(n) {
      size += n;
      if (size > maxBytes) return payloadTooLarge(maxBytes);
      try {
        upload.received(n);
        ticket.hold(n);
      } catch (e) {
        return e instanceof ApiError ? e : unreadable(e as Error);
      }
      return null;
    },
    done: () => upload.end(),
    abandon() {
      upload.end();
      ticket.release();
    },
  };
}

export async function readImageBody(req: Request, limits: BodyLimits): Promise<Buffer> {
  const type = req.headers['content-type'] ?? '';
  return /^multipart\/form-data/i.test(type) ? readMultipart(req, limits) : readRaw(req, limits);
}

export function readRaw(req: Request, limits: BodyLimits): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let body: Arrival | null = null;
    let settled = false;
    const giveUp = (e: ApiError) => {
      if (settled) return;
      settled = true;
      body?.abandon();
      reject(e);
    };
    const refuse = (e: ApiError) => {
      if (settled) return;
      req.removeAllListeners('data');
      lingerOnClose(req.socket);
      req.resume(); // let the response be written; the connection closes after it
      giveUp(e.closing());
    };
    try {
      body = arrival(req, limits, refuse);
    } catch (e) {
      refuse(e as ApiError);
      return;
    }
    const counted = body;
    req.on('data', (chunk: Buffer) => {
      const refused = counted.count(chunk.length);
      if (refused) return refuse(refused);
      size += chunk.length;
      chunks.push(chunk);
    });
    req.on('end', () => {
      settled = true;
      counted.done();
      resolve(Buffer.concat(chunks, size));
    });
    req.on('error', (e) => giveUp(unreadable(e)));
    // A client that goes away mid-upload: settle now rather than hold the buffers forever.
    req.on('close', () => {
      if (!req.complete) giveUp(cutShort());
    });
  });
}

function readMultipart(req: Request, limits: BodyLimits): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    let body: Arrival;
    try {
      const { maxBytes } = limits;
      parser = busboy({ headers: req.headers, defCharset: 'latin1', limits: { fileSize: maxBytes, fieldSize: maxBytes, files: 16, fields: 64, parts: 80 } });
      body = arrival(req, limits, (e) => fail(e));
    } catch (e) {
      // Refused from its headers, with none of its body read: the connection closes too.
      lingerOnClose(req.socket);
      reject((e instanceof ApiError ? e : malformed(e as Error)).closing());
      return;
    }
    const parts = new Map<string, Buffer>();
    let firstFile: Buffer | null = null;
    let settled = false;
    // Refused before its end, the rest of the body is not read: the connection closes.
    const fail = (e: ApiError) => {
      if (settled) return;
      settled = true;
      body.abandon();
      req.unpipe(parser);
      if (!req.complete) lingerOnClose(req.socket);
      req.resume();
      reject(req.complete ? e : e.closing());
    };
    // Counted as the bytes arrive, before busboy buffers any of them.
    req.on('data', (chunk: Buffer) => {
      const refused = body.count(chunk.length);
      if (refused) fail(refused);
    });
    req.on('end', () => body.done());
    parser.on('file', (name, stream) => {
      const chunks: Buffer[] = [];
      // A form that ends inside a file part fails the part's own stream, not only the parser.
      stream.on('error', (e: Error) => fail(malformed(e)));
      stream.on('data', (c: Buffer) => {
        if (!settled) chunks.push(c);
      });
      stream.on('limit', () => fail(payloadTooLarge(limits.maxBytes).closing()));
      stream.on('close', () => {
        if (settled || stream.errored) return;
        const buf = Buffer.concat(chunks);
        if (!parts.has(name)) parts.set(name, buf);
        firstFile ??= buf;
      });
    });
    parser.on('field', (name, value: string, info) => {
      // A form field (curl -F data=<file) arrives as text: keep its bytes as sent.
      if (!parts.has(name) && !info.valueTruncated) parts.set(name, Buffer.from(value, 'latin1'));
    });
    parser.on('error', (e: Error) => fail(malformed(e)));
    req.on('error', (e: Error) => fail(unreadable(e)));
    req.on('close', () => {
      if (!req.complete) fail(cutShort());
    });
    parser.on('close', () => {
      if (settled) return;
      const chosen = PREFERRED_FIELDS.map((f) => parts.get(f)).find((b) => b !== undefined) ?? firstFile;
      if (!chosen) fail(badRequest('The multipart request has no file; send the input (an image, or the text for a text model) in a field named "data".'));
      else {
        settled = true; // nothing that happens to the streams now gives its bytes back
        resolve(chosen);
      }
    });
    req.pipe(parser);
  });
}
