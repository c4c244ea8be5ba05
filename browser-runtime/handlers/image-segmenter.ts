// TorchServe's image_segmenter: the model's logits `out` [batch, classes, height, width], a
// softmax over the classes, and per pixel the most likely class and its probability. TorchServe
// writes that as a nested list (height rows of width [class, probability] pairs), several times
// the size of the numbers in it; the page sends the numbers compactly instead (segmentationText)
// and the gateway writes the nested list, or a PNG class map, from them
// (server/pipeline/segmentation-answer.ts). Pure but for the tensors: tested without a browser.

import type * as Ort from 'onnxruntime-web';
import type { OrtModule } from '../ort-loader.js';
import type { Normalisation } from '../protocol.js';
import { orNull } from '../optional.js';
import { GpuSegmenter } from './gpu-segment.js';
import { imageInputs } from './image-input.js';
import type { ItemMeta, Outputs, PageHandler } from './page-handler.js';

/** One class index per byte: a class map of more classes would need wider pixels. */
export const MAX_SEGMENTER_CLASSES = 256;

/** One image's answer: per pixel, row by row, the top class and its softmax probability. */
export interface Segmentation {
  width: number;
  height: number;
  classes: Uint8Array;
  probabilities: Float32Array;
}

/**
 * The top class of each pixel of one image's logits (`classes` planes of `width` x `height`,
 * as NCHW lays them out) and its softmax probability, 1 / sum(exp(l - max)). The first class
 * wins a tie, as torch.max does.
 */
export function segment(logits: ArrayLike<number>, classes: number, height: number, width: number): Segmentation {
  const plane = height * width;
  if (logits.length !== classes * plane) throw new RangeError(`${logits.length} logits are not ${classes} classes of ${height}x${width}`);
  if (classes < 1 || classes > MAX_SEGMENTER_CLASSES) throw new RangeError(`the model has ${classes} classes; a segmenter answers 1 to ${MAX_SEGMENTER_CLASSES}`);
  const top = new Uint8Array(plane);
  const probabilities = new Float32Array(plane);
  for (let i = 0; i < plane; i++) {
    let best = 0;
    let max = logits[i]!;
    for (let c = 1; c < classes; c++) {
      const v = logits[c * plane + i]!;
      if (v > max) {
        max = v;
        best = c;
      }
    }
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(logits[c * plane + i]! - max);
    top[i] = best;
    probabilities[i] = 1 / sum;
  }
  return { width, height, classes: top, probabilities };
}

/** Bytes as base64, in slices small enough for String.fromCharCode's argument list. */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let at = 0; at < bytes.length; at += 0x8000) binary += String.fromCharCode(...bytes.subarray(at, at + 0x8000));
  return btoa(binary);
}

/**
 * The answer the page sends: width, height, the class map (one byte a pixel) and the
 * probabilities (little-endian float32) in base64, as JSON text.
 */
export function segmentationText(s: Segmentation): string {
  const probabilities = new Uint8Array(s.probabilities.length * 4);
  const view = new DataView(probabilities.buffer);
  s.probabilities.forEach((p, i) => view.setFloat32(i * 4, p, true));
  return JSON.stringify({ width: s.width, height: s.height, classes: toBase64(s.classes), probabilities: toBase64(probabilities) });
}

export class ImageSegmenter implements PageHandler {
  /** Made on the first answer from logits left on the GPU, for that device; null where its shader did not compile. */
  private onGpu: Promise<GpuSegmenter | null> | null = null;

  constructor(
    private readonly ort: OrtModule,
    private readonly inputName: string,
    private readonly outputName: string,
    private readonly normalisation: Normalisation,
  ) {}

  inputs(items: readonly Uint8Array[], ranBatch: number): Record<string, Ort.Tensor> {
    return imageInputs(this.ort, this.inputName, this.normalisation, items, ranBatch);
  }

  /** On WebGPU the logits stay there, and only each pixel's class and probability are read back (gpu-segment.ts). */
  gpuOutputs(): string[] {
    return [this.outputName];
  }

  async answers(outputs: Outputs, _meta: ItemMeta, count: number): Promise<string[]> {
    const out = outputs[this.outputName];
    if (!out || !(out.gpu || out.data instanceof Float32Array) || out.dims.length !== 4) throw new Error(`output "${this.outputName}" is not a float32 [batch, classes, height, width] tensor`);
    const [batch, classes, height, width] = out.dims as [number, number, number, number];
    if (classes < 1 || classes > MAX_SEGMENTER_CLASSES) throw new RangeError(`the model has ${classes} classes; a segmenter answers 1 to ${MAX_SEGMENTER_CLASSES}`);
    const images = Math.min(count, batch);
    let data = out.data as Float32Array;
    if (out.gpu) {
      const { buffer, device } = out.gpu;
      this.onGpu ??= orNull(GpuSegmenter.create(device), 'segmenting in JavaScript');
      const onGpu = await this.onGpu;
      if (onGpu) return (await onGpu.segment(buffer, images, classes, height, width)).map(segmentationText);
      data = (await out.gpu.read()) as Float32Array;
    }
    const per = classes * height * width;
    return Array.from({ length: images }, (_, i) => segmentationText(segment(data.subarray(i * per, (i + 1) * per), classes, height, width)));
  }
}
