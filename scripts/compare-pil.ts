// How close our answers are to TorchServe's: `npm run compare:pil`.
// For every test image, MobileNetV2 (onnxruntime-node, CPU) runs on the pixels TorchServe's image
// classifier would make with PIL (scripts/pil-reference/, torchvision's Resize + CenterCrop) and
// on the pixels the gateway makes (server/image/preprocess.ts, the model's resize and crop) with each
// "resampling": "sharp", the default, and "pil". For each of PIL's top 5 classes:
// |p(ours) - p(PIL)| / p(PIL), and whether the top 5 agree.

import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { normalise, tensorDims } from '../browser-runtime/normalise.js';
import { resizeGeometry } from '../browser-runtime/resize-crop.js';
import { softmax, topK } from '../browser-runtime/top-k.js';
import { type Resampling, shortLabel } from '../server/store/model-config.js';
import { ModelStore, type ModelVersion } from '../server/store/model-store.js';
import { PROJECT_ROOT } from '../server/ops/paths.js';
import { torchvisionGeometry } from '../server/image/pil-resample.js';
import { preprocess, UNGATED, type PreprocessOptions } from '../server/image/preprocess.js';

const IMAGES = path.join(PROJECT_ROOT, 'tests/fixtures/images');
const K = 5;

/** Our two ways of making the pixels, each compared with PIL's: the default first. */
const VARIANTS: Resampling[] = ['sharp', 'pil'];

const options = (model: ModelVersion, resampling: Resampling): PreprocessOptions => ({
  resize: model.config.resize,
  crop: model.config.normalisation.size,
  maxPixels: 100_000_000,
  maxJpegScans: 100,
  resampling,
});

interface Reference {
  /** PNG of the crop. */
  png: Buffer;
  /** The resized image's size, as PIL made it: "WxH". */
  resized: string;
}

/** PIL's crops of `images`, by file name, from the Python reference. */
function pilReference(images: string[], model: ModelVersion): Map<string, Reference> {
  const out = mkdtempSync(path.join(os.tmpdir(), 'pil-reference-'));
  try {
    const args = ['--out', out, '--resize', String(model.config.resize), '--crop', String(model.config.normalisation.size), ...images.map((f) => path.join(IMAGES, f))];
    let report: string;
    try {
      report = execFileSync('bash', [path.join(PROJECT_ROOT, 'scripts/pil-reference/run.sh'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    } catch (e) {
      // run.sh has said why on stderr (no PIL: how to install it).
      rmSync(out, { recursive: true, force: true });
      process.exit((e as { status?: number }).status ?? 1);
    }
    // One line an image: "<file>\tresized WxH\t<png>".
    const resized = new Map(report.split('\n').map((line) => [line.split('\t')[0], /resized (\d+x\d+)/.exec(line)?.[1] ?? '?']));
    // Read now: the folder goes when this returns.
    return new Map(images.map((f) => [f, { png: readFileSync(path.join(out, `${f}.png`)), resized: resized.get(f) ?? '?' }]));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

async function rawRgb(png: Buffer, side: number): Promise<Buffer> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  if (info.width !== side || info.height !== side || info.channels !== 3) throw new Error(`reference is ${info.width}x${info.height}x${info.channels}`);
  return data;
}

async function probabilities(session: ort.InferenceSession, model: ModelVersion, pixels: Uint8Array): Promise<Float64Array> {
  const n = model.config.normalisation;
  const input = new ort.Tensor('float32', normalise(pixels, 1, n), tensorDims(1, n));
  const out = (await session.run({ [model.config.inputName]: input }))[model.config.outputName]!;
  const row = out.data as Float32Array;
  return model.config.output === 'logits' ? softmax(row) : Float64Array.from(row);
}

function pixelDiff(a: Uint8Array, b: Uint8Array): { mean: number; max: number } {
  let sum = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    sum += d;
    max = Math.max(max, d);
  }
  return { mean: sum / a.length, max };
}

function agreement(ref: number[], ours: number[]): string {
  if (ref.every((c, i) => ours[i] === c)) return 'yes';
  const shared = ref.filter((c) => ours.includes(c)).length;
  return shared === ref.length ? `same ${shared}, order differs` : `${shared} of ${ref.length}`;
}

const store = await ModelStore.open(path.join(PROJECT_ROOT, 'models'), ['mobilenet_v2']);
const model = store.resolve('mobilenet_v2');
const crop = model.config.normalisation.size;
const images = readdirSync(IMAGES)
  .filter((f) => /\.(jpe?g|png)$/i.test(f))
  .sort();
const reference = pilReference(images, model);
const session = await ort.InferenceSession.create(model.file, { executionProviders: ['cpu'], graphOptimizationLevel: 'all', logSeverityLevel: 3 });
const label = (c: number) => (model.labels[c] ? shortLabel(model.labels[c]) : String(c));
const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

console.log(`\n${model.key} on onnxruntime-node (CPU); ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}; PIL reference: Debian python3-pil`);
console.log(`relative difference of each of PIL's top ${K} probabilities: |p(ours) - p(PIL)| / p(PIL), in PIL's order\n`);
console.log(`| image | ours | resized (ours, PIL) | pixels: mean / max abs diff | PIL top-1 | relative differences, top ${K} | largest | same top ${K} |`);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
const worst = new Map<Resampling, number>();
for (const file of images) {
  const body = readFileSync(path.join(IMAGES, file));
  const ref = reference.get(file)!;
  const pil = await rawRgb(ref.png, crop);
  const pPil = await probabilities(session, model, pil);
  const topPil = topK(pPil, K);
  const meta = await sharp(body).metadata();
  for (const v of VARIANTS) {
    const opts = options(model, v);
    const ours = await preprocess(body, opts, UNGATED);
    const pOurs = await probabilities(session, model, ours);
    const rel = topPil.map((c) => Math.abs(pOurs[c]! - pPil[c]!) / pPil[c]!);
    const largest = Math.max(...rel);
    worst.set(v, Math.max(worst.get(v) ?? 0, largest));
    const g = (v === 'pil' ? torchvisionGeometry : resizeGeometry)(meta.width!, meta.height!, opts.resize, crop);
    const px = pixelDiff(ours, pil);
    console.log(
      `| ${file} | ${v} | ${g.width}x${g.height}, ${ref.resized} | ${px.mean.toFixed(2)} / ${px.max} | ${label(topPil[0]!)} ${pPil[topPil[0]!]!.toFixed(4)} | ${rel.map(pct).join(' ')} | ${pct(largest)} | ${agreement(topPil, topK(pOurs, K))} |`,
    );
  }
}
console.log('');
for (const [v, w] of worst) console.log(`"resampling": "${v}": largest relative difference ${pct(w)}`);
await session.release();
