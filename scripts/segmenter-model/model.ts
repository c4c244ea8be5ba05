// The palette segmenter: a synthetic image segmenter whose answer is known exactly, for testing
// the image_segmenter handler end to end. Each pixel's class is the nearest of five palette
// colours (background black, red, green, blue, white): with x the pixel's RGB in [0, 1] and p_k
// the palette colour, logit_k = T (2 x.p_k - |p_k|^2), which is -T |x - p_k|^2 less a term the
// same for every class, so the softmax is that of the negated squared distances. That is one
// 1x1 convolution:
//   input float32 [batch,3,64,64] -> Conv (weight [5,3,1,1] = 2T p, bias [5] = -T |p|^2) -> out float32 [batch,5,64,64]
// Encoded by hand with the null model's protobuf writer (../null-model/model.ts). build.ts writes
// the store folder; a unit test checks the committed files against paletteStoreFiles.

import { modelFolderFiles } from '../model-fixtures.js';
import { initializer, message, modelProto, node, stringField, valueInfo } from '../null-model/model.js';

export const INPUT = 'input';
/** TorchServe's segmenters read the model's `out`. */
export const OUTPUT = 'out';
export const SIDE = 64;
export const PALETTE: readonly (readonly [string, readonly [number, number, number]])[] = [
  ['background', [0, 0, 0]],
  ['red', [1, 0, 0]],
  ['green', [0, 1, 0]],
  ['blue', [0, 0, 1]],
  ['white', [1, 1, 1]],
];
export const CLASSES = PALETTE.length;
/** How sharp the softmax is: a pure palette colour gets about 0.9997. */
const TEMPERATURE = 8;
const PRODUCER = 'webgpu-inference-server scripts/segmenter-model';

export function paletteWeights(): { weight: Float32Array; bias: Float32Array } {
  const weight = new Float32Array(CLASSES * 3); // [5,3,1,1]
  const bias = new Float32Array(CLASSES);
  PALETTE.forEach(([, p], k) => {
    p.forEach((v, c) => {
      weight[k * 3 + c] = 2 * TEMPERATURE * v;
    });
    bias[k] = -TEMPERATURE * p.reduce((s, v) => s + v * v, 0);
  });
  return { weight, bias };
}

/** The model's logits in plain JS, float64 on the float32 weights: input and output NCHW. */
export function paletteReference(input: Float32Array, batch: number): Float64Array {
  const { weight, bias } = paletteWeights();
  const plane = SIDE * SIDE;
  if (input.length !== batch * 3 * plane) throw new Error(`input has ${input.length} values, expected ${batch} x 3 x ${SIDE} x ${SIDE}`);
  const out = new Float64Array(batch * CLASSES * plane);
  for (let n = 0; n < batch; n++) {
    for (let k = 0; k < CLASSES; k++) {
      for (let i = 0; i < plane; i++) {
        let v = bias[k]!;
        for (let c = 0; c < 3; c++) v += weight[k * 3 + c]! * input[(n * 3 + c) * plane + i]!;
        out[(n * CLASSES + k) * plane + i] = v;
      }
    }
  }
  return out;
}

/** The whole ModelProto, deterministic byte for byte. */
export function encodePaletteModel(): Uint8Array {
  const { weight, bias } = paletteWeights();
  const graph = message(
    7, // ModelProto.graph
    node('Conv', [INPUT, 'weight', 'bias'], [OUTPUT]),
    stringField(2, 'palette_segmenter'), // GraphProto.name
    initializer('weight', [CLASSES, 3, 1, 1], weight),
    initializer('bias', [CLASSES], bias),
    valueInfo(11, INPUT, ['batch', 3, SIDE, SIDE]),
    valueInfo(12, OUTPUT, ['batch', CLASSES, SIDE, SIDE]),
  );
  return modelProto(graph, PRODUCER);
}

export const STORE = 'tests/fixtures/segmenter-store';
export const MODEL_NAME = 'palette_segmenter';
export const VERSION = '1.0';

/** Every file of <store>/palette_segmenter/, by path relative to the store. */
export function paletteStoreFiles(): Map<string, Uint8Array> {
  const config = {
    description: 'Palette segmenter (synthetic): each pixel classed as the nearest of black, red, green, blue and white (scripts/segmenter-model/model.ts)',
    handler: 'image_segmenter',
    default_version: VERSION,
    labels: 'labels.txt',
    input_name: INPUT,
    output_name: OUTPUT,
    preprocessing: { fit: 'resize', size: SIDE, channel_order: 'RGB', layout: 'NCHW', scale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1] },
    answer: 'json',
    backend: 'auto',
    batch_size: 4,
    max_batch_delay: 0,
    workers: 1,
  };
  return modelFolderFiles(MODEL_NAME, VERSION, { config, labels: `${PALETTE.map(([name]) => name).join('\n')}\n`, model: encodePaletteModel() });
}
