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
