#!/usr/bin/env node
// `npm start`: read the configuration, start the server, stop cleanly on SIGINT / SIGTERM.

import { readFileSync } from 'node:fs';
import os from 'node:os';
import { CONFIG_KEYS, ConfigError, DEFAULTS, parseArgs, parseProperties, resolveConfig } from './config.js';
import { ChromiumNotFoundError } from './bridge/find-chromium.js';
import { ModelStoreError } from './model-store.js';
import { log } from './log.js';
import { startServer } from './server.js';

function help(): string {
  const rows = Object.entries(CONFIG_KEYS).map(([k, what]) => {
    const def = DEFAULTS[k as keyof typeof DEFAULTS];
    return `  --${k.replaceAll('_', '-').padEnd(30)} ${what}${def ? ` [${def}]` : ''}`;
  });
  return [
    'usage: webgpu-inference-server [--ts-config config.properties] [--key value ...]',
    '',
    'Every setting is a flag (--model-store x), a TS_ environment variable (TS_MODEL_STORE=x) or a',
    'config.properties line (model_store=x), in that order of precedence.',
    '',
    ...rows,
  ].join('\n');
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(help());
    return;
  }
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
  // Configuration mistakes get one plain line that says what to fix; anything else the full story.
  if (e instanceof ConfigError || e instanceof ChromiumNotFoundError || e instanceof ModelStoreError) console.error(`error: ${e.message}`);
  else log.error('the server failed to start', e);
  process.exit(1);
});
