// The bench command line: a few flags of its own, everything else handed to the server untouched,
// so the server's new settings (--workers, --batch-size, --backend webgpu...) need no change here.

import os from 'node:os';
import { parseArgs } from 'node:util';

export interface BenchArgs {
  /** Whole sequences (server, bare page, native); figures are the medians across them. */
  runs: number;
  /** Recorded seconds per concurrency level. */
  durationS: number;
  /** Unrecorded seconds at each concurrency level before the recorded part. */
  warmupS: number;
  /** First of two consecutive ports for the server; null picks a free pair in 19000-19999. */
  port: number | null;
  /** The server's WASM thread count, mirrored by the bare page, the native run and the native peer. */
  threads: number;
  /** Which parts to run (--only server,null,peer,bare,native); all by default, for iterating on one. */
  parts: Set<Part>;
  /** Verbatim, in order, for the server's command line. */
  serverArgs: string[];
}

/**
 * server: MobileNetV2 under load; null: the same server with the null model (the gateway's own
 * ceiling); peer: the native peer (node:http + onnxruntime-node) under the same load, both models;
 * detector: YOLOX-Nano.
 */
export const PARTS = ['server', 'null', 'peer', 'detector', 'bare', 'native'] as const;
export type Part = (typeof PARTS)[number];

const OWN = { runs: { type: 'string' }, duration: { type: 'string' }, warmup: { type: 'string' }, port: { type: 'string' }, only: { type: 'string' } } as const;

function parts(raw: string | undefined): Set<Part> {
  if (raw === undefined) return new Set(PARTS);
  const chosen = raw.split(',').map((p) => p.trim());
  const bad = chosen.filter((p) => !(PARTS as readonly string[]).includes(p));
  if (bad.length || chosen.length === 0) throw new Error(`--only takes a comma list of ${PARTS.join(', ')}; got "${raw}"`);
  return new Set(chosen as Part[]);
}

function positive(name: string, raw: string | undefined, integer: boolean): number {
  const n = Number(raw);
  if (raw === undefined || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new Error(`--${name} needs a positive ${integer ? 'integer' : 'number'}; got "${raw ?? ''}"`);
  }
  return n;
}

export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const words = argv.map((word) => word.replace(/^--[^=]*/, (flag) => flag.replaceAll('_', '-')));
  // Not strict: whatever is not the bench's own goes to the server.
  const { tokens } = parseArgs({ args: words, options: OWN, strict: false, tokens: true });
  const own: Record<string, string> = {};
  const ownWords = new Set<number>();
  let threadsRaw: string | undefined;
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    // The server uses this too, so it is both read here and passed on; its value is the next
    // word unless that is itself a flag (boolean-style pass-through).
    if (t.name === 'wasm-threads') threadsRaw = t.value ?? (words[t.index + 1]?.startsWith('--') ? undefined : words[t.index + 1]);
    if (!Object.hasOwn(OWN, t.name)) continue;
    if (t.value === undefined || (!t.inlineValue && t.value.startsWith('--'))) throw new Error(`--${t.name} needs a value`);
    own[t.name] = t.value;
    ownWords.add(t.index).add(t.inlineValue ? t.index : t.index + 1);
  }
  const serverArgs = argv.filter((_, i) => !ownWords.has(i));
  // Same rule as the server's config: 0 or unset means one thread per core.
  const t = threadsRaw === undefined ? 0 : Number(threadsRaw);
  return {
    runs: own['runs'] ? positive('runs', own['runs'], true) : 1,
    durationS: own['duration'] ? positive('duration', own['duration'], false) : 12,
    warmupS: own['warmup'] ? positive('warmup', own['warmup'], false) : 2,
    port: own['port'] ? positive('port', own['port'], true) : null,
    threads: Number.isInteger(t) && t > 0 ? t : Math.max(1, os.availableParallelism()),
    parts: parts(own['only']),
    serverArgs,
  };
}
