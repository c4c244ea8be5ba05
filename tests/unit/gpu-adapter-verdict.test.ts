import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { adapterName, judgeAdapter, vulkanTrouble } from '../../scripts/bundle/gpu-check/adapter-verdict.js';

const adapter = (vendor: string, architecture: string, isFallbackAdapter: boolean, description = '') => ({ vendor, architecture, device: '', description, isFallbackAdapter });

describe('judgeAdapter', () => {
  it('takes an NVIDIA adapter that is no fallback for hardware', () => {
    assert.deepEqual(judgeAdapter(adapter('nvidia', 'hopper', false, 'NVIDIA H200'), null), { kind: 'hardware' });
  });

  it('calls SwiftShader software, fallback flag or not', () => {
    assert.deepEqual(judgeAdapter(adapter('google', 'swiftshader', true), null), { kind: 'software', why: 'software adapter: google swiftshader, isFallbackAdapter true' });
    assert.equal(judgeAdapter(adapter('google', 'swiftshader', false), null).kind, 'software');
  });

  it("calls Mesa's CPU drivers software even when they do not say they are a fallback", () => {
    assert.equal(judgeAdapter(adapter('mesa', '', false, 'llvmpipe (LLVM 15.0.6, 256 bits)'), null).kind, 'software');
    assert.equal(judgeAdapter(adapter('mesa', 'lavapipe', false), null).kind, 'software');
  });

  it('says why there is no adapter', () => {
    assert.deepEqual(judgeAdapter(null, 'navigator.gpu is missing'), { kind: 'none', why: 'no WebGPU adapter: navigator.gpu is missing' });
    assert.deepEqual(judgeAdapter(null, null), { kind: 'none', why: 'no WebGPU adapter: requestAdapter returned null' });
  });
});

describe('adapterName', () => {
  it('adds the driver description where it says more', () => {
    assert.equal(adapterName(adapter('nvidia', 'hopper', false, 'NVIDIA H200')), 'nvidia hopper (NVIDIA H200)');
    assert.equal(adapterName(adapter('google', 'swiftshader', true)), 'google swiftshader');
    assert.equal(adapterName(adapter('', '', false)), 'unnamed adapter');
  });
});

describe('vulkanTrouble', () => {
  it("keeps Vulkan and GPU-process failures once each, without Chromium's log prefix", () => {
    const stderr = [
      '[1128/232246.090107:ERROR:ui/gl/angle_platform_impl.cc:34] Display.cpp:1505 (initialize): Internal Vulkan error (-7): A requested extension is not supported',
      'ERR: Display.cpp:1505 (initialize): Internal Vulkan error (-7): A requested extension is not supported',
      '[1128/232246.1:ERROR:gpu/vulkan/vulkan_instance.cc:120] vkCreateInstance failed: VK_ERROR_INCOMPATIBLE_DRIVER',
      '[1128/232246.2:INFO:CONSOLE:1] a page said hello',
      '[1128/232246.3:WARNING:vulkan] Vulkan is fine',
    ].join('\n');
    assert.deepEqual(vulkanTrouble(stderr), [
      'Display.cpp:1505 (initialize): Internal Vulkan error (-7): A requested extension is not supported',
      'vkCreateInstance failed: VK_ERROR_INCOMPATIBLE_DRIVER',
    ]);
  });
});
