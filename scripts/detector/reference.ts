// The object detector's reference answers, from onnxruntime-node (native CPU code, not the page's
// onnxruntime-web): each test photo decoded and letterboxed by the server's own preprocessing,
// run natively, and read by the same decoding the page runs. The integration tests compare the
// server's answers on WASM and WebGPU with these: the same labels, boxes within 2 pixels.
//
//   npm run reference:detector   (writes tests/fixtures/images/detections.json)

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { decodeYolox, detectionAnswer, nonMaximumSuppression } from '../../browser-runtime/handlers/object-detector.js';
import { normalise, tensorDims } from '../../browser-runtime/normalise.js';
import { preprocessPlaced, UNGATED } from '../../server/image/preprocess.js';
import { parseModelConfig } from '../../server/store/model-config.js';
import { PROJECT_ROOT } from '../../server/ops/paths.js';

const MODEL = path.join(PROJECT_ROOT, 'models', 'yolox_nano');
const IMAGES = path.join(PROJECT_ROOT, 'tests', 'fixtures', 'images');
export const PHOTOS = ['dog_malamute.jpg', 'kitten.jpg', 'bald_eagle.jpg', 'espresso_coffee.png', 'cat_chelsea.png'];

async function main(): Promise<void> {
  const config = parseModelConfig(JSON.parse(readFileSync(path.join(MODEL, 'config.json'), 'utf8')));
  const labels = readFileSync(path.join(MODEL, 'labels.txt'), 'utf8').trimEnd().split('\n');
  const detector = config.detector!;
  const n = config.normalisation;
  const session = await ort.InferenceSession.create(path.join(MODEL, '1.0', 'model.onnx'));
  const answers: Record<string, unknown> = {};
  for (const photo of PHOTOS) {
    const placed = await preprocessPlaced(
      readFileSync(path.join(IMAGES, photo)),
      { resize: config.resize, crop: n.size, maxPixels: 40_000_000, maxJpegScans: 100, fit: config.fit, fill: config.fill, align: config.align },
      UNGATED,
    );
    const input = new ort.Tensor('float32', normalise(placed.pixels, 1, n), tensorDims(1, n));
    const out = (await session.run({ [config.inputName]: input }))[config.outputName]!;
    const [, rows] = out.dims as [number, number, number];
    const found = decodeYolox(out.data as Float32Array, rows, n.size, detector.strides, detector.scoreThreshold);
    const p = placed.placement;
    const answer = detectionAnswer(nonMaximumSuppression(found, detector.nmsThreshold, detector.maxDetections), [p.width, p.height, p.scaleX, p.scaleY, p.left, p.top], labels);
    answers[photo] = JSON.parse(answer);
    console.log(photo, answer);
  }
  writeFileSync(path.join(IMAGES, 'detections.json'), `${JSON.stringify({ model: 'yolox_nano', runtime: `onnxruntime-node ${ort.env.versions.node ?? ''}`.trim(), answers }, null, 2)}\n`);
}

await main();
