// TorchServe's object_detector, for detectors exported without their box decoding (YOLOX's
// ONNX export): the raw rows decoded to boxes, scored, thresholded, reduced by non-maximum
// suppression per class, and mapped back to the original image's pixels. The answer is
// TorchServe's: per image, a list of {"<label>": [x1, y1, x2, y2], "score": s}, highest score
// first. Pure but for the tensors: tested without a browser.

import type * as Ort from 'onnxruntime-web';
import type { OrtModule } from '../ort-loader.js';
import type { DetectorSpec, Normalisation } from '../protocol.js';
import { orNull } from '../optional.js';
import { GpuDetectionFilter, KEPT_VALUES } from './gpu-detect.js';
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

/** The rows a YOLOX output has for `strides` at `inputSize` px: each stride's grid, row by row. */
export function yoloxRows(inputSize: number, strides: readonly number[]): number {
  return strides.reduce((n, stride) => n + Math.floor(inputSize / stride) ** 2, 0);
}

/** Row `row`'s grid cell and stride. */
function cellOf(row: number, inputSize: number, strides: readonly number[]): { gx: number; gy: number; stride: number } {
  let first = 0;
  for (const stride of strides) {
    const cells = Math.floor(inputSize / stride);
    if (row < first + cells * cells) {
      const at = row - first;
      return { gx: at % cells, gy: Math.floor(at / cells), stride };
    }
    first += cells * cells;
  }
  throw new RangeError(`row ${row} is past the grids of strides ${strides.join(', ')} at ${inputSize} px`);
}

/** A row's box from its raw cx, cy, w, h (offsets on its cell), scored objectness x class score. */
function detectionOf(row: number, values: ArrayLike<number>, at: number, cls: number, best: number, inputSize: number, strides: readonly number[]): Detection {
  const { gx, gy, stride } = cellOf(row, inputSize, strides);
  const cx = (values[at]! + gx) * stride;
  const cy = (values[at + 1]! + gy) * stride;
  const w = Math.exp(values[at + 2]!) * stride;
  const h = Math.exp(values[at + 3]!) * stride;
  return { x1: cx - w / 2, y1: cy - h / 2, x2: cx + w / 2, y2: cy + h / 2, cls, score: values[at + 4]! * best };
}

function checkRows(rows: number, inputSize: number, strides: readonly number[]): void {
  const expected = yoloxRows(inputSize, strides);
  if (rows !== expected) throw new RangeError(`the output has ${rows} rows; strides ${strides.join(', ')} at ${inputSize} px give ${expected}`);
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
  checkRows(rows, inputSize, strides);
  const out: Detection[] = [];
  for (let row = 0; row < rows; row++) {
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
    if (objectness * best < threshold) continue;
    out.push(detectionOf(row, raw, at, cls, best, inputSize, strides));
  }
  return out;
}

/**
 * The same from the rows the GPU kept (gpu-detect.ts: index, class, cx, cy, w, h, objectness and
 * class score each, in row order), thresholded again here: the same detections as decodeYolox
 * gives from the whole output.
 */
export function decodeKeptRows(kept: Float32Array, rows: number, inputSize: number, strides: readonly number[], threshold: number): Detection[] {
  checkRows(rows, inputSize, strides);
  const out: Detection[] = [];
  for (let at = 0; at < kept.length; at += KEPT_VALUES) {
    const objectness = kept[at + 6]!;
    const best = kept[at + 7]!;
    if (objectness < threshold || objectness * best < threshold) continue;
    out.push(detectionOf(kept[at]!, kept, at + 2, kept[at + 1]!, best, inputSize, strides));
  }
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

/** Rows the GPU keeps per image at most; an image with more is read back whole. */
const GPU_KEPT_ROWS = 1024;

export class ObjectDetector implements PageHandler {
  /** Made on the first answer from rows left on the GPU, for that device; null where its shader did not compile. */
  private onGpu: Promise<GpuDetectionFilter | null> | null = null;

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

  /** On WebGPU the raw rows stay there, and only the rows that may pass the threshold are read back (gpu-detect.ts). */
  gpuOutputs(): string[] {
    return [this.outputName];
  }

  async answers(outputs: Outputs, meta: ItemMeta, count: number): Promise<string[]> {
    const out = outputs[this.outputName];
    if (!out || !(out.gpu || out.data instanceof Float32Array) || out.dims.length !== 3) throw new Error(`output "${this.outputName}" is not a float32 [batch, rows, 5 + classes] tensor`);
    const [batch, rows, width] = out.dims as [number, number, number];
    if (width < 6) throw new RangeError(`a YOLOX output of ${width} values a row is not 5 + classes`);
    const images = Math.min(count, batch);
    const { size } = this.normalisation;
    const { strides, scoreThreshold, nmsThreshold, maxDetections } = this.spec;
    const answer = (found: Detection[], i: number) => detectionAnswer(nonMaximumSuppression(found, nmsThreshold, maxDetections), metaOf(meta, i), this.labels);
    let data = out.data as Float32Array;
    if (out.gpu) {
      const { buffer, device } = out.gpu;
      this.onGpu ??= orNull(GpuDetectionFilter.create(device), 'detecting in JavaScript');
      const onGpu = await this.onGpu;
      const kept = onGpu ? await onGpu.filter(buffer, images, rows, width, scoreThreshold, GPU_KEPT_ROWS) : null;
      // Every image within the cap: done from the kept rows alone; else the whole output is read.
      if (kept?.every((k) => k !== null)) return kept.map((k, i) => answer(decodeKeptRows(k!, rows, size, strides, scoreThreshold), i));
      data = (await out.gpu.read()) as Float32Array;
    }
    const per = rows * width;
    return Array.from({ length: images }, (_, i) => answer(decodeYolox(data.subarray(i * per, (i + 1) * per), rows, size, strides, scoreThreshold), i));
  }
}
