// The soak's load: a bounded number of requests at a fixed concurrency, a mix of good images
// (whose answers are checked) and bad inputs (which must get a 4xx). Used by `npm run soak`
// and, shorter, by the test suite.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../server/paths.js';

export interface SoakOptions {
  url: string;
  total: number;
  concurrency: number;
  /** Told after each request, e.g. to sample memory at given counts. */
  onProgress?: (done: number) => void;
  headers?: Record<string, string>;
}

export interface SoakResult {
  byStatus: Record<string, number>;
  /** 5xx other than 503 (which is how a saturated server is allowed to answer). */
  serverErrors: number;
  /** Requests with no answer within the per-request limit. */
  hung: number;
  goodSent: number;
  goodCorrect: number;
  goodWrong: string[];
  seconds: number;
}

interface Input {
  body: Buffer;
  /** Class index a good image must answer first; null for a bad input. */
  expect: number | null;
}

const images = path.join(PROJECT_ROOT, 'tests', 'fixtures', 'images');
const HANG_MS = 60_000;

function inputs(): Input[] {
  const expected = JSON.parse(readFileSync(path.join(images, 'expected.json'), 'utf8')) as Record<string, { expected_top1: number }>;
  const good = ['kitten.jpg', 'dog_malamute.jpg', 'bald_eagle.jpg'].map((f) => ({ body: readFileSync(path.join(images, f)), expect: expected[f]!.expected_top1 }));
  const kitten = good[0]!.body;
  const bad: Input[] = [
    Buffer.alloc(0),
    Buffer.from('not an image, just words'),
    kitten.subarray(0, kitten.length / 3),
    Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'),
    Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131) % 256)),
  ].map((body) => ({ body, expect: null }));
  // One good image in four: the bad ones are cheap, the good ones load the model.
  return [good[0]!, bad[0]!, bad[1]!, bad[2]!, good[1]!, bad[3]!, bad[4]!, bad[0]!, good[2]!, bad[1]!, bad[2]!, bad[3]!];
}

export async function soak(opts: SoakOptions): Promise<SoakResult> {
  const mix = inputs();
  const labels = readFileSync(path.join(PROJECT_ROOT, 'models', 'mobilenet_v2', 'labels.txt'), 'utf8').split('\n');
  const result: SoakResult = { byStatus: {}, serverErrors: 0, hung: 0, goodSent: 0, goodCorrect: 0, goodWrong: [], seconds: 0 };
  let next = 0;
  let done = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < opts.total) {
      const input = mix[next++ % mix.length]!;
      let status = 'error';
      try {
        const res = await fetch(`${opts.url}/predictions/mobilenet_v2?topk=1`, {
          method: 'POST',
          body: input.body as Uint8Array<ArrayBuffer>,
          headers: opts.headers ?? {},
          signal: AbortSignal.timeout(HANG_MS),
        });
        status = String(res.status);
        const body = (await res.json()) as Array<{ class: string }> | { type: string };
        if (input.expect !== null && res.status === 200) {
          const got = labels.indexOf((body as Array<{ class: string }>)[0]!.class);
          if (got === input.expect) result.goodCorrect++;
          else result.goodWrong.push(`expected ${input.expect}, got ${got}`);
        }
        if (res.status >= 500 && res.status !== 503) result.serverErrors++;
      } catch (e) {
        if (e instanceof Error && e.name === 'TimeoutError') result.hung++;
        status = e instanceof Error ? e.name : 'error';
      }
      if (input.expect !== null) result.goodSent++;
      result.byStatus[status] = (result.byStatus[status] ?? 0) + 1;
      opts.onProgress?.(++done);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  result.seconds = (performance.now() - t0) / 1000;
  return result;
}
