// The text model: a synthetic sentiment classifier whose answer is known exactly, for testing
// the text_classifier path (tokenizer.json, token ids, padding, the page's answer) end to end.
// It is not a trained model. Each vocabulary entry has a score for "negative" and "positive";
// the logits are the sum of the scores of the tokens the attention mask keeps, plus a score per
// token type id:
//   Gather(token_scores, input_ids) + Gather(type_scores, token_type_ids)
//     -> Mul(Unsqueeze(Cast(attention_mask))) -> ReduceSum over the sequence -> logits [batch, 2]
// Scores are multiples of 1/4, so every sum is exact in float32 and the test's reference
// (textModelLogits) equals what onnxruntime computes, to the bit. [PAD] scores high for
// "negative": a page that let padding through would change the answer.
// The tokenizer.json is a standard BERT one (BertNormalizer lowercasing, BertPreTokenizer,
// WordPiece with "##" pieces, [CLS] text [SEP]), read by Hugging Face's tokenizers as any is.
// build.ts writes the store folder; a unit test checks the committed files against this.

import { modelFolderFiles } from '../model-fixtures.js';
import { bytesField, intField, message, modelProto, stringField } from '../null-model/model.js';

export const STORE = 'tests/fixtures/text-model-store';
export const MODEL_NAME = 'tiny_sentiment';
export const VERSION = '1.0';
export const LABELS = ['negative', 'positive'];
export const MAX_LENGTH = 16;
const PRODUCER = 'webgpu-inference-server scripts/text-model';

/** [token, negative score, positive score], by id. */
export const VOCAB: readonly (readonly [string, number, number])[] = [
  ['[PAD]', 5, 0],
  ['[UNK]', 0.5, 0],
  ['[CLS]', 0, 0],
  ['[SEP]', 0, 0],
  ['[MASK]', 0, 0],
  ['the', 0, 0],
  ['a', 0, 0],
  ['this', 0, 0],
  ['movie', 0, 0],
  ['film', 0, 0],
  ['was', 0, 0],
  ['is', 0, 0],
  ['and', 0, 0],
  ['but', 0, 0],
  ['very', 0, 0.25],
  ['good', 0, 2],
  ['great', 0, 3],
  ['love', 0, 2.5],
  ['##d', 0, 0.5],
  ['bad', 2, 0],
  ['terrible', 3, 0],
  ['boring', 1.5, 0],
  ['not', 1, 0],
  ['quick', 0, 0],
  ['brown', 0, 0],
  ['fox', 0, 0],
  ['jump', 0, 0],
  ['##s', 0, 0],
  ['over', 0, 0],
  ['lazy', 0.25, 0],
  ['dog', 0, 0],
  ['cafe', 0, 0.75],
  ['.', 0, 0],
  [',', 0, 0],
  ['!', 0, 0.25],
];
/** Scores added per token for token type 0 and 1 (a second sentence: never, for one text). */
const TYPE_SCORES = [0, 0, 0.25, -0.25];

const SPECIAL = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

export const idOf = (token: string): number => {
  const id = VOCAB.findIndex(([t]) => t === token);
  if (id < 0) throw new Error(`"${token}" is not in the vocabulary`);
  return id;
};

/** The model's logits for one text's tokens, all kept by the mask: the test's reference. */
export function textModelLogits(ids: readonly number[], typeIds: readonly number[] = ids.map(() => 0)): [number, number] {
  let neg = 0;
  let pos = 0;
  ids.forEach((id, i) => {
    const row = VOCAB[id];
    if (!row) throw new Error(`token id ${id} is not in the vocabulary`);
    neg += row[1] + TYPE_SCORES[typeIds[i]! * 2]!;
    pos += row[2] + TYPE_SCORES[typeIds[i]! * 2 + 1]!;
  });
  return [neg, pos];
}

export function tokenizerJson(): Record<string, unknown> {
  const special = (token: string) => ({ id: token, ids: [idOf(token)], tokens: [token] });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL.map((content) => ({ id: idOf(content), content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: { '[CLS]': special('[CLS]'), '[SEP]': special('[SEP]') },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(VOCAB.map(([t], id) => [t, id])) },
  };
}

// ---------------------------------------------------------------- ONNX (field numbers from onnx.proto)

const FLOAT = 1;
const INT64 = 7;
const ATTRIBUTE_INT = 2;

function initializer(name: string, dims: readonly number[], type: number, raw: Uint8Array): Uint8Array {
  return message(5, ...dims.map((d) => intField(1, d)), intField(2, type), stringField(8, name), bytesField(9, raw));
}

const floats = (values: readonly number[]): Uint8Array => new Uint8Array(Float32Array.from(values).buffer);
const int64s = (values: readonly number[]): Uint8Array => new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer);

function valueInfo(field: number, name: string, type: number, dims: readonly (number | string)[]): Uint8Array {
  const dim = (d: number | string) => message(1, typeof d === 'number' ? intField(1, d) : stringField(2, d));
  return message(field, stringField(1, name), message(2, message(1, intField(1, type), message(2, ...dims.map(dim)))));
}

function node(op: string, name: string, inputs: readonly string[], outputs: readonly string[], ints: Record<string, number> = {}): Uint8Array {
  return message(
    1,
    ...inputs.map((s) => stringField(1, s)),
    ...outputs.map((s) => stringField(2, s)),
    stringField(3, name),
    stringField(4, op),
    ...Object.entries(ints).map(([key, i]) => message(5, stringField(1, key), intField(3, i), intField(20, ATTRIBUTE_INT))),
  );
}

/** The whole ModelProto, deterministic byte for byte. */
export function encodeTextModel(): Uint8Array {
  const graph = message(
    7,
    node('Gather', 'token_gather', ['token_scores', 'input_ids'], ['token_part'], { axis: 0 }),
    node('Gather', 'type_gather', ['type_scores', 'token_type_ids'], ['type_part'], { axis: 0 }),
    node('Add', 'per_token', ['token_part', 'type_part'], ['per_token']),
    node('Cast', 'mask_float', ['attention_mask'], ['mask_float'], { to: FLOAT }),
    node('Unsqueeze', 'mask_column', ['mask_float', 'last_axis'], ['mask_column']),
    node('Mul', 'masked', ['per_token', 'mask_column'], ['masked']),
    node('ReduceSum', 'sum', ['masked', 'sequence_axis'], ['logits'], { keepdims: 0 }),
    stringField(2, MODEL_NAME),
    initializer('token_scores', [VOCAB.length, 2], FLOAT, floats(VOCAB.flatMap(([, n, p]) => [n, p]))),
    initializer('type_scores', [2, 2], FLOAT, floats(TYPE_SCORES)),
    initializer('last_axis', [1], INT64, int64s([2])),
    initializer('sequence_axis', [1], INT64, int64s([1])),
    valueInfo(11, 'input_ids', INT64, ['batch', 'sequence']),
    valueInfo(11, 'attention_mask', INT64, ['batch', 'sequence']),
    valueInfo(11, 'token_type_ids', INT64, ['batch', 'sequence']),
    valueInfo(12, 'logits', FLOAT, ['batch', LABELS.length]),
  );
  return modelProto(graph, PRODUCER);
}

/** Every file of <store>/tiny_sentiment/, by path relative to the store. */
export function textModelStoreFiles(): Map<string, Uint8Array> {
  const config = {
    description:
      'Synthetic sentiment classifier with a known answer (token scores summed under the attention mask), for tests of the text_classifier handler: not a trained model (scripts/text-model/).',
    handler: 'text_classifier',
    default_version: VERSION,
    labels: 'labels.txt',
    tokenizer: 'tokenizer.json',
    input_name: 'input_ids',
    output_name: 'logits',
    output: 'logits',
    text: { max_length: MAX_LENGTH, max_bytes: 4096, attention_mask: 'attention_mask', token_type_ids: 'token_type_ids' },
    backend: 'auto',
    batch_size: 4,
    max_batch_delay: 0,
    workers: 1,
  };
  return modelFolderFiles(MODEL_NAME, VERSION, {
    config,
    labels: `${LABELS.join('\n')}\n`,
    texts: { 'tokenizer.json': `${JSON.stringify(tokenizerJson(), null, 2)}\n` },
    model: encodeTextModel(),
  });
}
