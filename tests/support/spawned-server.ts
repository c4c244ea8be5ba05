// The server as a user starts it, in a process of its own (`node dist/server/main.js`, or the
// launcher), with everything it logs kept for the test to read.

import { spawn, type ChildProcess } from 'node:child_process';

/** The gRPC listeners on free loopback ports, as command-line flags. */
export const ANY_GRPC_PORTS = ['--grpc-inference-port', '0', '--grpc-management-port', '0'];

/** The five listeners on free loopback ports, as command-line flags. */
export const ANY_PORTS = ['--inference-address', 'http://127.0.0.1:0', '--management-address', 'http://127.0.0.1:0', '--metrics-address', 'http://127.0.0.1:0', ...ANY_GRPC_PORTS];

export interface SpawnedServer {
  child: ChildProcess;
  /** Everything logged so far, stdout and stderr together. */
  output(): string;
  /** The Inference API's address, as the start-up log gives it. */
  inferenceUrl(): string;
}

/** Starts `command` and waits until its log matches every one of `until` (by default: healthy). */
export async function spawnServer(command: string, args: string[], env: NodeJS.ProcessEnv, until: RegExp[] = [/server healthy/]): Promise<SpawnedServer> {
  const child = spawn(command, args, { env: { ...process.env, ...env } });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d));
  child.stderr!.on('data', (d: Buffer) => (output += d));
  const deadline = Date.now() + 60_000;
  while (!until.every((re) => re.test(output))) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the log did not show ${until.join(' and ')} within 60 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    child,
    output: () => output,
    inferenceUrl: () => /Inference API on (http:\/\/[\d.:]+)/.exec(output)![1]!,
  };
}
