// Steady load through the balancer: `concurrency` clients, each POSTing kitten.jpg to
// /predictions/mobilenet_v2 again as soon as it has its answer, every answer checked (200 and the
// top class a tabby). Runs until stopped.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../server/ops/paths.js';

const KITTEN = readFileSync(path.join(PROJECT_ROOT, 'tests/fixtures/images/kitten.jpg'));
export const EXPECTED_CLASS = 'n02123045 tabby, tabby cat';

export interface Failure {
  /** Seconds since the load started. */
  at: number;
  what: string;
}

export interface LoadFigures {
  requests: number;
  correct: number;
  failures: Failure[];
  /** Longest time any one client waited between two answers (or from its start to its first). */
  longestGapMs: number;
  seconds: number;
}

export function steadyLoad(url: string, concurrency: number): { stop(): Promise<LoadFigures>; figures(): LoadFigures } {
  const t0 = performance.now();
  const f: LoadFigures = { requests: 0, correct: 0, failures: [], longestGapMs: 0, seconds: 0 };
  let running = true;
  const fail = (what: string) => f.failures.push({ at: (performance.now() - t0) / 1000, what });
  const client = async () => {
    let last = performance.now();
    while (running) {
      f.requests++;
      try {
        const res = await fetch(`${url}/predictions/mobilenet_v2`, {
          method: 'POST',
          headers: { 'content-type': 'image/jpeg' },
          body: KITTEN,
          signal: AbortSignal.timeout(60_000),
        });
        const text = await res.text();
        if (res.status !== 200) fail(`${res.status} ${text.slice(0, 120).replaceAll('\n', ' ')}`);
        else {
          const top = (JSON.parse(text) as Array<{ class: string }>)[0]?.class;
          if (top === EXPECTED_CLASS) f.correct++;
          else fail(`200 with top class ${top}`);
        }
      } catch (e) {
        fail(`no answer: ${(e as Error).cause ?? (e as Error).message}`);
      }
      const now = performance.now();
      f.longestGapMs = Math.max(f.longestGapMs, now - last);
      last = now;
    }
  };
  const clients = Array.from({ length: concurrency }, client);
  const figures = () => ({ ...f, seconds: (performance.now() - t0) / 1000 });
  return {
    figures,
    async stop() {
      running = false;
      await Promise.all(clients);
      return figures();
    },
  };
}
