import type { AdapterInfo } from './protocol.js';

export interface AdapterLookup {
  adapter: GPUAdapter | null;
  info: AdapterInfo | null;
  error: string | null;
}

/**
 * Asks for a hardware adapter first; only when there is none, for the fallback one. Chromium
 * is launched so that a machine without a GPU still offers SwiftShader as the fallback.
 */
export async function findAdapter(): Promise<AdapterLookup> {
  if (!('gpu' in navigator) || !navigator.gpu) {
    return { adapter: null, info: null, error: 'navigator.gpu is missing (not a secure context, or WebGPU disabled)' };
  }
  try {
    const adapter = (await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' })) ?? (await navigator.gpu.requestAdapter({ forceFallbackAdapter: true }));
    if (!adapter) return { adapter: null, info: null, error: 'requestAdapter returned null' };
    const i = adapter.info;
    return {
      adapter,
      info: {
        vendor: i.vendor,
        architecture: i.architecture,
        device: i.device,
        description: i.description,
        isFallbackAdapter: Boolean((i as { isFallbackAdapter?: boolean }).isFallbackAdapter),
      },
      error: null,
    };
  } catch (e) {
    return { adapter: null, info: null, error: e instanceof Error ? e.message : String(e) };
  }
}
