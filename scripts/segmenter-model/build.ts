// `npm run build:segmenter-model`: writes the palette segmenter's store folder
// (tests/fixtures/segmenter-store/palette_segmenter/; see model.ts), then runs the written file
// with onnxruntime-node and compares its logits with the same computation in plain JS.
// Exits 1 if they differ by more than 1e-4 anywhere.

import * as ort from 'onnxruntime-node';
import path from 'node:path';
import { reportCheck, writeStoreFiles } from '../model-fixtures.js';
import { maxAbsDiff } from '../null-model/model.js';
import { CLASSES, INPUT, MODEL_NAME, OUTPUT, SIDE, STORE, VERSION, paletteReference, paletteStoreFiles } from './model.js';

const TOLERANCE = 1e-4;

const store = writeStoreFiles(STORE, paletteStoreFiles());

const session = await ort.InferenceSession.create(path.join(store, MODEL_NAME, VERSION, 'model.onnx'), { executionProviders: ['cpu'], logSeverityLevel: 3 });
const problems: string[] = [];
try {
  // Two images of values spread over [0, 1]: batch 2 exercises the symbolic batch dimension.
  const batch = 2;
  const input = Float32Array.from({ length: batch * 3 * SIDE * SIDE }, (_, i) => (Math.sin(i * 0.731) + 1) / 2);
  const out = (await session.run({ [INPUT]: new ort.Tensor('float32', input, [batch, 3, SIDE, SIDE]) }))[OUTPUT];
  if (!out || out.dims.join(',') !== `${batch},${CLASSES},${SIDE},${SIDE}`) problems.push(`output is [${out?.dims.join(',')}], expected [${batch},${CLASSES},${SIDE},${SIDE}]`);
  else {
    const diff = maxAbsDiff(out.data as Float32Array, paletteReference(input, batch));
    console.log(`onnxruntime-node vs plain JS, batch ${batch}: max abs diff ${diff.toExponential(2)} (tolerance ${TOLERANCE})`);
    if (!(diff <= TOLERANCE)) problems.push(`onnxruntime-node and the JS reference differ by ${diff}`);
  }
} finally {
  await session.release();
}
reportCheck('palette segmenter', problems);
