import type { AdapterInfo, ModelRuntimeInfo } from '../../browser-runtime/protocol.js';

export function describeAdapter(a: AdapterInfo | null): string {
  if (!a) return 'no WebGPU adapter';
  const name = [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' ');
  return `WebGPU adapter ${name || 'unnamed'} (fallback: ${a.isFallbackAdapter})`;
}

/** The one-line account of where a model runs, for the start-up log. */
export function describeRuntime(info: ModelRuntimeInfo): string {
  const parts: Array<string | null> = [
    `backend ${info.backend}`,
    `onnxruntime-web ${info.ortBuild} build`,
    // No adapter: either WASM was asked for (nothing probed) or the fallback reason says why.
    info.adapter ? describeAdapter(info.adapter) : info.fallbackReason ? null : 'WebGPU not asked for',
    `${info.wasmThreads} WASM thread${info.wasmThreads === 1 ? '' : 's'}`,
  ];
  if (info.parity) {
    parts.push(`parity vs WASM ${info.parity.passed ? 'passed' : 'FAILED'} (relative diff ${info.parity.relativeDiff.toExponential(2)})`);
  }
  if (info.fallbackReason) parts.push(`not on WebGPU: ${info.fallbackReason}`);
  parts.push(`loaded in ${Math.round(info.loadMs)} ms`);
  return parts.filter((p) => p !== null).join(', ');
}
