// `npm start`: read the configuration, start the server, stop cleanly on SIGINT / SIGTERM.

import { readFileSync } from 'node:fs';
import os from 'node:os';
import { ConfigError, parseArgs, parseProperties, resolveConfig } from './config.js';
import { ChromiumNotFoundError } from './bridge/find-chromium.js';
import { ModelStoreError } from './model-store.js';
import { log } from './log.js';
import { startServer } from './server.js';

async function main(): Promise<void> {
  const { values, configFile } = parseArgs(process.argv.slice(2));
  const file = configFile ? parseProperties(readFileSync(configFile, 'utf8')) : {};
  const config = resolveConfig({ file, env: process.env, args: values, cores: os.availableParallelism() });
  const server = await startServer(config);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: shutting down`);
    server.close().then(
      () => process.exit(0),
      (e) => {
        log.error('shutdown failed', e);
        process.exit(1);
      },
    );
  };
  // A bug in one request's path must not take every other request down with the process.
  process.on('unhandledRejection', (reason) => log.error('unhandled rejection', reason));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  await server.ready;
}

main().catch((e: unknown) => {
  // Configuration mistakes get one line that says what to fix; anything else the full story.
  if (e instanceof ConfigError || e instanceof ChromiumNotFoundError || e instanceof ModelStoreError) log.error(e.message);
  else log.error('the server failed to start', e);
  process.exit(1);
});
