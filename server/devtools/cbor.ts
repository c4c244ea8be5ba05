// The DevTools protocol's binary wire format, as Chromium reads and writes it on
// `--remote-debugging-pipe=cbor` (third_party/inspector_protocol/crdtp/cbor.cc): CBOR (RFC 7049)
// restricted to what round-trips JSON, plus one addition that is the reason to use it at all:
// a byte string tagged 22 is a protocol `binary` value and travels as raw bytes, where the JSON
// pipe needs base64 that Node encodes, Chromium parses and decodes again.
//
// The subset, both ways:
//  - a message is an envelope holding a map: 0xd8 (tag 24), then a byte string with a 32-bit
//    length. Chromium writes the tag without its number byte (0x18) and reads both forms; we
//    write what Chromium writes and read both;
//  - maps and arrays are indefinite-length (0xbf / 0x9f ... 0xff); Chromium wraps nested ones in
//    envelopes too, and so do we, since it may require it of `params`;
//  - integers are int32 (others travel as doubles); doubles are always 64-bit;
//  - text is a UTF-8 string (major type 3) or, for non-ASCII text Chromium writes, a UTF-16LE
//    byte string (major type 2 with no tag);
//  - a `Uint8Array` value is encoded as binary (tag 22), and so is a `BinaryParts` (one binary
//    value written from several arrays, none copied); binary is read back as a Buffer over the
//    message's own bytes (no copy, no base64).
//
// Why not a general CBOR library (cborg and the like): Chromium writes the envelope's tag without
// its number byte (0xd8 0x5a: not well-formed CBOR to a conforming decoder), reads envelopes only
// with a 32-bit length, and sends non-ASCII text as untagged UTF-16 byte strings; a library would
// need this file's rules wrapped around it anyway.

const ENVELOPE = 0xd8;
const ENVELOPE_TAG_NUMBER = 0x18;
const BYTES32 = 0x5a;
const MAP_START = 0xbf;
const ARRAY_START = 0x9f;
const STOP = 0xff;
const FALSE = 0xf4;
const TRUE = 0xf5;
const NULL = 0xf6;
const DOUBLE = 0xfb;
const BINARY_TAG = 0xd6;

const MAJOR_UNSIGNED = 0;
const MAJOR_NEGATIVE = 1;
const MAJOR_BYTES = 2;
const MAJOR_STRING = 3;

export class CborError extends Error {}

/** One binary value made of several byte arrays, in order: sent without joining them first. */
export class BinaryParts {
  constructor(readonly parts: readonly Uint8Array[]) {}
}

/** Byte strings up to this size are copied into the message; larger ones are referenced. */
const COPY_LIMIT = 4096;

/** A growable byte buffer; large binary values are kept as separate chunks, not copied in. */
class Writer {
  private chunks: Uint8Array[] = [];
  private buf = Buffer.allocUnsafe(1024);
  private pos = 0;
  private flushed = 0;

  get length(): number {
    return this.flushed + this.pos;
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.pos++] = b;
  }

  head(major: number, value: number): void {
    const initial = major << 5;
    if (value < 24) this.byte(initial | value);
    else if (value < 0x100) {
      this.room(2);
      this.buf[this.pos++] = initial | 24;
      this.buf[this.pos++] = value;
    } else if (value < 0x10000) {
      this.room(3);
      this.buf[this.pos++] = initial | 25;
      this.buf.writeUInt16BE(value, this.pos);
      this.pos += 2;
    } else {
      this.room(5);
      this.buf[this.pos++] = initial | 26;
      this.buf.writeUInt32BE(value, this.pos);
      this.pos += 4;
    }
  }

  double(v: number): void {
    this.room(9);
    this.buf[this.pos++] = DOUBLE;
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }

  ascii(s: string): void {
    this.head(MAJOR_STRING, s.length);
    this.room(s.length);
    this.pos += this.buf.write(s, this.pos, 'latin1');
  }

  bytes(b: Uint8Array): void {
    if (b.length <= COPY_LIMIT) {
      this.room(b.length);
      this.buf.set(b, this.pos);
      this.pos += b.length;
      return;
    }
    // Large payloads are referenced, not copied: the pipe writes them as they are.
    this.cut();
    this.chunks.push(b);
    this.flushed += b.length;
  }

  /** Where a 32-bit length will be written once known. */
  reserve32(): { at: number } {
    this.cut();
    this.room(4);
    const at = this.flushed + this.pos;
    this.pos += 4;
    return { at };
  }

  private cut(): void {
    if (this.pos === 0) return;
    this.chunks.push(this.buf.subarray(0, this.pos));
    this.flushed += this.pos;
    this.buf = this.buf.subarray(this.pos);
    this.pos = 0;
    if (this.buf.length < 64) this.buf = Buffer.allocUnsafe(1024);
  }

  patch32(slot: { at: number }, value: number): void {
    this.cut();
    let offset = 0;
    for (const chunk of this.chunks) {
      if (slot.at < offset + chunk.length) {
        Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).writeUInt32BE(value, slot.at - offset);
        return;
      }
      offset += chunk.length;
    }
    throw new CborError('envelope length slot out of range');
  }

  finish(): Uint8Array[] {
    this.cut();
    return this.chunks;
  }
}

const isAscii = (s: string) => /^[\x00-\x7f]*$/.test(s);

function encodeValue(w: Writer, v: unknown, depth: number): void {
  if (depth > 300) throw new CborError('nested too deeply');
  if (v === null || v === undefined) return w.byte(NULL);
  if (v === true) return w.byte(TRUE);
  if (v === false) return w.byte(FALSE);
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff && !Object.is(v, -0)) {
      return v >= 0 ? w.head(MAJOR_UNSIGNED, v) : w.head(MAJOR_NEGATIVE, -1 - v);
    }
    return w.double(v);
  }
  if (typeof v === 'string') {
    if (isAscii(v)) return w.ascii(v);
    const utf16 = Buffer.from(v, 'utf16le');
    w.head(MAJOR_BYTES, utf16.length);
    return w.bytes(utf16);
  }
  if (v instanceof Uint8Array) {
    w.byte(BINARY_TAG);
    w.head(MAJOR_BYTES, v.length);
    return w.bytes(v);
  }
  if (v instanceof BinaryParts) {
    w.byte(BINARY_TAG);
    w.head(
      MAJOR_BYTES,
      v.parts.reduce((n, p) => n + p.length, 0),
    );
    for (const p of v.parts) w.bytes(p);
    return;
  }
  if (Array.isArray(v)) {
    return envelope(w, () => {
      w.byte(ARRAY_START);
      for (const item of v) encodeValue(w, item, depth + 1);
      w.byte(STOP);
    });
  }
  if (typeof v === 'object') {
    return envelope(w, () => {
      w.byte(MAP_START);
      for (const [key, item] of Object.entries(v)) {
        if (item === undefined) continue; // as JSON.stringify drops it
        encodeValue(w, key, depth + 1);
        encodeValue(w, item, depth + 1);
      }
      w.byte(STOP);
    });
  }
  throw new CborError(`cannot encode a ${typeof v}`);
}

function envelope(w: Writer, body: () => void): void {
  w.byte(ENVELOPE);
  w.byte(BYTES32);
  const slot = w.reserve32();
  const start = w.length;
  body();
  w.patch32(slot, w.length - start);
}

/**
 * One protocol message (an object) as the chunks of its CBOR envelope, in order. Binary values
 * (`Uint8Array`) of more than a few KiB are not copied: the chunks reference them.
 */
export function encodeMessage(message: Record<string, unknown>): Uint8Array[] {
  const w = new Writer();
  encodeValue(w, message, 0);
  return w.finish();
}

class Reader {
  pos = 0;
  constructor(private readonly b: Buffer) {}

  fail(what: string): never {
    throw new CborError(`${what} at byte ${this.pos}`);
  }

  need(n: number): void {
    if (this.pos + n > this.b.length) this.fail('message cut short');
  }

  byte(): number {
    this.need(1);
    return this.b[this.pos++]!;
  }

  peek(): number {
    this.need(1);
    return this.b[this.pos]!;
  }

  /** The argument of a head whose initial byte was just read. */
  argument(initial: number): number {
    const info = initial & 0x1f;
    if (info < 24) return info;
    if (info === 24) return this.byte();
    if (info === 25) {
      this.need(2);
      const v = this.b.readUInt16BE(this.pos);
      this.pos += 2;
      return v;
    }
    if (info === 26) {
      this.need(4);
      const v = this.b.readUInt32BE(this.pos);
      this.pos += 4;
      return v;
    }
    if (info === 27) {
      this.need(8);
      const v = Number(this.b.readBigUInt64BE(this.pos));
      this.pos += 8;
      return v;
    }
    return this.fail(`unsupported length encoding ${info}`);
  }

  slice(n: number): Buffer {
    this.need(n);
    const s = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  double(): number {
    this.need(8);
    const v = this.b.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }
}

function decodeValue(r: Reader, depth: number): unknown {
  if (depth > 300) r.fail('nested too deeply');
  const initial = r.byte();
  switch (initial) {
    case ENVELOPE: {
      if (r.peek() === ENVELOPE_TAG_NUMBER) r.byte();
      const head = r.byte();
      if (head >> 5 !== MAJOR_BYTES) r.fail('an envelope must hold a byte string');
      const length = r.argument(head);
      const end = r.pos + length;
      const inner = decodeValue(r, depth + 1);
      if (r.pos !== end) r.fail('envelope length does not match its contents');
      return inner;
    }
    case MAP_START: {
      const out: Record<string, unknown> = {};
      while (r.peek() !== STOP) {
        const key = decodeValue(r, depth + 1);
        if (typeof key !== 'string') r.fail('map key is not a string');
        out[key] = decodeValue(r, depth + 1);
      }
      r.byte();
      return out;
    }
    case ARRAY_START: {
      const out: unknown[] = [];
      while (r.peek() !== STOP) out.push(decodeValue(r, depth + 1));
      r.byte();
      return out;
    }
    case TRUE:
      return true;
    case FALSE:
      return false;
    case NULL:
      return null;
    case DOUBLE:
      return r.double();
    case BINARY_TAG: {
      const head = r.byte();
      if (head >> 5 !== MAJOR_BYTES) r.fail('binary tag not followed by a byte string');
      return r.slice(r.argument(head));
    }
  }
  const major = initial >> 5;
  if (major === MAJOR_UNSIGNED) return r.argument(initial);
  if (major === MAJOR_NEGATIVE) return -1 - r.argument(initial);
  if (major === MAJOR_STRING) return r.slice(r.argument(initial)).toString('utf8');
  if (major === MAJOR_BYTES) return r.slice(r.argument(initial)).toString('utf16le');
  return r.fail(`unsupported initial byte 0x${initial.toString(16)}`);
}

/** One whole message (its envelope included) to an object; binary values are Buffers. */
export function decodeMessage(bytes: Buffer): Record<string, unknown> {
  const r = new Reader(bytes);
  if (bytes[0] !== ENVELOPE) r.fail('a message must start with an envelope');
  const v = decodeValue(r, 0);
  if (r.pos !== bytes.length) r.fail('bytes after the message');
  if (v === null || typeof v !== 'object' || Array.isArray(v)) r.fail('a message must be a map');
  return v as Record<string, unknown>;
}

/**
 * Splits a stream of bytes into whole messages: each is an envelope whose header says its
 * length, so no separator is needed (and none is sent).
 */
export class MessageFramer {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxMessageBytes: number) {}

  push(chunk: Buffer): Buffer[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const out: Buffer[] = [];
    while (this.pendingBytes >= 7) {
      // Only the header is joined until the whole message is here: a large message arriving in
      // many chunks is copied once, not once per chunk.
      if (this.pending[0]!.length < 7) this.pending = [Buffer.concat(this.pending)];
      const head = this.pending[0]!;
      const at = head[1] === ENVELOPE_TAG_NUMBER ? 2 : 1;
      if (head[0] !== ENVELOPE || head[at] !== BYTES32) throw new CborError('the stream is not a sequence of CBOR envelopes');
      const size = at + 5 + head.readUInt32BE(at + 1);
      if (size > this.maxMessageBytes) throw new CborError(`a message of ${size} bytes is over the ${this.maxMessageBytes}-byte limit`);
      if (this.pendingBytes < size) break;
      const all = this.pending.length === 1 ? head : Buffer.concat(this.pending, this.pendingBytes);
      out.push(all.subarray(0, size));
      const rest = all.subarray(size);
      this.pending = rest.length ? [rest] : [];
      this.pendingBytes = rest.length;
    }
    return out;
  }
}
