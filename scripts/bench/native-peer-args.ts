// The native peer's command line: `--port P --threads N <model folder>...`, each folder laid out as
// in a model store (config.json, labels, <version>/model.onnx). Pure: tested without a process.

import { parseArgs } from 'node:util';

export interface PeerArgs {
  /** Loopback port to listen on; 0 lets the system pick one (the peer prints it). */
  port: number;
  /** onnxruntime-node's intra-op threads, as the bench's native part uses. */
  threads: number;
  /** Model folders; each is served under its folder's name. */
  models: string[];
}

function whole(name: string, raw: string | undefined, min: number, max: number): number {
  const n = Number(raw);
  if (raw === undefined || !Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} needs an integer from ${min} to ${max}; got "${raw ?? ''}"`);
  return n;
}

export function parsePeerArgs(argv: readonly string[]): PeerArgs {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: { port: { type: 'string' }, threads: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length === 0) throw new Error('name at least one model folder (config.json, labels, <version>/model.onnx)');
  return {
    port: whole('port', values.port ?? '0', 0, 65535),
    threads: whole('threads', values.threads, 1, 1024),
    models: positionals,
  };
}
