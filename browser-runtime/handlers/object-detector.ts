// TorchServe's object_detector, for detectors exported without their box decoding (YOLOX's
// ONNX export): the raw rows decoded to boxes, scored, thresholded, reduced by non-maximum
// suppression per class, and mapped back to the original image's pixels. The answer is
// TorchServe's: per image, a list of {"<label>": [x1, y1, x2, y2], "score": s}, highest score
// first. Pure but for the tensors: tested without a browser.

import type * as Ort from 'onnxruntime-web';
import type { OrtModule } from '../ort-loader.js';
import type { DetectorSpec, Normalisation } from '../protocol.js';
import { imageInputs } from './image-input.js';
import { type ItemMeta, metaOf, type Outputs, type PageHandler } from './page-handler.js';

/** A box in the model's input pixels, its class and its score. */
export interface Detection {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  cls: number;
  score: number;
}

/**
 * One image's YOLOX rows (`rows` x (5 + classes): cx, cy, w, h as offsets on the grid cell of
 * its stride, then objectness and class scores, both already through a sigmoid) to its boxes
 * scoring at least `threshold`: each row's best class, scored objectness x class score.
 */
export function decodeYolox(raw: ArrayLike<number>, rows: number, inputSize: number, strides: readonly number[], threshold: number): Detection[] {
  const width = raw.length / rows;
  const classes = width - 5;
  if (!Number.isInteger(width) || classes < 1) throw new RangeError(`a YOLOX output of ${raw.length} values is not ${rows} rows of 5 + classes`);
  const out: Detection[] = [];
  let row = 0;
  for (const stride of strides) {
    const cells = Math.floor(inputSize / stride);
    for (let gy = 0; gy < cells; gy++) {
      for (let gx = 0; gx < cells; gx++, row++) {
        if (row >= rows) throw new RangeError(`the output has ${rows} rows; strides ${strides.join(', ')} at ${inputSize} px need more`);
        const at = row * width;
        const objectness = raw[at + 4]!;
        if (objectness < threshold) continue; // no class can score more than the objectness
        let cls = 0;
        let best = raw[at + 5]!;
        for (let c = 1; c < classes; c++) {
          const s = raw[at + 5 + c]!;
          if (s > best) {
            best = s;
            cls = c;
          }
        }
        const score = objectness * best;
        if (score < threshold) continue;
        const cx = (raw[at]! + gx) * stride;
        const cy = (raw[at + 1]! + gy) * stride;
        const w = Math.exp(raw[at + 2]!) * stride;
        const h = Math.exp(raw[at + 3]!) * stride;
        out.push({ x1: cx - w / 2, y1: cy - h / 2, x2: cx + w / 2, y2: cy + h / 2, cls, score });
      }
    }
  }
  if (row !== rows) throw new RangeError(`the output has ${rows} rows; strides ${strides.join(', ')} at ${inputSize} px give ${row}`);
  return out;
}

function iou(a: Detection, b: Detection): number {
  const w = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const h = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / ((a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter);
}

/** Greedy non-maximum suppression within each class: the highest scores first, at most `max` kept. */
export function nonMaximumSuppression(detections: readonly Detection[], threshold: number, max: number): Detection[] {
  const sorted = [...detections].sort((a, b) => b.score - a.score);
  const kept: Detection[] = [];
  for (const d of sorted) {
    if (kept.length >= max) break;
    if (kept.every((k) => k.cls !== d.cls || iou(k, d) <= threshold)) kept.push(d);
  }
  return kept;
}

const round = (v: number, places: number) => Math.round(v * 10 ** places) / 10 ** places;

/**
 * The answer for one image: each box from the input's pixels back to the original image's
 * (meta: width, height, scaleX, scaleY, left, top), inside the image, to a hundredth of a pixel.
 */
export function detectionAnswer(kept: readonly Detection[], meta: ArrayLike<number>, labels: readonly string[]): string {
  const [width, height, scaleX, scaleY, left, top] = Array.from(meta) as [number, number, number, number, number, number];
  const x = (v: number) => round(Math.min(width, Math.max(0, (v - left) / scaleX)), 2);
  const y = (v: number) => round(Math.min(height, Math.max(0, (v - top) / scaleY)), 2);
  const members = kept.map((d) => `{${JSON.stringify(labels[d.cls] ?? String(d.cls))}:${JSON.stringify([x(d.x1), y(d.y1), x(d.x2), y(d.y2)])},"score":${round(d.score, 5)}}`);
  return `[${members.join(',')}]`;
}

export class ObjectDetector implements PageHandler {
  constructor(
    private readonly ort: OrtModule,
    private readonly inputName: string,
    private readonly outputName: string,
    private readonly normalisation: Normalisation,
    private readonly spec: DetectorSpec,
    private readonly labels: readonly string[],
  ) {}

  inputs(items: readonly Uint8Array[], ranBatch: number): Record<string, Ort.Tensor> {
    return imageInputs(this.ort, this.inputName, this.normalisation, items, ranBatch);
  }

  answers(outputs: Outputs, meta: ItemMeta, count: number): string[] {
    const out = outputs[this.outputName];
    if (!out || !(out.data instanceof Float32Array) || out.dims.length !== 3) throw new Error(`output "${this.outputName}" is not a float32 [batch, rows, 5 + classes] tensor`);
    const [batch, rows, width] = out.dims as [number, number, number];
    const per = rows * width;
    const data = out.data;
    return Array.from({ length: Math.min(count, batch) }, (_, i) => {
      const found = decodeYolox(data.subarray(i * per, (i + 1) * per), rows, this.normalisation.size, this.spec.strides, this.spec.scoreThreshold);
      return detectionAnswer(nonMaximumSuppression(found, this.spec.nmsThreshold, this.spec.maxDetections), metaOf(meta, i), this.labels);
    });
  }
}
