// Painting an answer over the image on a canvas: the image at the width the canvas is shown at,
// in device pixels so that lines and captions stay sharp; boxes with their captions; a
// translucent class map.

import type { Placement } from '../browser-runtime/handler-api.js';
import { type ClassMap, classMapPixels, inputOnCanvas } from './class-map.js';
import { css, textColourOn } from './colours.js';
import { boxOnCanvas, captionAt, type Detection } from './detections.js';

type Rgb = [number, number, number];

// Tall images are shown no taller than this many CSS pixels.
const MAX_HEIGHT = 420;
const CAPTION_PX = 13;
// The class map's opacity: the image shows through.
const MAP_ALPHA = 0.55;

export interface Painted {
  context: CanvasRenderingContext2D;
  /** Canvas pixels per CSS pixel. */
  unit: number;
  /** Canvas pixels per image pixel. */
  scale: number;
  image: { width: number; height: number };
}

/** Sizes the canvas to the room it has and draws the image on it. */
export function paintImage(canvas: HTMLCanvasElement, image: ImageBitmap): Painted {
  // A figure not laid out yet has no width: a common column's then.
  const room = canvas.parentElement?.clientWidth || 400;
  const cssWidth = Math.max(1, Math.min(room, (MAX_HEIGHT * image.width) / image.height));
  const unit = globalThis.devicePixelRatio || 1;
  canvas.width = Math.round(cssWidth * unit);
  canvas.height = Math.max(1, Math.round(((cssWidth * image.height) / image.width) * unit));
  canvas.style.width = `${cssWidth}px`;
  const context = canvas.getContext('2d');
  if (!context) throw new Error('no 2D canvas in this browser');
  context.drawImage(image, 0, 0, canvas.width, canvas.height);
  return { context, unit, scale: canvas.width / image.width, image: { width: image.width, height: image.height } };
}

/** Each box and its caption ("dog 93%"), the highest score drawn last, on top. */
export function paintDetections(p: Painted, detections: readonly Detection[], colourOf: (label: string) => Rgb): void {
  const { context: c, unit } = p;
  const canvas = { width: c.canvas.width, height: c.canvas.height };
  const size = CAPTION_PX * unit;
  const pad = 3 * unit;
  c.font = `600 ${size}px system-ui, sans-serif`;
  c.textBaseline = 'top';
  for (const d of [...detections].sort((a, b) => a.score - b.score)) {
    const colour = colourOf(d.label);
    const box = boxOnCanvas(d.box, p.image, canvas);
    c.lineWidth = 2 * unit;
    c.strokeStyle = css(colour);
    c.strokeRect(box.x, box.y, box.width, box.height);
    const text = `${d.label} ${Math.round(d.score * 100)}%`;
    const caption = { width: c.measureText(text).width + 2 * pad, height: size + 2 * pad };
    const at = captionAt(box, caption, canvas);
    c.fillStyle = css(colour);
    c.fillRect(at.x, at.y, caption.width, caption.height);
    c.fillStyle = textColourOn(colour);
    c.fillText(text, at.x + pad, at.y + pad);
  }
}

/** The class map over the part of the image the model's input came from, a colour per class, cells kept square-edged. */
export function paintClassMap(p: Painted, map: ClassMap, placement: Placement, size: number, colourOf: (cls: number) => Rgb | null): void {
  const cells = document.createElement('canvas');
  cells.width = map.cols;
  cells.height = map.rows;
  cells.getContext('2d')?.putImageData(new ImageData(classMapPixels(map, colourOf, MAP_ALPHA), map.cols, map.rows), 0, 0);
  const at = inputOnCanvas(placement, size, p.scale);
  p.context.imageSmoothingEnabled = false;
  p.context.drawImage(cells, at.x, at.y, at.width, at.height);
}
