import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { parseModelConfig } from '../../server/store/model-config.js';
import { PROJECT_ROOT } from '../../server/ops/paths.js';
import { CHANNELS, CLASSES, INPUT, MODEL_NAME, OUTPUT, SIDE, STORE, VERSION, maxAbsDiff, nullModelReference, patternInput, readNullModelStoreFiles, top1 } from '../../scripts/null-model/model.js';

const store = path.join(PROJECT_ROOT, STORE);
const REGENERATE = 'the committed null model store is stale: run `npm run build:null-model` and commit the result';

describe('null model store (tests/fixtures/null-model-store)', () => {
  it('is exactly what scripts/null-model writes', () => {
    const files = readNullModelStoreFiles(PROJECT_ROOT);
    assert.deepEqual([...files.keys()].sort(), [`${MODEL_NAME}/${VERSION}/model.onnx`, `${MODEL_NAME}/config.json`, `${MODEL_NAME}/labels.txt`]);
    for (const [rel, bytes] of files) {
      assert.ok(Buffer.from(bytes).equals(readFileSync(path.join(store, rel))), `${rel}: ${REGENERATE}`);
    }
  });

  it('has a config the server accepts, with MobileNetV2 preprocessing', () => {
    const config = parseModelConfig(JSON.parse(readFileSync(path.join(store, MODEL_NAME, 'config.json'), 'utf8')));
    const mobilenet = parseModelConfig(JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'models/mobilenet_v2/config.json'), 'utf8')));
    assert.equal(config.inputName, INPUT);
    assert.equal(config.outputName, OUTPUT);
    assert.equal(config.output, 'logits');
    assert.equal(config.batchSize, 8);
    assert.equal(config.workers, 1);
    assert.equal(config.backend, 'auto');
    assert.deepEqual(config.normalisation, mobilenet.normalisation);
    assert.equal(config.resize, mobilenet.resize);
  });
});

describe('null model under onnxruntime-node', () => {
  let session: ort.InferenceSession;
  before(async () => {
    session = await ort.InferenceSession.create(path.join(store, MODEL_NAME, VERSION, 'model.onnx'), { executionProviders: ['cpu'], logSeverityLevel: 3 });
  });
  after(async () => {
    await session.release();
  });

  it("has MobileNetV2's interface with a symbolic batch dimension", () => {
    const [input] = session.inputMetadata;
    const [output] = session.outputMetadata;
    assert.ok(input?.isTensor && output?.isTensor);
    assert.deepEqual([input.name, input.type, input.shape], [INPUT, 'float32', ['batch', CHANNELS, SIDE, SIDE]]);
    assert.deepEqual([output.name, output.type, output.shape], [OUTPUT, 'float32', ['batch', CLASSES]]);
  });

  for (const means of [
    [[0, 0, 0]],
    [
      [2.2, 2.4, 2.6],
      [-2.1, -2.0, -1.8],
      [0.5, -1.5, 1.0],
    ],
  ] as const) {
    it(`matches the plain JS computation at batch ${means.length}`, async () => {
      const batch = means.length;
      const input = patternInput(means);
      const out = (await session.run({ [INPUT]: new ort.Tensor('float32', input, [batch, CHANNELS, SIDE, SIDE]) }))[OUTPUT];
      assert.ok(out);
      assert.deepEqual(out.dims, [batch, CLASSES]);
      const diff = maxAbsDiff(out.data as Float32Array, nullModelReference(input, batch));
      assert.ok(diff <= 1e-4, `max abs diff ${diff}`);
    });
  }

  it('gives images of different colour balance different top classes', () => {
    const means = [
      [1.5, 0.2, -1.0],
      [-1.0, 1.5, 0.2],
      [0.2, -1.0, 1.5],
      [-1.5, -1.5, -1.5],
    ] as const;
    const tops = top1(nullModelReference(patternInput(means), means.length), means.length);
    assert.equal(new Set(tops).size, means.length, `top classes ${tops.join(', ')}`);
  });
});
