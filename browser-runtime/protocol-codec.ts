// The byte layout of every message on the page's channel (protocol.ts says how they travel):
// calls to the page and its replies, numbers and arrays as they are, never as text, except the
// load request and the model's description, which cross once per page.
//
// Call:  u8 op, u8 flags (markOpenAnother), u16 tenant (the model's place in a shared page),
//        u32 call id, then
//          load       UTF-8 JSON of the LoadRequest
//          unload     nothing
//          infer      u32 batch, u32 k, the pixels
//          runTensor  u32 rank, u32 dims[rank], float32 data
//          handle     u32 items, u32 metaWidth, u32 lengths[items], float32 meta[items * metaWidth],
//                     the items back to back
// Reply: u8 ok (1) or failed (0), u8 op, 2 zero bytes, u32 call id, u32 length of the whole
//        reply (so a reply cut short on its way is told from a whole one), 4 zero bytes, then
//          failed     u8 error kind, 3 zero bytes, UTF-8 message
//          load       UTF-8 JSON of the ModelRuntimeInfo
//          unload     UTF-8 JSON of the UnloadReply
//          infer      f64 calledAt, normaliseMs, waitMs, runMs, rankMs; u32 k, ranBatch, rows,
//                     a zero u32; int32 classes[rows * k]; float32 probabilities[rows * k]
//          runTensor  f64 calledAt, runMs, waitMs; u32 rank, u32 dims[rank]; float32 output
//          handle     f64 calledAt, prepareMs, waitMs, runMs, answerMs; u32 ranBatch, u32 answers,
//                     u32 lengths[answers], a zero u32 where answers is odd; each answer's UTF-8
// Little-endian throughout; the typed arrays are the platform's own, little-endian wherever
// Chromium and Node run.

import type { ErrorKind, GatewayCall, HandleReply, InferReply, PageArgs, PageCall, PageOp, PageReplies, Reply, TensorReply } from './protocol.js';

export class ProtocolError extends Error {}

const OPS: readonly PageOp[] = ['load', 'infer', 'runTensor', 'handle', 'unload'];
/** Tenants a shared page can tell apart: the header's u16. */
export const MAX_TENANTS = 0x10000;
const KINDS: readonly ErrorKind[] = ['input', 'model', 'runtime', 'handler'];
const REPLY_HEAD = 16;
const utf8 = new TextEncoder();
const text = new TextDecoder();

/** Writes numbers at a moving offset into a buffer of a known size. */
class Out {
  readonly bytes: Uint8Array<ArrayBuffer>;
  private readonly view: DataView;
  at = 0;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }
  u8(v: number) {
    this.view.setUint8(this.at, v);
    this.at += 1;
  }
  u16(v: number) {
    this.view.setUint16(this.at, v, true);
    this.at += 2;
  }
  u32(v: number) {
    this.view.setUint32(this.at, v, true);
    this.at += 4;
  }
  f64(v: number) {
    this.view.setFloat64(this.at, v, true);
    this.at += 8;
  }
  raw(b: Uint8Array) {
    this.bytes.set(b, this.at);
    this.at += b.length;
  }
}

/** Reads numbers at a moving offset; running past the end is a ProtocolError. */
class In {
  private readonly view: DataView;
  at = 0;
  constructor(
    readonly bytes: Uint8Array,
    private readonly what: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(n: number) {
    if (this.at + n > this.bytes.length) throw new ProtocolError(`${this.what} of ${this.bytes.length} bytes is cut short`);
  }
  u8() {
    this.need(1);
    return this.view.getUint8(this.at++);
  }
  u16() {
    this.need(2);
    const v = this.view.getUint16(this.at, true);
    this.at += 2;
    return v;
  }
  u32() {
    this.need(4);
    const v = this.view.getUint32(this.at, true);
    this.at += 4;
    return v;
  }
  f64() {
    this.need(8);
    const v = this.view.getFloat64(this.at, true);
    this.at += 8;
    return v;
  }
  /** A copy in a fresh buffer, so typed arrays may view it whatever the message's alignment. */
  copy(n: number): ArrayBuffer {
    this.need(n);
    // Not slice(): on a Node Buffer (what the DevTools pipe gives) it is a view of a shared pool.
    const b = new Uint8Array(n);
    b.set(this.bytes.subarray(this.at, this.at + n));
    this.at += n;
    return b.buffer;
  }
  /** A rank, then that many u32 dimensions. */
  dims(): number[] {
    const rank = this.u32();
    this.need(rank * 4);
    return Array.from({ length: rank }, () => this.u32());
  }
  rest(): Uint8Array {
    const b = this.bytes.subarray(this.at);
    this.at = this.bytes.length;
    return b;
  }
}

const asBytes = (a: Int32Array | Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/**
 * A call as the parts of one message, in order: a header, then its bytes as given (not copied,
 * so a batch's images need not be joined first); the transport writes them as one.
 */
export function encodeCall(id: number, call: GatewayCall, tenant = 0): Uint8Array[] {
  if (!Number.isInteger(tenant) || tenant < 0 || tenant >= MAX_TENANTS) throw new ProtocolError(`tenant ${tenant} is not a u16`);
  const head = (size: number) => {
    const out = new Out(size);
    out.u8(OPS.indexOf(call.op));
    out.at += 1; // the flags byte (markOpenAnother)
    out.u16(tenant);
    out.u32(id);
    return out;
  };
  if (call.op === 'unload') return [head(8).bytes];
  if (call.op === 'load') {
    const json = utf8.encode(JSON.stringify(call.args));
    const out = head(8 + json.length);
    out.raw(json);
    return [out.bytes];
  }
  if (call.op === 'infer') {
    const out = head(16);
    out.u32(call.args.batch);
    out.u32(call.args.k);
    const { pixels } = call.args;
    return [out.bytes, ...(pixels instanceof Uint8Array ? [pixels] : pixels)];
  }
  if (call.op === 'handle') {
    const { items, metaWidth, meta } = call.args;
    const out = head(16 + 4 * items.length);
    out.u32(items.length);
    out.u32(metaWidth);
    for (const item of items) out.u32(item.length);
    return [out.bytes, asBytes(meta), ...items];
  }
  const { dims, data } = call.args;
  const out = head(12 + 4 * dims.length);
  out.u32(dims.length);
  for (const d of dims) out.u32(d);
  return [out.bytes, asBytes(data)];
}

/** Asks the page, in a call's header (encodeCall's first part), to open another request for calls. */
export function markOpenAnother(header: Uint8Array): void {
  header[1] = 1;
}

export function decodeCall(bytes: Uint8Array): { id: number; tenant: number; call: PageCall; openAnother: boolean } {
  const r = new In(bytes, 'a call');
  const op = OPS[r.u8()];
  const openAnother = r.u8() === 1;
  const tenant = r.u16();
  const id = r.u32();
  const decoded = decodeArgs(op, r, bytes);
  return { id, tenant, openAnother, call: decoded };
}

function decodeArgs(op: PageOp | undefined, r: In, bytes: Uint8Array): PageCall {
  if (op === 'load') return { op, args: JSON.parse(text.decode(r.rest())) as PageArgs['load'] };
  if (op === 'unload') {
    if (r.at !== bytes.length) throw new ProtocolError(`an unload call has ${bytes.length - r.at} bytes past its header`);
    return { op, args: {} };
  }
  if (op === 'infer') {
    const batch = r.u32();
    const k = r.u32();
    return { op, args: { batch, k, pixels: r.rest() } };
  }
  if (op === 'runTensor') {
    const dims = r.dims();
    const rest = bytes.length - r.at;
    if (rest % 4 !== 0) throw new ProtocolError(`${rest} bytes are not a whole number of float32 values`);
    // The header is a whole number of float32s long: where the message starts aligned (a fetched
    // body does), the data is viewed where it lies, not copied.
    const at = bytes.byteOffset + r.at;
    const data = at % 4 === 0 ? new Float32Array(bytes.buffer, at, rest / 4) : new Float32Array(r.copy(rest));
    return { op, args: { dims, data } };
  }
  if (op === 'handle') {
    const count = r.u32();
    const metaWidth = r.u32();
    r.need(count * 4);
    const lengths = Array.from({ length: count }, () => r.u32());
    const meta = new Float32Array(r.copy(count * metaWidth * 4));
    const items = lengths.map((n) => {
      r.need(n);
      const item = r.bytes.subarray(r.at, r.at + n);
      r.at += n;
      return item;
    });
    if (r.at !== bytes.length) throw new ProtocolError(`a handle call has ${bytes.length - r.at} bytes past its items`);
    return { op, args: { items, metaWidth, meta } };
  }
  throw new ProtocolError(`a call of unknown op ${bytes[0]}`);
}

export function encodeReply<Op extends PageOp>(id: number, op: Op, reply: Reply<PageReplies[Op]>): Uint8Array<ArrayBuffer> {
  let out: Out;
  const head = (size: number, ok: boolean) => {
    out = new Out(REPLY_HEAD + size);
    out.u8(ok ? 1 : 0);
    out.u8(OPS.indexOf(op));
    out.at += 2;
    out.u32(id);
    out.u32(REPLY_HEAD + size);
    out.at += 4;
    return out;
  };
  if (!reply.ok) {
    const message = utf8.encode(reply.error.message);
    const o = head(4 + message.length, false);
    o.u8(KINDS.indexOf(reply.error.kind));
    o.at += 3;
    o.raw(message);
    return o.bytes;
  }
  if (op === 'infer') {
    const v = reply.value as InferReply;
    const o = head(56 + v.classes.byteLength + v.probabilities.byteLength, true);
    for (const x of [v.calledAt, v.normaliseMs, v.waitMs, v.runMs, v.rankMs]) o.f64(x);
    for (const x of [v.k, v.ranBatch, v.k ? v.classes.length / v.k : 0, 0]) o.u32(x);
    o.raw(asBytes(v.classes));
    o.raw(asBytes(v.probabilities));
    return o.bytes;
  }
  if (op === 'runTensor') {
    const v = reply.value as TensorReply;
    const o = head(28 + 4 * v.dims.length + v.output.byteLength, true);
    for (const x of [v.calledAt, v.runMs, v.waitMs]) o.f64(x);
    o.u32(v.dims.length);
    for (const d of v.dims) o.u32(d);
    o.raw(asBytes(v.output));
    return o.bytes;
  }
  if (op === 'handle') {
    const v = reply.value as HandleReply;
    const answers = v.answers.map((a) => utf8.encode(a));
    const lengths = 4 * (answers.length + (answers.length % 2));
    const o = head(48 + lengths + answers.reduce((n, a) => n + a.length, 0), true);
    for (const x of [v.calledAt, v.prepareMs, v.waitMs, v.runMs, v.answerMs]) o.f64(x);
    o.u32(v.ranBatch);
    o.u32(answers.length);
    for (const a of answers) o.u32(a.length);
    if (answers.length % 2) o.u32(0);
    for (const a of answers) o.raw(a);
    return o.bytes;
  }
  const json = utf8.encode(JSON.stringify(reply.value));
  const o = head(json.length, true);
  o.raw(json);
  return o.bytes;
}

/** The call id a reply answers, its op, and the reply; a reply not whole is a ProtocolError. */
export function decodeReply(bytes: Uint8Array): { id: number; op: PageOp; reply: Reply<PageReplies[PageOp]> } {
  const r = new In(bytes, 'a reply');
  const ok = r.u8() === 1;
  const op = OPS[r.u8()];
  r.at += 2;
  const id = r.u32();
  const length = r.u32();
  r.at += 4;
  if (length !== bytes.length) throw new ProtocolError(`the reply to call ${id} has ${bytes.length} of its ${length} bytes`);
  if (!op) throw new ProtocolError(`the reply to call ${id} names an unknown op`);
  if (!ok) {
    const kind = KINDS[r.u8()] ?? 'runtime';
    r.at += 3;
    return { id, op, reply: { ok: false, error: { kind, message: text.decode(r.rest()) } } };
  }
  if (op === 'infer') {
    const [calledAt, normaliseMs, waitMs, runMs, rankMs] = [r.f64(), r.f64(), r.f64(), r.f64(), r.f64()];
    const [k, ranBatch, rows] = [r.u32(), r.u32(), r.u32(), r.u32()];
    const classes = new Int32Array(r.copy(rows! * k! * 4));
    const probabilities = new Float32Array(r.copy(rows! * k! * 4));
    const value: InferReply = { calledAt: calledAt!, normaliseMs: normaliseMs!, waitMs: waitMs!, runMs: runMs!, rankMs: rankMs!, k: k!, ranBatch: ranBatch!, classes, probabilities };
    return { id, op, reply: { ok: true, value } };
  }
  if (op === 'runTensor') {
    const [calledAt, runMs, waitMs] = [r.f64(), r.f64(), r.f64()];
    const dims = r.dims();
    const rest = bytes.length - r.at;
    if (rest % 4 !== 0) throw new ProtocolError(`the reply to call ${id} holds ${rest} bytes, not a whole number of float32 values`);
    const value: TensorReply = { calledAt: calledAt!, runMs: runMs!, waitMs: waitMs!, dims, output: new Float32Array(r.copy(rest)) };
    return { id, op, reply: { ok: true, value } };
  }
  if (op === 'handle') {
    const [calledAt, prepareMs, waitMs, runMs, answerMs] = [r.f64(), r.f64(), r.f64(), r.f64(), r.f64()];
    const ranBatch = r.u32();
    const count = r.u32();
    r.need(count * 4);
    const lengths = Array.from({ length: count }, () => r.u32());
    if (count % 2) r.u32();
    const answers = lengths.map((n) => {
      r.need(n);
      const a = text.decode(r.bytes.subarray(r.at, r.at + n));
      r.at += n;
      return a;
    });
    const value: HandleReply = { calledAt: calledAt!, prepareMs: prepareMs!, waitMs: waitMs!, runMs: runMs!, answerMs: answerMs!, ranBatch, answers };
    return { id, op, reply: { ok: true, value } };
  }
  return { id, op, reply: { ok: true, value: JSON.parse(text.decode(r.rest())) as PageReplies['load'] } };
}
