// Whether a WebGPU adapter is a GPU: the judgement the GPU check stands on, kept pure so that it
// is tested without a browser. Chromium offers a CPU emulation (SwiftShader) as the fallback
// adapter, and a host whose Vulkan driver is Mesa's lavapipe offers another one that does not
// always say it is a fallback: both are software.

import type { AdapterInfo } from '../../../browser-runtime/protocol.js';

export type AdapterVerdict = { kind: 'hardware' } | { kind: 'software' | 'none'; why: string };

const SOFTWARE_NAMES = /swiftshader|llvmpipe|lavapipe|softpipe|software rasterizer/i;

/** "nvidia hopper (NVIDIA H200)": who made it, which architecture, and the driver's own words. */
export function adapterName(info: AdapterInfo): string {
  const words = [info.vendor, info.architecture].filter(Boolean).join(' ') || 'unnamed adapter';
  const detail = [info.description, info.device].find((w) => w && !words.includes(w));
  return detail ? `${words} (${detail})` : words;
}

export function judgeAdapter(info: AdapterInfo | null, error: string | null): AdapterVerdict {
  if (!info) return { kind: 'none', why: `no WebGPU adapter: ${error ?? 'requestAdapter returned null'}` };
  const text = [info.vendor, info.architecture, info.device, info.description].join(' ');
  if (info.isFallbackAdapter || SOFTWARE_NAMES.test(text)) {
    return { kind: 'software', why: `software adapter: ${adapterName(info)}, isFallbackAdapter ${info.isFallbackAdapter}` };
  }
  return { kind: 'hardware' };
}

// What Chromium's GPU process and the Vulkan loader write to stderr when Vulkan fails: a missing or
// unloadable driver, an instance or device that cannot be made, an error code.
const VULKAN_TROUBLE = /vulkan|VK_ERROR|vkCreate|vkEnumerate|icd|libGLX_nvidia|gpu process/i;
const FAILURE = /fail|error|cannot|unable|not found|no such|incompatible|crash|lost|exited/i;

/**
 * Chromium's stderr lines that report a Vulkan or GPU-process failure, without the log prefix
 * (`[pid/time:ERROR:file:line] `, or ANGLE's `ERR: ` repeat of the same message), each once, at most `most`.
 */
export function vulkanTrouble(stderr: string, most = 20): string[] {
  const lines = stderr
    .split('\n')
    .filter((l) => VULKAN_TROUBLE.test(l) && FAILURE.test(l))
    .map((l) =>
      l
        .replace(/^\[[^\]]*\]\s*/, '')
        .replace(/^ERR:\s*/, '')
        .trim(),
    );
  return [...new Set(lines)].slice(0, most);
}
