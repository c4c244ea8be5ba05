// `npm run build:null-model`: writes the null model's store folder (tests/fixtures/null-model-store/
// null_model/: config.json, labels.txt, 1.0/model.onnx; see model.ts), then runs the written file
// with onnxruntime-node and compares its answer with the same computation in plain JS.
// Exits 1 if they differ by more than 1e-4 anywhere.

import * as ort from 'onnxruntime-node';
import path from 'node:path';
import { PROJECT_ROOT } from '../../server/ops/paths.js';
import { reportCheck, writeStoreFiles } from '../model-fixtures.js';
import { CHANNELS, CLASSES, INPUT, MODEL_NAME, OUTPUT, SIDE, STORE, VERSION, maxAbsDiff, nullModelReference, patternInput, readNullModelStoreFiles, top1 } from './model.js';

const TOLERANCE = 1e-4;

const store = writeStoreFiles(STORE, readNullModelStoreFiles(PROJECT_ROOT));

const modelFile = path.join(store, MODEL_NAME, VERSION, 'model.onnx');
const problems: string[] = [];
const session = await ort.InferenceSession.create(modelFile, { executionProviders: ['cpu'], logSeverityLevel: 3 });
try {
  const meta = (m: readonly ort.InferenceSession.ValueMetadata[]) => m.map((v) => `${v.name} ${v.isTensor ? `${v.type} [${v.shape.join(',')}]` : '(not a tensor)'}`).join('; ');
  const io = `${meta(session.inputMetadata)} -> ${meta(session.outputMetadata)}`;
  const wanted = `${INPUT} float32 [batch,${CHANNELS},${SIDE},${SIDE}] -> ${OUTPUT} float32 [batch,${CLASSES}]`;
  if (io !== wanted) problems.push(`interface is ${io}, expected ${wanted}`);

  // Two images of different colour balance: batch 2 exercises the symbolic batch dimension.
  const batch = 2;
  const input = patternInput([
    [1.2, -0.4, -1.1],
    [-0.9, 0.3, 1.5],
  ]);
  const result = await session.run({ [INPUT]: new ort.Tensor('float32', input, [batch, CHANNELS, SIDE, SIDE]) });
  const out = result[OUTPUT];
  const expected = nullModelReference(input, batch);
  if (!out) problems.push(`no "${OUTPUT}" in the answer`);
  else {
    if (out.dims.join(',') !== `${batch},${CLASSES}`) problems.push(`output shape [${out.dims.join(',')}], expected [${batch},${CLASSES}]`);
    const diff = maxAbsDiff(out.data as Float32Array, expected);
    console.log(`onnxruntime-node vs plain JS, batch ${batch}: max abs diff ${diff.toExponential(2)} (tolerance ${TOLERANCE})`);
    if (!(diff <= TOLERANCE)) problems.push(`onnxruntime-node and the JS reference differ by ${diff}`);
    const tops = top1(out.data as Float32Array, batch);
    console.log(`top-1 classes: ${tops.join(', ')}`);
    if (tops[0] === tops[1]) problems.push(`both images have top class ${tops[0]}: the weights do not tell inputs apart`);
  }
} finally {
  await session.release();
}

reportCheck('null model', problems);
