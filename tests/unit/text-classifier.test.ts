// The page's text classifier, without a browser: the batch padded to its longest text with the
// attention mask over the padding, TorchServe's answer (softmax, every class by label, in class
// order), and the whole path from text to answer run on the synthetic text model with
// onnxruntime-node, whose answer is known exactly.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { labelledProbabilities, TextClassifier, tokenBatch } from '../../browser-runtime/handlers/text-classifier.js';
import { decodeTokenItem, encodeTokenItem } from '../../browser-runtime/handlers/token-item.js';
import type { OrtModule } from '../../browser-runtime/ort-loader.js';
import type { Outputs } from '../../browser-runtime/handlers/page-handler.js';
import { PROJECT_ROOT } from '../../server/ops/paths.js';
import { TextTokenizer } from '../../server/text/text-tokenizer.js';
import { LABELS, MAX_LENGTH, MODEL_NAME, STORE, textModelLogits, tokenizerJson, VERSION } from '../../scripts/text-model/model.js';

const item = (ids: number[], typeIds = ids.map(() => 0)) => decodeTokenItem(encodeTokenItem(ids, typeIds));
const NO_META = { width: 0, values: new Float32Array(0) };

/** TorchServe's probabilities: the softmax of the logits, as float32. */
function expectedAnswer(logits: readonly number[], labels: readonly string[]): Record<string, number> {
  const max = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return Object.fromEntries(logits.map((_, c) => [labels[c] ?? String(c), Math.fround(e[c]! / sum)]));
}

describe('tokenBatch', () => {
  it('pads each text to the longest with the pad id, mask 0 over the padding, and fills padding rows with the first text', () => {
    const b = tokenBatch([item([2, 7, 3]), item([2, 9, 9, 9, 3], [0, 0, 1, 1, 1])], 3, 0);
    assert.equal(b.length, 5);
    assert.deepEqual([...b.ids].map(Number), [2, 7, 3, 0, 0, 2, 9, 9, 9, 3, 2, 7, 3, 0, 0]);
    assert.deepEqual([...b.mask].map(Number), [1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
    assert.deepEqual([...b.typeIds].map(Number), [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0]);
  });
  it('refuses a batch smaller than its texts', () => assert.throws(() => tokenBatch([item([1]), item([1])], 1, 0), RangeError));
});

describe('labelledProbabilities', () => {
  it("answers every class in class order, label to float32 probability, as TorchServe's map_class_to_label", () => {
    const text = labelledProbabilities([0, 3], LABELS, true);
    assert.deepEqual(Object.keys(JSON.parse(text)), ['negative', 'positive']);
    assert.deepEqual(JSON.parse(text), expectedAnswer([0, 3], LABELS));
  });
  it('names classes by index where the model has no labels, in class order past 9', () => {
    const logits = Array.from({ length: 12 }, (_, i) => i / 4);
    const text = labelledProbabilities(logits, [], true);
    assert.ok(text.startsWith('{"0":') && text.includes(',"9":') && text.indexOf('"9"') < text.indexOf('"10"'));
    assert.deepEqual(JSON.parse(text), expectedAnswer(logits, []));
  });
  it('passes probabilities through where the model gives them', () => {
    assert.equal(labelledProbabilities([0.25, 0.75], LABELS, false), '{"negative":0.25,"positive":0.75}');
  });
});

const spec = { attentionMask: 'attention_mask', tokenTypeIds: 'token_type_ids', padId: 0, probe: { ids: [2, 3], typeIds: [0, 0] } };
const classifier = new TextClassifier(ort as unknown as OrtModule, 'input_ids', 'logits', 'logits', spec, LABELS);

describe('TextClassifier', () => {
  it('feeds int64 ids, mask and type ids of [rows, longest]', () => {
    const feeds = classifier.inputs([encodeTokenItem([2, 15, 3], [0, 0, 0])], 2);
    assert.deepEqual(Object.keys(feeds).sort(), ['attention_mask', 'input_ids', 'token_type_ids']);
    for (const t of Object.values(feeds)) {
      assert.equal(t.type, 'int64');
      assert.deepEqual(t.dims, [2, 3]);
    }
    const withoutTypes = new TextClassifier(ort as unknown as OrtModule, 'input_ids', 'logits', 'logits', { ...spec, tokenTypeIds: null, attentionMask: null }, LABELS);
    assert.deepEqual(Object.keys(withoutTypes.inputs([encodeTokenItem([2, 3], [0, 0])], 1)), ['input_ids']);
  });

  it('answers the first `count` rows, and refuses an output that is not [batch, classes]', () => {
    const outputs: Outputs = { logits: { data: new Float32Array([0, 3, 2, 0, 9, 9]), dims: [3, 2] } };
    assert.deepEqual(
      classifier.answers(outputs, NO_META, 2).map((a) => JSON.parse(a)),
      [expectedAnswer([0, 3], LABELS), expectedAnswer([2, 0], LABELS)],
    );
    assert.throws(() => classifier.answers({ logits: { data: new Float32Array(6), dims: [1, 2, 3] } }, NO_META, 1), /\[batch, classes\]/);
    assert.throws(() => classifier.answers({}, NO_META, 1), /no output named "logits"/);
  });

  it('gives the probe item the gateway tokenised', () => assert.deepEqual([...decodeTokenItem(classifier.probeItem()).ids], [2, 3]));
});

describe('text to answer on the synthetic text model (onnxruntime-node)', () => {
  it('answers exactly what the token scores say, padding and truncation included', async () => {
    const tokenizer = new TextTokenizer(tokenizerJson(), {}, MAX_LENGTH);
    const texts = ['This movie was great!', 'bad', `${'good '.repeat(14)}${'terrible '.repeat(20)}`];
    const tokens = texts.map((t) => tokenizer.encode(t));
    const session = await ort.InferenceSession.create(path.join(PROJECT_ROOT, STORE, MODEL_NAME, VERSION, 'model.onnx'), { executionProviders: ['cpu'], logSeverityLevel: 3 });
    try {
      const feeds = classifier.inputs(
        tokens.map((t) => encodeTokenItem(t.ids, t.typeIds)),
        4,
      );
      const results = await session.run(feeds as unknown as Record<string, ort.Tensor>);
      const out = results['logits']!;
      const answers = classifier.answers({ logits: { data: out.data as Float32Array, dims: [...out.dims] } }, NO_META, texts.length).map((a) => JSON.parse(a));
      assert.deepEqual(
        answers,
        tokens.map((t) => expectedAnswer(textModelLogits(t.ids), LABELS)),
      );
      // Known by hand: great (3) and ! (0.25); bad (2); fourteen goods (28), the terribles cut.
      assert.deepEqual(
        tokens.map((t) => textModelLogits(t.ids)),
        [
          [0, 3.25],
          [2, 0],
          [0, 28],
        ],
      );
    } finally {
      await session.release();
    }
  });
});
