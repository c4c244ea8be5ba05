// `npm run build:text-model`: writes the text model's store folder (tests/fixtures/text-model-store/
// tiny_sentiment/: config.json, labels.txt, tokenizer.json, 1.0/model.onnx; see model.ts), then
// runs the written model with onnxruntime-node on a padded batch of two texts and compares its
// logits with model.ts's reference. Exits 1 if they differ at all.

import * as ort from 'onnxruntime-node';
import path from 'node:path';
import { reportCheck, writeStoreFiles } from '../model-fixtures.js';
import { idOf, MODEL_NAME, STORE, textModelLogits, textModelStoreFiles, VERSION } from './model.js';

const store = writeStoreFiles(STORE, textModelStoreFiles());

// "[CLS] great movie [SEP]" and "[CLS] bad [SEP] [PAD]": the padding must not count.
const texts = [
  ['[CLS]', 'great', 'movie', '[SEP]'],
  ['[CLS]', 'bad', '[SEP]'],
].map((t) => t.map(idOf));
const length = 4;
const ids = new BigInt64Array(texts.length * length);
const mask = new BigInt64Array(texts.length * length);
texts.forEach((t, r) =>
  t.forEach((id, i) => {
    ids[r * length + i] = BigInt(id);
    mask[r * length + i] = 1n;
  }),
);
const dims = [texts.length, length];
const session = await ort.InferenceSession.create(path.join(store, MODEL_NAME, VERSION, 'model.onnx'), { executionProviders: ['cpu'], logSeverityLevel: 3 });
const problems: string[] = [];
try {
  const out = await session.run({
    input_ids: new ort.Tensor('int64', ids, dims),
    attention_mask: new ort.Tensor('int64', mask, dims),
    token_type_ids: new ort.Tensor('int64', new BigInt64Array(ids.length), dims),
  });
  const logits = out['logits'];
  const got = logits ? Array.from(logits.data as Float32Array) : [];
  const want = texts.flatMap((t) => textModelLogits(t));
  console.log(`onnxruntime-node: [${got.join(', ')}]; reference: [${want.join(', ')}]`);
  if (logits?.dims.join(',') !== '2,2') problems.push(`logits are [${logits?.dims.join(', ')}], expected [2, 2]`);
  if (got.some((v, i) => v !== want[i])) problems.push('onnxruntime-node and the reference differ');
} finally {
  await session.release();
}
reportCheck('text model', problems);
