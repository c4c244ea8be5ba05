// The server as a user starts it, in a process of its own (`node dist/server/main.js`, or the
// launcher), with everything it logs kept for the test to read.

import { spawn, type ChildProcess } from 'node:child_process';
import { until } from './until.js';

/** The gRPC listeners on free loopback ports, as command-line flags. */
export const ANY_GRPC_PORTS = ['--grpc-inference-port', '0', '--grpc-management-port', '0'];

/** The five listeners on free loopback ports, as command-line flags. */
export const ANY_PORTS = ['--inference-address', 'http://127.0.0.1:0', '--management-address', 'http://127.0.0.1:0', '--metrics-address', 'http://127.0.0.1:0', ...ANY_GRPC_PORTS];

/** How long a start may take (Chromium, the models, their warm-up) before it counts as stuck. */
const START_LIMIT_MS = 180_000;

export interface SpawnedServer {
  child: ChildProcess;
  /** Everything logged so far, stdout and stderr together. */
  output(): string;
  /** Resolves once the log matches `re` (a hang past the limit throws, with the log). */
  logged(re: RegExp): Promise<void>;
  /** The Inference API's address, as the start-up log gives it. */
  inferenceUrl(): string;
  /** The Management API's address, as the start-up log gives it. */
  managementUrl(): string;
}

/** Starts `command` and waits until its log matches every one of `expected` (by default: healthy). */
export async function spawnServer(command: string, args: string[], env: NodeJS.ProcessEnv, expected: RegExp[] = [/server healthy/]): Promise<SpawnedServer> {
  const child = spawn(command, args, { env: { ...process.env, ...env } });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d));
  child.stderr!.on('data', (d: Buffer) => (output += d));
  const logged = async (re: RegExp, limitMs?: number) => {
    let exited = false;
    await until(`the log showing ${re}`, () => re.test(output) || (exited = child.exitCode !== null), limitMs).catch((e: Error) => {
      throw new Error(`${e.message}:\n${output}`);
    });
    if (exited && !re.test(output)) throw new Error(`the server exited with ${child.exitCode} before its log showed ${re}:\n${output}`);
  };
  try {
    for (const re of expected) await logged(re, START_LIMIT_MS);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  return {
    child,
    output: () => output,
    logged: (re) => logged(re),
    inferenceUrl: () => /Inference API on (http:\/\/[\d.:]+)/.exec(output)![1]!,
    managementUrl: () => /Management API on (http:\/\/[\d.:]+)/.exec(output)![1]!,
  };
}
