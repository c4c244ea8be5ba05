import path from 'node:path';
import { readFileSync } from 'node:fs';
import { PROJECT_ROOT } from '../../server/ops/paths.js';

export const FIXTURES = path.join(PROJECT_ROOT, 'tests', 'fixtures');
export const MODELS = path.join(PROJECT_ROOT, 'models');
/** The null model's store (scripts/null-model writes it). */
export const NULL_MODELS = path.join(FIXTURES, 'null-model-store');

export const image = (name: string) => path.join(FIXTURES, 'images', name);
export const readImage = (name: string) => readFileSync(image(name));

export interface ExpectedAnswer {
  expected_top1: number;
  expected_top1_label: string;
  accept_top1: number[];
  fp32_dequant_top1_prob: number;
}

/** Reference answers from onnxruntime-node (tests/fixtures/images/expected.json). */
export const EXPECTED: Record<string, ExpectedAnswer> = Object.fromEntries(
  Object.entries(JSON.parse(readFileSync(image('expected.json'), 'utf8')) as Record<string, unknown>).filter(([k]) => !k.startsWith('_')),
) as Record<string, ExpectedAnswer>;

export const LABELS = readFileSync(path.join(MODELS, 'mobilenet_v2', 'labels.txt'), 'utf8')
  .split('\n')
  .filter(Boolean);

/** One detected object as TorchServe's object_detector answers it: `{"<label>": [x1, y1, x2, y2], "score": s}`. */
export type Detection = Record<string, number[] | number> & { score: number };

/** The object detector's reference answers from onnxruntime-node (tests/fixtures/images/detections.json, `npm run reference:detector`). */
export const DETECTIONS: Record<string, Detection[]> = (JSON.parse(readFileSync(image('detections.json'), 'utf8')) as { answers: Record<string, Detection[]> }).answers;

/**
 * Fails unless `got` finds the reference's objects in the same order: the same labels, each box
 * within `pixels` on every side, each score within 0.01.
 */
export function assertSameDetections(got: Detection[], want: Detection[], pixels: number, what: string): void {
  const label = (d: Detection) => Object.keys(d).find((k) => k !== 'score')!;
  const labels = (ds: Detection[]) => ds.map(label);
  if (JSON.stringify(labels(got)) !== JSON.stringify(labels(want))) throw new Error(`${what}: found ${labels(got).join(', ')}, expected ${labels(want).join(', ')}`);
  got.forEach((d, i) => {
    const w = want[i]!;
    const box = d[label(d)] as number[];
    const ref = w[label(w)] as number[];
    const off = Math.max(...box.map((v, j) => Math.abs(v - ref[j]!)));
    if (box.length !== 4 || off > pixels) throw new Error(`${what}: the ${label(d)} box [${box}] is ${off.toFixed(2)} px from [${ref}]`);
    if (Math.abs(d.score - w.score) > 0.01) throw new Error(`${what}: the ${label(d)} score ${d.score} is not ${w.score}`);
  });
}
