// The text_classifier through the real server and Chromium (WASM), on the synthetic text model
// (tests/fixtures/text-model-store: its answer is the softmax of token scores, known exactly):
// /predictions raw and multipart, TorchServe gRPC Predictions and KServe v1 texts, texts of
// different lengths batched together, truncation, and bad texts answered 400 while the server
// keeps serving.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { status as Code } from '@grpc/grpc-js';
import type { RunningServer } from '../../server/server.js';
import { PROJECT_ROOT } from '../../server/ops/paths.js';
import { TextTokenizer } from '../../server/text/text-tokenizer.js';
import { LABELS, MAX_LENGTH, MODEL_NAME, STORE, textModelLogits, tokenizerJson } from '../../scripts/text-model/model.js';
import { callFails, callUnary, grpcClients, type GrpcClients } from '../support/grpc-client.js';
import { call, postForm, postImage, startTestServer } from '../support/server-harness.js';

const tokenizer = new TextTokenizer(tokenizerJson(), {}, MAX_LENGTH);
const utf8 = (s: string) => Buffer.from(s, 'utf8');

/** What TorchServe's text_classifier answers: every class, label to float32 softmax probability. */
function expected(text: string): Record<string, number> {
  const logits = textModelLogits(tokenizer.encode(text).ids);
  const max = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return Object.fromEntries(LABELS.map((l, c) => [l, Math.fround(e[c]! / sum)]));
}

describe('text_classifier on the real server (WASM)', () => {
  let server: RunningServer;
  let api: string;
  let grpc: GrpcClients;
  const predict = (body: Uint8Array) => postImage(`${api}/predictions/${MODEL_NAME}`, body, 'POST', 'text/plain');

  before(async () => {
    server = await startTestServer({ model_store: path.join(PROJECT_ROOT, STORE), load_models: MODEL_NAME, backend: 'wasm' });
    api = server.inferenceUrl;
    grpc = grpcClients(server.grpc!);
  });
  after(async () => {
    grpc?.close();
    await server?.close();
  });

  it('loads with its text probe', async () => {
    const r = await call(`${server.managementUrl}/models/${MODEL_NAME}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body[0].workers[0].status, 'READY', JSON.stringify(r.body));
  });

  it('answers a raw body and a multipart field with every class, as TorchServe does', async () => {
    const text = 'This movie was great!';
    const raw = await predict(utf8(text));
    assert.equal(raw.status, 200, JSON.stringify(raw.body));
    assert.deepEqual(raw.body, expected(text));
    assert.deepEqual(Object.keys(raw.body), LABELS);
    const form = await postForm(`${api}/predictions/${MODEL_NAME}`, {}, { data: 'a terrible, boring film' });
    assert.equal(form.status, 200, JSON.stringify(form.body));
    assert.deepEqual(form.body, expected('a terrible, boring film'));
    assert.ok((form.body as Record<string, number>)['negative']! > 0.98); // logits [4.5, 0]
    const file = await postForm(`${api}/predictions/${MODEL_NAME}`, { data: utf8('Café: I loved it') });
    assert.deepEqual(file.body, expected('Café: I loved it'));
  });

  it('truncates a long text to max_length tokens', async () => {
    const text = `${'good '.repeat(14)}${'terrible '.repeat(20)}`;
    const r = await predict(utf8(text));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, expected(text));
    assert.ok((r.body as Record<string, number>)['positive']! > 0.99, 'the terribles past max_length were cut');
  });

  it('batches texts of different lengths together, each answered as if alone (KServe v1)', async () => {
    const texts = ['bad', 'This movie was great!', 'the quick brown fox jumps over the lazy dog', 'not good'];
    const r = await call(`${api}/v1/models/${MODEL_NAME}:predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: [texts[0], { data: texts[1] }, { data: { b64: utf8(texts[2]!).toString('base64') } }, { body: texts[3] }] }),
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, { predictions: texts.map(expected) });
  });

  it('answers TorchServe gRPC Predictions with the same JSON', async () => {
    const reply = await callUnary(grpc.torchserve, 'Predictions', { model_name: MODEL_NAME, input: { data: utf8('good and great') } });
    assert.deepEqual(JSON.parse(Buffer.from(reply.prediction).toString('utf8')), expected('good and great'));
    const e = await callFails(grpc.torchserve, 'Predictions', { model_name: MODEL_NAME, input: { data: Buffer.from([0xc3, 0x28]) } });
    assert.equal(e.code, Code.INVALID_ARGUMENT);
    assert.match(e.details, /not valid UTF-8/);
  });

  it("refuses bad texts with 400 in TorchServe's format, and keeps serving", async () => {
    const cases: Array<[string, Promise<{ status: number; body: any }>, RegExp]> = [
      ['invalid UTF-8', predict(Buffer.from([0x61, 0xff, 0x62])), /not valid UTF-8/],
      ['empty', predict(Buffer.alloc(0)), /empty/],
      ['too long', predict(Buffer.alloc(4097, 0x61)), /4097 bytes, more than this model's 4096/],
      ['a multipart field cut inside a character', postForm(`${api}/predictions/${MODEL_NAME}`, { data: Buffer.from([0xe2, 0x98]) }), /not valid UTF-8/],
    ];
    for (const [name, sent, message] of cases) {
      const r = await sent;
      assert.equal(r.status, 400, `${name}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, 400, name);
      assert.equal(r.body.type, 'BadRequestException', name);
      assert.match(r.body.message, message, name);
    }
    const kserve = await call(`${api}/v1/models/${MODEL_NAME}:predict`, { method: 'POST', body: JSON.stringify({ instances: ['good', ''] }), headers: { 'content-type': 'application/json' } });
    assert.equal(kserve.status, 400);
    assert.match(kserve.body.error, /^instances\[1\] is empty/);
    const after = await predict(utf8('great'));
    assert.equal(after.status, 200);
    assert.deepEqual(after.body, expected('great'));
  });
});
