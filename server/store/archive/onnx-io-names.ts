// The first input and output names of an ONNX model, read from its protobuf without loading it:
// ModelProto.graph (field 7), GraphProto.input (11) and output (12), ValueInfoProto.name (1).
// Models before IR version 4 list their weights among the inputs too: an input that is also an
// initializer (GraphProto.initializer, 5; TensorProto.name, 8) is a weight, not what a request
// feeds. Only field headers and names are read; weights and nodes are skipped by their length,
// so a model of any size costs a few reads per field. onnxruntime stays in the page: the gateway
// never loads a model.

import { open } from 'node:fs/promises';
import { ArchiveRefused } from './archive-refused.js';

/** Bytes at a position: a file, or a buffer in tests. */
export interface ByteSource {
  size: number;
  read(position: number, length: number): Promise<Uint8Array>;
}

/** Fields walked in all, nodes and weights included, before the graph is deemed not worth reading. */
export const MAX_FIELDS = 10_000_000;
/** A name is a string of a few dozen bytes; a longer field is not one. */
const MAX_NAME_BYTES = 4096;
const WINDOW = 64 * 1024;

const notOnnx = (why: string) => new ArchiveRefused(`its model file is not an ONNX model: ${why}`);

/** Reads through a window of the source, so that walking small fields does not cost a read each. */
class Cursor {
  private start = 0;
  private bytes: Uint8Array = new Uint8Array(0);
  fields = 0;
  constructor(readonly source: ByteSource) {}

  async at(position: number, length: number): Promise<Uint8Array> {
    if (position < this.start || position + length > this.start + this.bytes.length) {
      this.start = position;
      this.bytes = await this.source.read(position, Math.min(Math.max(length, WINDOW), this.source.size - position));
    }
    return this.bytes.subarray(position - this.start, position - this.start + length);
  }

  /** A varint at `position`, and where the next value starts. */
  async varint(position: number, end: number): Promise<[number, number]> {
    const bytes = await this.at(position, Math.min(10, end - position));
    let value = 0;
    let scale = 1;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      value += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (!Number.isSafeInteger(value)) throw notOnnx('a length past what a file can hold');
        return [value, position + i + 1];
      }
      scale *= 128;
    }
    throw notOnnx('a varint runs past its message');
  }
}

interface Field {
  field: number;
  /** Where a length-delimited field's bytes start and end; for other wire types, an empty range. */
  start: number;
  end: number;
  wire: number;
}

/** Every field of the message between `start` and `end`, in file order. */
async function* fieldsOf(cur: Cursor, start: number, end: number): AsyncGenerator<Field> {
  let p = start;
  while (p < end) {
    if (++cur.fields > MAX_FIELDS) throw new ArchiveRefused(`its ONNX graph has more than ${MAX_FIELDS} fields to walk; give input_name and output_name in the archive's config.json instead`);
    const [tag, afterTag] = await cur.varint(p, end);
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    let next: number;
    let payload = afterTag;
    if (wire === 0) next = (await cur.varint(afterTag, end))[1];
    else if (wire === 1) next = afterTag + 8;
    else if (wire === 5) next = afterTag + 4;
    else if (wire === 2) {
      const [length, afterLength] = await cur.varint(afterTag, end);
      payload = afterLength;
      next = afterLength + length;
    } else throw notOnnx(`wire type ${wire} is not one ONNX writes`);
    if (field === 0 || next > end) throw notOnnx('a field runs past its message');
    yield { field, wire, start: payload, end: wire === 2 ? next : payload };
    p = next;
  }
}

async function nameOf(cur: Cursor, message: Field, nameField: number): Promise<string | null> {
  for await (const f of fieldsOf(cur, message.start, message.end)) {
    if (f.field !== nameField || f.wire !== 2) continue;
    if (f.end - f.start > MAX_NAME_BYTES) throw notOnnx(`a name of ${f.end - f.start} bytes`);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(await cur.at(f.start, f.end - f.start));
    } catch {
      throw notOnnx('a name that is not UTF-8');
    }
  }
  return null;
}

export async function ioNamesOf(source: ByteSource): Promise<{ input: string; output: string }> {
  const cur = new Cursor(source);
  let graph: Field | null = null;
  for await (const f of fieldsOf(cur, 0, source.size)) if (f.field === 7 && f.wire === 2 && graph === null) graph = f;
  if (graph === null) throw notOnnx('no graph (ModelProto field 7)');
  const inputs: string[] = [];
  const weights = new Set<string>();
  let output: string | null = null;
  for await (const f of fieldsOf(cur, graph.start, graph.end)) {
    if (f.wire !== 2) continue;
    if (f.field === 11) inputs.push((await nameOf(cur, f, 1)) ?? '');
    else if (f.field === 5) weights.add((await nameOf(cur, f, 8)) ?? '');
    else if (f.field === 12 && output === null) output = await nameOf(cur, f, 1);
  }
  const input = inputs.find((n) => n !== '' && !weights.has(n));
  if (input === undefined) throw notOnnx('its graph has no input that is not a weight');
  if (!output) throw notOnnx('its graph has no named output');
  return { input, output };
}

/** The names of an ONNX file's first input and first output. */
export async function onnxIoNames(file: string): Promise<{ input: string; output: string }> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    return await ioNamesOf({
      size,
      read: async (position, length) => {
        const buffer = Buffer.alloc(length);
        const { bytesRead } = await handle.read(buffer, 0, length, position);
        return buffer.subarray(0, bytesRead);
      },
    });
  } finally {
    await handle.close();
  }
}
