import type { AdapterInfo, Backend, BackendPreference } from './protocol.js';

export interface BackendChoice {
  backend: Backend;
  /** Why WebGPU is not used; null when it is, or when WASM was asked for. */
  reason: string | null;
}

/**
 * `auto` takes WebGPU only on real hardware: a fallback (CPU-emulated) adapter is two orders
 * of magnitude slower than WASM. `webgpu` takes any adapter, which is how the WebGPU path is
 * exercised on machines without a GPU.
 */
export function chooseBackend(preference: BackendPreference, adapter: AdapterInfo | null, adapterError: string | null): BackendChoice {
  if (preference === 'wasm') return { backend: 'wasm', reason: null };
  if (!adapter) {
    return { backend: 'wasm', reason: `no WebGPU adapter${adapterError ? ` (${adapterError})` : ''}` };
  }
  if (preference === 'auto' && adapter.isFallbackAdapter) {
    return {
      backend: 'wasm',
      reason: `the only WebGPU adapter is a CPU fallback (${adapter.architecture || adapter.vendor || 'unknown'}); use backend "webgpu" to run on it anyway`,
    };
  }
  return { backend: 'webgpu', reason: null };
}
