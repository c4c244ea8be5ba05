// An image segmenter's answer as the page draws and compares it: TorchServe's image_segmenter
// format (rows x columns of [class index, probability], at the model's output size), painted a
// colour per class and placed over the image where the model's input came from. Pure: tested
// without a browser.

import type { Placement } from '../browser-runtime/handler-api.js';
import type { Rect } from './detections.js';

export interface ClassMap {
  rows: number;
  cols: number;
  /** Class index per cell, row by row. */
  classes: Int32Array;
  probabilities: Float32Array;
}

// A map larger than this is not a segmenter's answer the page can paint (a 2048 x 2048 output).
const MAX_CELLS = 2048 * 2048;

/** TorchServe's image_segmenter answer for one image: a list of rows, each a list of [class index, probability]. */
export function parseClassMap(body: unknown): ClassMap {
  if (!Array.isArray(body) || body.length === 0 || !Array.isArray(body[0])) throw new TypeError('the answer is not a list of rows');
  const rows = body.length;
  const cols = (body[0] as unknown[]).length;
  if (cols === 0 || rows * cols > MAX_CELLS) throw new TypeError(`a class map of ${rows} x ${cols} cells cannot be shown`);
  const classes = new Int32Array(rows * cols);
  const probabilities = new Float32Array(rows * cols);
  body.forEach((row: unknown, r) => {
    if (!Array.isArray(row) || row.length !== cols) throw new TypeError(`row ${r} does not have ${cols} cells`);
    row.forEach((cell: unknown, c) => {
      if (!Array.isArray(cell) || !Number.isInteger(cell[0]) || (cell[0] as number) < 0 || typeof cell[1] !== 'number') throw new TypeError(`cell ${r}, ${c} is not [class index, probability]`);
      classes[r * cols + c] = cell[0] as number;
      probabilities[r * cols + c] = cell[1] as number;
    });
  });
  return { rows, cols, classes, probabilities };
}

/** The map as RGBA pixels, one per cell: each class's colour at `alpha`, or clear where `colourOf` gives none. */
export function classMapPixels(map: ClassMap, colourOf: (cls: number) => [number, number, number] | null, alpha: number): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(map.rows * map.cols * 4);
  const known = new Map<number, [number, number, number] | null>();
  const a = Math.round(alpha * 255);
  for (let i = 0; i < map.classes.length; i++) {
    const cls = map.classes[i]!;
    if (!known.has(cls)) known.set(cls, colourOf(cls));
    const rgb = known.get(cls);
    if (!rgb) continue;
    out.set([rgb[0], rgb[1], rgb[2], a], i * 4);
  }
  return out;
}

/** Each class the map holds and the share of cells it covers, largest first. */
export function classShares(map: ClassMap): { cls: number; share: number }[] {
  const counts = new Map<number, number>();
  for (const c of map.classes) counts.set(c, (counts.get(c) ?? 0) + 1);
  return [...counts].map(([cls, n]) => ({ cls, share: n / map.classes.length })).sort((a, b) => b.share - a.share || a.cls - b.cls);
}

/**
 * Where the model's `size` square input lies on a canvas showing the image at `scale` canvas
 * pixels per image pixel: the map covers that square, which reaches past the image where the
 * input was padded and covers part of it where the input was cropped.
 */
export function inputOnCanvas(placement: Placement, size: number, scale: number): Rect {
  return { x: (-placement.left / placement.scaleX) * scale, y: (-placement.top / placement.scaleY) * scale, width: (size / placement.scaleX) * scale, height: (size / placement.scaleY) * scale };
}

/** The share of cells given the same class by both maps; null where their sizes differ. */
export function sameClassShare(a: ClassMap, b: ClassMap): number | null {
  if (a.rows !== b.rows || a.cols !== b.cols) return null;
  let same = 0;
  for (let i = 0; i < a.classes.length; i++) if (a.classes[i] === b.classes[i]) same++;
  return same / a.classes.length;
}
