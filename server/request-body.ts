// The image out of a prediction request: the raw body, or a multipart form's "data" field
// (else "body", else the first file), as TorchServe reads it. The size limit holds for both.
//
// Every stream on this path has an error listener: an 'error' event without one is thrown by
// Node and takes the whole process down, so one malformed upload would stop every model.

import type { Request } from 'express';
import busboy from 'busboy';
import { badRequest, payloadTooLarge } from './errors.js';

const PREFERRED_FIELDS = ['data', 'body'];

const malformed = (e: Error) => badRequest(`The multipart request is malformed: ${e.message}.`);
const cutShort = () => badRequest('The client closed the connection before the body was complete.');

export async function readImageBody(req: Request, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw payloadTooLarge(limit);
  const type = req.headers['content-type'] ?? '';
  return /^multipart\/form-data/i.test(type) ? readMultipart(req, limit) : readRaw(req, limit);
}

export function readRaw(req: Request, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const fail = (e: Error) => {
      req.removeAllListeners('data');
      req.resume(); // drain, so the response can still be written
      reject(e);
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) fail(payloadTooLarge(limit));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks, size)));
    req.on('error', (e) => reject(badRequest(`The request body could not be read: ${e.message}`)));
    // A client that goes away mid-upload: settle now rather than hold the buffers forever.
    req.on('close', () => {
      if (!req.complete) reject(cutShort());
    });
  });
}

function readMultipart(req: Request, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, defCharset: 'latin1', limits: { fileSize: limit, fieldSize: limit, files: 16, fields: 64, parts: 80 } });
    } catch (e) {
      reject(malformed(e as Error));
      return;
    }
    const parts = new Map<string, Buffer>();
    let firstFile: Buffer | null = null;
    let total = 0;
    let failed = false;
    const fail = (e: Error) => {
      if (failed) return;
      failed = true;
      req.unpipe(parser);
      req.resume();
      reject(e);
    };
    const count = (n: number) => {
      total += n;
      if (total > limit) fail(payloadTooLarge(limit));
    };
    parser.on('file', (name, stream) => {
      const chunks: Buffer[] = [];
      // A form that ends inside a file part fails the part's own stream, not only the parser.
      stream.on('error', (e: Error) => fail(malformed(e)));
      stream.on('data', (c: Buffer) => {
        count(c.length);
        if (!failed) chunks.push(c);
      });
      stream.on('limit', () => fail(payloadTooLarge(limit)));
      stream.on('close', () => {
        if (failed || stream.errored) return;
        const buf = Buffer.concat(chunks);
        if (!parts.has(name)) parts.set(name, buf);
        firstFile ??= buf;
      });
    });
    parser.on('field', (name, value: string, info) => {
      count(value.length);
      // A form field (curl -F data=<file) arrives as text: keep its bytes as sent.
      if (!parts.has(name) && !info.valueTruncated) parts.set(name, Buffer.from(value, 'latin1'));
    });
    parser.on('error', (e: Error) => fail(malformed(e)));
    req.on('error', (e: Error) => fail(badRequest(`The request body could not be read: ${e.message}`)));
    req.on('close', () => {
      if (!req.complete) fail(cutShort());
    });
    parser.on('close', () => {
      if (failed) return;
      const chosen = PREFERRED_FIELDS.map((f) => parts.get(f)).find((b) => b !== undefined) ?? firstFile;
      if (!chosen) fail(badRequest('The multipart request has no file; send the image in a field named "data".'));
      else resolve(chosen);
    });
    req.pipe(parser);
  });
}
