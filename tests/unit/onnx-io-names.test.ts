import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { archiveRefusal } from '../support/archive-refusal.js';
import { ioNamesOf, onnxIoNames } from '../../server/store/archive/onnx-io-names.js';
import { MODELS, NULL_MODELS } from '../support/paths.js';

// Protobuf's wire format, the few pieces a test graph needs.
const varint = (n: number): number[] => (n < 0x80 ? [n] : [(n % 0x80) | 0x80, ...varint(Math.floor(n / 0x80))]);
const bytes = (field: number, payload: Uint8Array): Buffer => Buffer.concat([Buffer.from([...varint(field * 8 + 2), ...varint(payload.length)]), payload]);
const text = (field: number, s: string) => bytes(field, Buffer.from(s));
const int = (field: number, n: number) => Buffer.from([...varint(field * 8), ...varint(n)]);
const graph = (...parts: Buffer[]) => Buffer.concat([int(1, 8), text(2, 'producer'), bytes(7, Buffer.concat(parts))]);

const fromBuffer = (b: Buffer) => ioNamesOf({ size: b.length, read: async (p, n) => b.subarray(p, p + n) });
const refused = (b: Buffer, pattern: RegExp) => assert.rejects(fromBuffer(b), archiveRefusal(pattern));

describe('ONNX input and output names', () => {
  it("reads the null model's and MobileNet's, as their config.json names them", async () => {
    assert.deepEqual(await onnxIoNames(path.join(NULL_MODELS, 'null_model', '1.0', 'model.onnx')), { input: 'input', output: 'output' });
    assert.deepEqual(await onnxIoNames(path.join(MODELS, 'mobilenet_v2', '1.0', 'model.onnx')), { input: 'input', output: 'output' });
  });

  it('skips inputs that are weights (initializers), wherever they come in the graph', async () => {
    const weight = bytes(5, Buffer.concat([int(1, 3), int(2, 1), bytes(9, Buffer.alloc(12)), text(8, 'conv.weight')]));
    const model = graph(
      bytes(1, text(1, 'Conv')),
      bytes(11, text(1, 'conv.weight')),
      bytes(11, Buffer.concat([text(1, 'pixel_values'), bytes(2, Buffer.from([1]))])),
      bytes(12, text(1, 'logits')),
      bytes(12, text(1, 'features')),
      weight,
    );
    assert.deepEqual(await fromBuffer(model), { input: 'pixel_values', output: 'logits' });
  });

  it('refuses what is not an ONNX model, without reading past its end', async () => {
    await refused(Buffer.from('not a protobuf at all, just text'), /not an ONNX model/);
    await refused(Buffer.concat([int(1, 8), text(2, 'x')]), /no graph/);
    await refused(graph(bytes(12, text(1, 'out'))), /no input that is not a weight/);
    await refused(graph(bytes(11, text(1, 'in'))), /no named output/);
    await refused(Buffer.concat([int(1, 8), Buffer.from([7 * 8 + 2, 0xff, 0xff, 0x03])]), /runs past its message/);
    await refused(Buffer.from([0x08, 0xff, 0xff]), /varint runs past/);
  });
});
