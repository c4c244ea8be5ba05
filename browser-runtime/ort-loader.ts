import type * as Ort from 'onnxruntime-web';
import { ORT_BUILD_MODULES, type OrtBuild } from './protocol.js';

export type OrtModule = typeof Ort;

/**
 * Imports one of onnxruntime-web's builds from the gateway's `/ort/` route. The build is
 * chosen at run time, so one page can host any; all expose the same API.
 */
export async function loadOrt(build: OrtBuild, wasmThreads: number): Promise<OrtModule> {
  // Relative to the page: its path holds the runtime listener's secret (server/page/runtime-assets.ts).
  const base = new URL('ort/', location.href).href;
  const ort = (await import(base + ORT_BUILD_MODULES[build])) as OrtModule;
  ort.env.wasm.wasmPaths = base;
  // More threads than this page may use would only make onnxruntime-web warn and fall back.
  ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? wasmThreads : 1;
  ort.env.logLevel = 'error';
  return ort;
}

const DEVICE_LIMITS = [
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
] as const;

const DEVICE_FEATURES: GPUFeatureName[] = ['shader-f16', 'timestamp-query', 'subgroups' as GPUFeatureName];

/**
 * The WebGPU session options for the adapter the page chose. The JSEP build takes the adapter
 * through `env.webgpu.adapter`; the native WebGPU EP would ask for its own default adapter
 * (none on a machine whose only adapter is the fallback), so it is handed a device instead,
 * with the same limits and features onnxruntime-web asks for when it picks one itself.
 */
export async function webgpuProvider(ort: OrtModule, build: OrtBuild, adapter: GPUAdapter): Promise<Ort.InferenceSession.ExecutionProviderConfig> {
  if (build === 'jsep') {
    ort.env.webgpu.adapter = adapter;
    return 'webgpu';
  }
  const requiredLimits: Record<string, number> = {};
  for (const name of DEVICE_LIMITS) requiredLimits[name] = adapter.limits[name];
  const requiredFeatures = DEVICE_FEATURES.filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  return { name: 'webgpu', device } as Ort.InferenceSession.ExecutionProviderConfig;
}
