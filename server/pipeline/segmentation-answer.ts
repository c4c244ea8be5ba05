// A segmenter's answer from the page's compact form (browser-runtime/handlers/image-segmenter.ts:
// width, height, a class map and its probabilities in base64) to what the client asked for:
// TorchServe's image_segmenter answer (height rows of width [class, probability] pairs), or the
// class map alone as a PNG (png-class-map.ts).

import type { Segmentation } from '../../browser-runtime/handlers/image-segmenter.js';
import { greyscalePng } from './png-class-map.js';

/** The page's compact answer, checked: a page that answered otherwise is a fault of ours, not the client's. */
export function parseSegmentation(text: string): Segmentation {
  const o = JSON.parse(text) as { width?: unknown; height?: unknown; classes?: unknown; probabilities?: unknown };
  const { width, height, classes, probabilities } = o;
  if (!Number.isInteger(width) || !Number.isInteger(height) || typeof classes !== 'string' || typeof probabilities !== 'string')
    throw new Error('a segmentation answer needs width, height, classes and probabilities');
  const pixels = (width as number) * (height as number);
  const map = Buffer.from(classes, 'base64');
  const probs = Buffer.from(probabilities, 'base64');
  if (map.length !== pixels || probs.length !== pixels * 4) throw new Error(`a ${width}x${height} segmentation has ${map.length} classes and ${probs.length / 4} probabilities`);
  const values = new Float32Array(pixels);
  for (let i = 0; i < pixels; i++) values[i] = probs.readFloatLE(i * 4);
  return { width: width as number, height: height as number, classes: new Uint8Array(map), probabilities: values };
}

/**
 * TorchServe's answer: `[[[class, probability], ...width], ...height]`. Each probability is the
 * float32's exact value, as Python prints the float torch's tolist() gives; the class is written
 * as an integer (TorchServe writes it as a float, 3.0: the same number to a JSON reader).
 */
export function segmentationJson(s: Segmentation): string {
  const rows: string[] = [];
  for (let y = 0; y < s.height; y++) {
    const pairs: string[] = [];
    for (let x = 0; x < s.width; x++) {
      const i = y * s.width + x;
      pairs.push(`[${s.classes[i]},${s.probabilities[i]}]`);
    }
    rows.push(`[${pairs.join(',')}]`);
  }
  return `[${rows.join(',')}]`;
}

/** The class map of the page's compact answer, as a PNG. */
export const segmentationPng = (text: string): Promise<Buffer> => {
  const s = parseSegmentation(text);
  return greyscalePng(s.classes, s.width, s.height);
};
