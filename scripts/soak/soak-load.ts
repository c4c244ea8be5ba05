// The soak's load: a bounded number of requests at a fixed concurrency, mixing good images
// (whose answers are checked), bad inputs and hostile ones (which must each get their 4xx, or a
// 503 when the server is full, and nothing else). Used by `npm run soak` and, shorter, by the
// test suite.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../server/ops/paths.js';
import { deeplyNestedV2Request, jpegScanBomb, jpegWithFakeEnd, multipart, multipartCuts, v2BinaryRequest } from '../hostile/inputs.js';

export interface SoakOptions {
  url: string;
  total: number;
  concurrency: number;
  /** Told after each request, e.g. to sample memory at given counts. */
  onProgress?: (done: number) => void;
  headers?: Record<string, string>;
}

/** What each kind of request got. */
export interface KindResult {
  sent: number;
  byStatus: Record<string, number>;
  /** The longest a request of this kind took, ms. */
  maxMs: number;
}

export interface SoakResult {
  byStatus: Record<string, number>;
  byKind: Record<string, KindResult>;
  /** 5xx other than 503 (which is how a saturated server is allowed to answer). */
  serverErrors: number;
  /** Requests with no answer within the per-request limit. */
  hung: number;
  /** Answers outside what their kind allows (a good image not 200/503, a bad one not its 4xx/503). */
  unexpected: string[];
  goodSent: number;
  goodCorrect: number;
  goodWrong: string[];
  seconds: number;
}

interface Input {
  name: string;
  path: string;
  body: Buffer;
  headers?: Record<string, string>;
  /** Class index a good image must answer first; null for anything else. */
  expect: number | null;
  /** Statuses this input may get besides 503. */
  allowed: number[];
}

const images = path.join(PROJECT_ROOT, 'tests', 'fixtures', 'images');
const HANG_MS = 60_000;
const PREDICT = '/predictions/mobilenet_v2?topk=1';
const INFER = '/v2/models/mobilenet_v2/infer';

function inputs(): Input[] {
  const expected = JSON.parse(readFileSync(path.join(images, 'expected.json'), 'utf8')) as Record<string, { expected_top1: number }>;
  const good = ['kitten.jpg', 'dog_malamute.jpg', 'bald_eagle.jpg'].map((f) => ({
    name: `good: ${f}`,
    path: PREDICT,
    body: readFileSync(path.join(images, f)),
    expect: expected[f]!.expected_top1,
    allowed: [200],
  }));
  const kitten = good[0]!.body;
  const bad = (name: string, body: Buffer, allowed = [400]): Input => ({ name: `bad: ${name}`, path: PREDICT, body, expect: null, allowed });
  const form = multipart([{ name: 'data', filename: 'k.jpg', body: kitten.subarray(0, 4000) }]);
  const json = (name: string, body: string): Input => ({
    name: `hostile: ${name}`,
    path: INFER,
    body: Buffer.from(body),
    headers: { 'content-type': 'application/json' },
    expect: null,
    allowed: [400],
  });
  const tensor = v2BinaryRequest([1, 3, 224, 224]);
  const hostile: Input[] = [
    { name: 'hostile: JPEG scan bomb (6000x6000, 100,000 scans, 6 MB)', path: PREDICT, body: jpegScanBomb(6000, 6000, 100_000), expect: null, allowed: [400] },
    { name: 'hostile: JPEG cut short with a fake end', path: PREDICT, body: jpegWithFakeEnd(kitten), expect: null, allowed: [400] },
    {
      name: 'hostile: multipart form ending inside its file',
      path: PREDICT,
      body: form.body.subarray(0, multipartCuts(form.body).find((c) => c.where === 'in a file')!.at + 100),
      headers: { 'content-type': form.type },
      expect: null,
      allowed: [400],
    },
    json('v2 inputs [null]', '{"inputs":[null]}'),
    json('v2 data nested 100,000 deep', deeplyNestedV2Request(100_000)),
    json('v2 shape claiming 150 billion values', '{"inputs":[{"name":"input","shape":[1000000,3,224,224],"datatype":"FP32","data":[1]}]}'),
    { name: 'good: v2 binary tensor', path: INFER, body: tensor.body, headers: tensor.headers, expect: null, allowed: [200] },
  ];
  const plain = [
    bad('empty body', Buffer.alloc(0)),
    bad('text', Buffer.from('not an image, just words')),
    bad('truncated JPEG', kitten.subarray(0, kitten.length / 3)),
    bad('SVG', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')),
    bad('random bytes', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131) % 256))),
  ];
  // One good image in four: the bad ones are cheap, the good ones load the model.
  return [good[0]!, plain[0]!, hostile[0]!, plain[1]!, good[1]!, hostile[1]!, plain[2]!, hostile[2]!, good[2]!, hostile[3]!, plain[3]!, hostile[4]!, hostile[6]!, plain[4]!, hostile[5]!, plain[0]!];
}

export async function soak(opts: SoakOptions): Promise<SoakResult> {
  const mix = inputs();
  const labels = readFileSync(path.join(PROJECT_ROOT, 'models', 'mobilenet_v2', 'labels.txt'), 'utf8').split('\n');
  const result: SoakResult = { byStatus: {}, byKind: {}, serverErrors: 0, hung: 0, unexpected: [], goodSent: 0, goodCorrect: 0, goodWrong: [], seconds: 0 };
  let next = 0;
  let done = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < opts.total) {
      const input = mix[next++ % mix.length]!;
      const kind = (result.byKind[input.name] ??= { sent: 0, byStatus: {}, maxMs: 0 });
      let status = 'error';
      const started = performance.now();
      try {
        const res = await fetch(`${opts.url}${input.path}`, {
          method: 'POST',
          body: input.body as Uint8Array<ArrayBuffer>,
          headers: { ...input.headers, ...opts.headers },
          signal: AbortSignal.timeout(HANG_MS),
        });
        status = String(res.status);
        const text = await res.text();
        if (input.expect !== null && res.status === 200) {
          const got = labels.indexOf((JSON.parse(text) as Array<{ class: string }>)[0]!.class);
          if (got === input.expect) result.goodCorrect++;
          else result.goodWrong.push(`expected ${input.expect}, got ${got}`);
        }
        if (res.status >= 500 && res.status !== 503) result.serverErrors++;
        if (res.status !== 503 && !input.allowed.includes(res.status)) result.unexpected.push(`${input.name}: ${res.status} ${text.slice(0, 120)}`);
      } catch (e) {
        if (e instanceof Error && e.name === 'TimeoutError') result.hung++;
        status = e instanceof Error ? e.name : 'error';
        result.unexpected.push(`${input.name}: ${status}`);
      }
      kind.sent++;
      kind.byStatus[status] = (kind.byStatus[status] ?? 0) + 1;
      kind.maxMs = Math.max(kind.maxMs, performance.now() - started);
      if (input.expect !== null) result.goodSent++;
      result.byStatus[status] = (result.byStatus[status] ?? 0) + 1;
      opts.onProgress?.(++done);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  result.seconds = (performance.now() - t0) / 1000;
  return result;
}
