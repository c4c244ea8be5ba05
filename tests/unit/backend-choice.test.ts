import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chooseBackend } from '../../browser-runtime/backend-choice.js';
import type { AdapterInfo } from '../../browser-runtime/protocol.js';

const gpu: AdapterInfo = { vendor: 'nvidia', architecture: 'hopper', device: '', description: '', isFallbackAdapter: false };
const swiftshader: AdapterInfo = { vendor: 'google', architecture: 'swiftshader', device: '', description: '', isFallbackAdapter: true };

describe('chooseBackend', () => {
  it("'wasm' always gives wasm with no reason, whatever the adapter", () => {
    for (const adapter of [gpu, swiftshader, null]) {
      assert.deepEqual(chooseBackend('wasm', adapter, null), { backend: 'wasm', reason: null });
    }
    assert.deepEqual(chooseBackend('wasm', null, 'WebGPU is disabled'), { backend: 'wasm', reason: null });
  });

  for (const preference of ['auto', 'webgpu'] as const) {
    it(`'${preference}' without an adapter falls back to wasm and says why`, () => {
      assert.deepEqual(chooseBackend(preference, null, null), { backend: 'wasm', reason: 'no WebGPU adapter' });
    });

    it(`'${preference}' without an adapter includes the adapter error`, () => {
      assert.deepEqual(chooseBackend(preference, null, 'navigator.gpu is undefined'), {
        backend: 'wasm',
        reason: 'no WebGPU adapter (navigator.gpu is undefined)',
      });
    });

    it(`'${preference}' with a hardware adapter gives webgpu`, () => {
      assert.deepEqual(chooseBackend(preference, gpu, null), { backend: 'webgpu', reason: null });
    });
  }

  it("'auto' with a fallback adapter gives wasm, naming the architecture", () => {
    const choice = chooseBackend('auto', swiftshader, null);
    assert.equal(choice.backend, 'wasm');
    assert.equal(choice.reason, 'the only WebGPU adapter is a CPU fallback (swiftshader); use backend "webgpu" to run on it anyway');
  });

  it("'auto' with a fallback adapter names the vendor when there is no architecture, else 'unknown'", () => {
    assert.match(chooseBackend('auto', { ...swiftshader, architecture: '' }, null).reason ?? '', /CPU fallback \(google\)/);
    assert.match(chooseBackend('auto', { ...swiftshader, architecture: '', vendor: '' }, null).reason ?? '', /CPU fallback \(unknown\)/);
  });

  it("'webgpu' takes a fallback adapter anyway", () => {
    assert.deepEqual(chooseBackend('webgpu', swiftshader, null), { backend: 'webgpu', reason: null });
  });

  it('ignores an adapter error when there is an adapter', () => {
    assert.deepEqual(chooseBackend('auto', gpu, 'some earlier warning'), { backend: 'webgpu', reason: null });
  });
});
