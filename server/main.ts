#!/usr/bin/env node
// `npm start`: read the configuration, start the server, stop cleanly on SIGINT / SIGTERM.

import { readFileSync } from 'node:fs';
import { ConfigError, parseArgs, parseProperties, resolveConfig } from './config/config.js';
import { ChromiumNotFoundError } from './chromium/find-chromium.js';
import { SandboxUnavailableError } from './chromium/chromium-sandbox.js';
import { ModelStoreError } from './store/model-store.js';
import { KeyFileError } from './auth/key-file.js';
import { allocatorInUse } from './ops/allocator.js';
import { installLastResort } from './ops/last-resort.js';
import { readMachine } from './config/limits.js';
import { log } from './ops/log.js';
import { usage } from './config/settings.js';
import { startServer } from './server.js';

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(usage());
    return;
  }
  const { values, configFile } = parseArgs(process.argv.slice(2));
  const file = configFile ? parseProperties(readFileSync(configFile, 'utf8')) : {};
  const config = resolveConfig({ file, env: process.env, args: values, machine: readMachine() });
  let server: Awaited<ReturnType<typeof startServer>> | null = null;
  let stopping = false;
  const stop = (why: string, exitCode = 0) => {
    if (stopping) return;
    stopping = true;
    log.info(`${why}: shutting down`);
    (server?.close() ?? Promise.resolve()).then(
      () => process.exit(exitCode),
      (e) => {
        log.error('shutdown failed', e);
        process.exit(1);
      },
    );
  };
  // Before anything starts: a bug in one request's path must not take the others down with it.
  installLastResort({ giveUp: (reason) => stop(reason, 1) });
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  if (allocatorInUse() === 'system') {
    log.warn('memory allocator: glibc malloc; memory freed after large requests may stay with the process (start with bin/webgpu-inference-server where libjemalloc2 is installed)');
  } else {
    log.info('memory allocator: jemalloc');
  }
  server = await startServer(config);
  await server.ready;
}

main().catch((e: unknown) => {
  // Configuration mistakes get one plain line that says what to fix; anything else the full story.
  if (e instanceof ConfigError || e instanceof ChromiumNotFoundError || e instanceof SandboxUnavailableError || e instanceof ModelStoreError || e instanceof KeyFileError)
    console.error(`error: ${e.message}`);
  else log.error('the server failed to start', e);
  process.exit(1);
});
