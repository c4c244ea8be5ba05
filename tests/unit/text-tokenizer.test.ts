// The gateway's half of a text classifier, without a browser: the text checked at the front
// door, tokenised by Hugging Face's tokenizers from the model's tokenizer.json and truncated as
// transformers truncates, the tokens as item bytes, KServe v1's text instances, and the config.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../server/ops/paths.js';
import { ApiError } from '../../server/errors.js';
import { parseModelConfig } from '../../server/store/model-config.js';
import { TextTokenizer } from '../../server/text/text-tokenizer.js';
import { textOf } from '../../server/text/text-input.js';
import { parseTextInstances } from '../../server/kserve/kserve-v1-text.js';
import { decodeTokenItem, encodeTokenItem } from '../../browser-runtime/handlers/token-item.js';
import { idOf, MAX_LENGTH, MODEL_NAME, STORE, textModelStoreFiles, tokenizerJson } from '../../scripts/text-model/model.js';

const store = path.join(PROJECT_ROOT, STORE);
const tokenizer = new TextTokenizer(tokenizerJson(), {}, MAX_LENGTH);
const ids = (...tokens: string[]) => tokens.map(idOf);
const badRequest = (pattern: RegExp) => (e: unknown) => e instanceof ApiError && e.status === 400 && e.type === 'BadRequestException' && pattern.test(e.message);

describe('text model store (tests/fixtures/text-model-store)', () => {
  it('is exactly what scripts/text-model writes', () => {
    for (const [rel, bytes] of textModelStoreFiles()) {
      assert.ok(Buffer.from(bytes).equals(readFileSync(path.join(store, rel))), `${rel}: the committed text model store is stale: run \`npm run build:text-model\` and commit the result`);
    }
  });

  it('has a config the server reads as a text classifier', () => {
    const config = parseModelConfig(JSON.parse(readFileSync(path.join(store, MODEL_NAME, 'config.json'), 'utf8')));
    assert.equal(config.handler, 'text_classifier');
    assert.equal(config.tokenizer, 'tokenizer.json');
    assert.deepEqual(config.text, { maxLength: MAX_LENGTH, maxBytes: 4096, attentionMask: 'attention_mask', tokenTypeIds: 'token_type_ids' });
  });
});

describe('text_classifier config', () => {
  const minimal = { handler: 'text_classifier', input_name: 'input_ids', output_name: 'logits', tokenizer: 'tokenizer.json' };
  it('defaults to 512 tokens, 16 KiB, an attention mask and no token type ids', () => {
    assert.deepEqual(parseModelConfig(minimal).text, { maxLength: 512, maxBytes: 16384, attentionMask: 'attention_mask', tokenTypeIds: null });
    assert.equal(parseModelConfig({ ...minimal, text: { attention_mask: null } }).text?.attentionMask, null);
  });
  it('refuses a text classifier without a tokenizer, and bad bounds', () => {
    assert.throws(() => parseModelConfig({ ...minimal, tokenizer: undefined }), /"tokenizer" must be the tokenizer.json/);
    assert.throws(() => parseModelConfig({ ...minimal, text: { max_length: 2 } }), /"max_length" must be an integer from 3/);
    assert.throws(() => parseModelConfig({ ...minimal, text: { max_bytes: 0 } }), /"max_bytes" must be an integer/);
  });
  it('leaves other handlers without text settings', () => {
    const c = parseModelConfig({ input_name: 'input', output_name: 'output', tokenizer: 'x.json' });
    assert.equal(c.tokenizer, null);
    assert.equal(c.text, null);
  });
});

describe('TextTokenizer', () => {
  it("tokenises as the tokenizer.json says: BERT's lowercasing and accent stripping, WordPiece pieces, [CLS] text [SEP]", () => {
    assert.deepEqual(tokenizer.encode('This movie was GREAT!'), { ids: ids('[CLS]', 'this', 'movie', 'was', 'great', '!', '[SEP]'), typeIds: [0, 0, 0, 0, 0, 0, 0] });
    assert.deepEqual(tokenizer.encode('I loved it, Café').ids, ids('[CLS]', '[UNK]', 'love', '##d', '[UNK]', ',', 'cafe', '[SEP]'));
    assert.deepEqual(tokenizer.encode('   ').ids, ids('[CLS]', '[SEP]'));
  });

  it('truncates the text to max_length with its special tokens, keeping [SEP] last', () => {
    const got = tokenizer.encode(`${'good '.repeat(14)}${'terrible '.repeat(20)}`);
    assert.equal(got.ids.length, MAX_LENGTH);
    assert.deepEqual(got.ids, ids('[CLS]', ...new Array<string>(MAX_LENGTH - 2).fill('good'), '[SEP]'));
    // One token short of the bound is not cut.
    assert.deepEqual(new TextTokenizer(tokenizerJson(), {}, 17).encode('good '.repeat(15)).ids.length, 17);
  });

  it("pads with the tokenizer's [PAD], and refuses a max_length with no room for a text", () => {
    assert.equal(tokenizer.padId, idOf('[PAD]'));
    assert.equal(new TextTokenizer({ ...tokenizerJson(), padding: { pad_id: 7 } }, {}, 8).padId, 7);
    assert.throws(() => new TextTokenizer(tokenizerJson(), {}, 2), /leaves no room/);
    assert.throws(() => new TextTokenizer({ vocab: {} }, {}, 8), /must hold an object with a "model"/);
  });
});

describe('token items', () => {
  it('carry the ids and the type ids, 8 bytes a token, and come back the same', () => {
    const bytes = encodeTokenItem([2, 300000, 3], [0, 1, 0]);
    assert.equal(bytes.length, 24);
    const back = decodeTokenItem(bytes.subarray(0)); // a view, as the page gets it
    assert.deepEqual([...back.ids], [2, 300000, 3]);
    assert.deepEqual([...back.typeIds], [0, 1, 0]);
    const shifted = new Uint8Array(25);
    shifted.set(bytes, 1);
    assert.deepEqual([...decodeTokenItem(shifted.subarray(1)).ids], [2, 300000, 3]);
  });
  it('refuse bytes that are not whole tokens', () => {
    assert.throws(() => decodeTokenItem(new Uint8Array(0)), RangeError);
    assert.throws(() => decodeTokenItem(new Uint8Array(12)), RangeError);
  });
});

describe('textOf', () => {
  it('decodes UTF-8', () => assert.equal(textOf(Buffer.from('naïve ☃', 'utf8'), 100), 'naïve ☃'));
  it('refuses an empty text, one past the byte bound, and invalid UTF-8, with 400', () => {
    assert.throws(() => textOf(Buffer.alloc(0), 100), badRequest(/The text is empty/));
    assert.throws(() => textOf(Buffer.from('abcdef'), 5), badRequest(/6 bytes, more than this model's 5/));
    assert.throws(() => textOf(Buffer.from([0x61, 0xff, 0x62]), 100, 'instances[1]'), badRequest(/^instances\[1\] is not valid UTF-8/));
    assert.throws(() => textOf(Buffer.from([0xe2, 0x98]), 100), badRequest(/not valid UTF-8/)); // cut inside a character
  });
});

describe('parseTextInstances', () => {
  const parse = (body: unknown) => parseTextInstances(Buffer.from(JSON.stringify(body)), 8).map((b) => b.toString('utf8'));
  it('takes strings, {"data": text}, {"body": text} and {"data": {"b64": ...}}', () => {
    assert.deepEqual(parse({ instances: ['a', { data: 'b ☃' }, { body: 'c' }, { data: { b64: Buffer.from('d').toString('base64') } }] }), ['a', 'b ☃', 'c', 'd']);
  });
  it('refuses what is not a text, naming the instance', () => {
    assert.throws(() => parse({ instances: [] }), badRequest(/no "instances"/));
    assert.throws(() => parse({ instances: ['a', 3] }), badRequest(/^instances\[1\] must be a string/));
    assert.throws(() => parse({ instances: [{ data: { b64: '%%' } }] }), badRequest(/instances\[0\]: "b64" is not base64/));
    assert.throws(() => parse({ instances: new Array(9).fill('a') }), badRequest(/9 instances, more than 8/));
    assert.throws(() => parseTextInstances(Buffer.from([0x7b, 0xff, 0x7d]), 8), badRequest(/not valid JSON in UTF-8/));
  });
});
