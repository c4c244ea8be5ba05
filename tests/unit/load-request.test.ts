import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildFor, loadRequestFor } from '../../server/page/load-request.js';
import type { ModelVersion } from '../../server/store/model-store.js';
import { parseModelConfig } from '../../server/store/model-config.js';

const model = {
  name: 'm',
  version: '1.0',
  config: parseModelConfig({ input_name: 'input', output_name: 'output', output: 'logits', preprocessing: { resize: 256, crop: 224 } }),
} as unknown as ModelVersion;
const choices = { modelUrl: 'models/m/1.0/model.onnx', wasmThreads: 2, parityTolerance: 0.01, maxBatch: 4 };

describe('the onnxruntime-web build a page loads', () => {
  it('a page asked for WASM loads the WASM build, whichever WebGPU build is set', () => {
    for (const webgpu of ['webgpu', 'jsep'] as const) assert.equal(buildFor('wasm', webgpu), 'wasm');
  });

  it('a page that may use WebGPU loads the WebGPU build that is set', () => {
    for (const backend of ['auto', 'webgpu'] as const) for (const webgpu of ['webgpu', 'jsep'] as const) assert.equal(buildFor(backend, webgpu), webgpu);
  });

  it('the load request carries it', () => {
    assert.equal(loadRequestFor(model, { ...choices, backend: 'wasm', ortBuild: 'webgpu' }).ortBuild, 'wasm');
    assert.equal(loadRequestFor(model, { ...choices, backend: 'auto', ortBuild: 'jsep' }).ortBuild, 'jsep');
  });
});

describe("a model's own handler in the load request", () => {
  it('names the module beside the model file, and its input', () => {
    const custom = { ...model, config: parseModelConfig({ input_name: 'input', output_name: 'output', handler: 'handler.js', handler_input: 'bytes' }), labels: ['a'] } as unknown as ModelVersion;
    const req = loadRequestFor(custom, { ...choices, backend: 'wasm', ortBuild: 'webgpu' });
    assert.deepEqual(req.handler, { name: 'custom', labels: ['a'], custom: { url: 'models/m/1.0/handler.js', input: 'bytes' } });
  });
});
