// The server itself on WebGPU: started as run.sh starts it, with `--backend webgpu`, its start-up
// log kept; then, from each bundled model's description, the adapter it got and the parity guard's
// result; then every test image through every model, against the classes expected of it.

import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import path from 'node:path';
import type { AdapterInfo, ParityReport } from '../../../browser-runtime/protocol.js';
import { PROJECT_ROOT } from '../../../server/ops/paths.js';
import { freePortPair, stopServer, waitHealthy } from '../../bench/server-load.js';

export const MODELS = ['mobilenet_v2', 'mobilenet_v2_int8'] as const;
const LAUNCHER = path.join(PROJECT_ROOT, 'bin/webgpu-inference-server');
const IMAGES = path.join(PROJECT_ROOT, 'tests/fixtures/images');

export interface ModelState {
  model: string;
  status: string;
  backend: string | null;
  adapter: AdapterInfo | null;
  fallbackReason: string | null;
  parity: ParityReport | null;
  loadMs: number | null;
  error: string | null;
}

export interface Answer {
  model: string;
  image: string;
  top1: string | null;
  probability: number | null;
  expected: string[];
  correct: boolean;
  ms: number;
  error: string | null;
}

export interface ServerCheck {
  healthyMs: number | null;
  startError: string | null;
  models: ModelState[];
  answers: Answer[];
}

interface Expectation {
  accept_top1: number[];
}

async function describeModel(management: string, model: string): Promise<ModelState> {
  const none = { model, status: 'unknown', backend: null, adapter: null, fallbackReason: null, parity: null, loadMs: null };
  try {
    const res = await fetch(`${management}/models/${model}`, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as Array<Omit<ModelState, 'model'>>;
    const d = body[0];
    if (!res.ok || !d) return { ...none, error: `GET /models/${model} answered ${res.status}` };
    return { model, status: d.status, backend: d.backend, adapter: d.adapter, fallbackReason: d.fallbackReason, parity: d.parity, loadMs: d.loadMs, error: d.error };
  } catch (e) {
    return { ...none, error: e instanceof Error ? e.message : String(e) };
  }
}

async function classify(inference: string, model: string, image: string, labels: string[], expectation: Expectation): Promise<Answer> {
  const expected = expectation.accept_top1.map((i) => labels[i] ?? String(i));
  const t0 = performance.now();
  try {
    const res = await fetch(`${inference}/predictions/${model}`, { method: 'POST', body: readFileSync(path.join(IMAGES, image)), signal: AbortSignal.timeout(60_000) });
    const body = (await res.json()) as Array<{ class: string; probability: number }> | { message?: string };
    const ms = performance.now() - t0;
    if (!res.ok || !Array.isArray(body)) return { model, image, top1: null, probability: null, expected, correct: false, ms, error: `${res.status}: ${JSON.stringify(body)}` };
    const top = body[0] ?? null;
    return { model, image, top1: top?.class ?? null, probability: top?.probability ?? null, expected, correct: top !== null && expected.includes(top.class), ms, error: null };
  } catch (e) {
    return { model, image, top1: null, probability: null, expected, correct: false, ms: performance.now() - t0, error: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * Starts the server with `serverArgs`, writes its output to `logFile`, describes the models,
 * classifies the test images when `classifyIf` says the models are worth it, and stops the server.
 */
export async function checkServer(serverArgs: string[], logFile: string, classifyIf: (models: ModelState[]) => boolean, log: (line: string) => void): Promise<ServerCheck> {
  const port = await freePortPair();
  const inference = `http://127.0.0.1:${port}`;
  const management = `http://127.0.0.1:${port + 1}`;
  const args = ['--inference-address', inference, '--management-address', management, '--metrics-address', 'http://127.0.0.1:0', ...serverArgs];
  log(`server: ${LAUNCHER} ${args.join(' ')}`);
  const out = createWriteStream(logFile);
  const child = spawn(LAUNCHER, args, { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (chunk: Buffer) => {
    const text = chunk.toString();
    // Without the health polls' access lines, which would be most of the file.
    out.write(text.replace(/^.*"path":"\/ping".*\n/gm, ''));
    tail = (tail + text).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const result: ServerCheck = { healthyMs: null, startError: null, models: [], answers: [] };
  try {
    result.healthyMs = await waitHealthy(inference, child, () => tail, performance.now());
    log(`server: healthy after ${(result.healthyMs / 1000).toFixed(1)} s`);
  } catch (e) {
    result.startError = e instanceof Error ? e.message.split('\n')[0]! : String(e);
  }
  try {
    if (child.exitCode === null) for (const m of MODELS) result.models.push(await describeModel(management, m));
    if (result.healthyMs !== null && classifyIf(result.models)) {
      const expected = JSON.parse(readFileSync(path.join(IMAGES, 'expected.json'), 'utf8')) as Record<string, Expectation | string>;
      for (const m of MODELS) {
        const labels = readFileSync(path.join(PROJECT_ROOT, 'models', m, 'labels.txt'), 'utf8').split('\n');
        for (const [image, e] of Object.entries(expected)) {
          if (typeof e === 'string') continue;
          const a = await classify(inference, m, image, labels, e);
          result.answers.push(a);
          log(`server: ${m} ${image}: ${a.top1 ?? a.error} ${a.probability?.toFixed(3) ?? ''} ${a.correct ? 'ok' : 'WRONG'} (${a.ms.toFixed(0)} ms)`);
        }
      }
    }
  } finally {
    await stopServer(child);
    process.removeListener('exit', killOnExit);
    await new Promise((r) => out.end(r));
  }
  return result;
}
