// Which malloc this process runs on. bin/webgpu-inference-server preloads jemalloc where the
// system has it; glibc's own keeps memory that sharp and large request bodies freed, so a
// server started without it says so once at start.

import { readFileSync } from 'node:fs';

export function allocatorInUse(): 'jemalloc' | 'system' {
  try {
    return /libjemalloc/.test(readFileSync('/proc/self/maps', 'utf8')) ? 'jemalloc' : 'system';
  } catch {
    return 'system';
  }
}

/** The process environment for Chromium: without the preloaded jemalloc, which is the gateway's alone. */
export function withoutPreloadedAllocator(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const preload = (env['LD_PRELOAD'] ?? '').split(':').filter((lib) => lib && !/libjemalloc/.test(lib));
  const { LD_PRELOAD: _dropped, ...rest } = env;
  return preload.length > 0 ? { ...rest, LD_PRELOAD: preload.join(':') } : rest;
}
