// An answer drawn over the image (a detector's boxes, a segmenter's class map) with the list
// beside it that says the same in words: what a screen reader reads, and what a reader copies.

import type { Placement } from '../browser-runtime/handler-api.js';
import { type ClassMap, classShares } from './class-map.js';
import { classColour, css, isBackground } from './colours.js';
import type { Detection } from './detections.js';
import { paintClassMap, paintDetections, paintImage } from './draw.js';

export interface DrawnView {
  figure: HTMLElement;
  canvas: HTMLCanvasElement;
  found: HTMLUListElement;
}

/** The image the answer is drawn on, and what places the model's input on it. */
export interface Scene {
  /** null where this browser cannot decode the image: the list is shown alone. */
  image: ImageBitmap | null;
  labels: readonly string[];
  placement: Placement;
  /** Side of the model's square input. */
  size: number;
}

// The list names this many classes of a class map at most; the rest are few cells each.
const MAP_CLASSES_LISTED = 8;

const percent = (p: number) => `${(p * 100).toFixed(p < 0.1 ? 1 : 0)}%`;

function item(colour: [number, number, number] | null, label: string, value: string): HTMLLIElement {
  const li = document.createElement('li');
  const swatch = document.createElement('span');
  swatch.className = colour ? 'swatch' : 'swatch clear';
  swatch.setAttribute('aria-hidden', 'true');
  if (colour) swatch.style.background = css(colour);
  const name = document.createElement('span');
  name.className = 'label';
  name.textContent = label;
  const amount = document.createElement('span');
  amount.className = 'value';
  amount.textContent = value;
  li.append(swatch, name, amount);
  return li;
}

/** A detector's label to its colour: by its class index, so that a class keeps one colour. */
function labelColour(labels: readonly string[]): (label: string) => [number, number, number] {
  return (label) => {
    const i = labels.indexOf(label);
    return classColour(i >= 0 ? i : [...label].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) >>> 0, 7) % 997);
  };
}

function paint(view: DrawnView, scene: Scene, summary: string, draw: (p: ReturnType<typeof paintImage>) => void): void {
  view.canvas.setAttribute('aria-label', summary);
  view.figure.hidden = !scene.image;
  if (scene.image) draw(paintImage(view.canvas, scene.image));
}

export function showDetections(view: DrawnView, detections: readonly Detection[], scene: Scene): void {
  const colourOf = labelColour(scene.labels);
  view.found.replaceChildren(
    ...detections.map((d) => {
      const li = item(colourOf(d.label), d.label, percent(d.score));
      li.dataset['label'] = d.label;
      li.dataset['score'] = String(d.score);
      li.dataset['box'] = d.box.join(',');
      return li;
    }),
  );
  if (detections.length === 0) view.found.replaceChildren(item(null, 'No object found', ''));
  view.found.hidden = false;
  const summary = detections.length
    ? `The image with ${detections.length} box${detections.length === 1 ? '' : 'es'}: ${detections.map((d) => `${d.label} ${percent(d.score)}`).join(', ')}`
    : 'The image: no object found';
  paint(view, scene, summary, (p) => paintDetections(p, detections, colourOf));
}

export function showClassMap(view: DrawnView, map: ClassMap, scene: Scene): void {
  const name = (cls: number) => scene.labels[cls] ?? `class ${cls}`;
  const colourOf = (cls: number) => (isBackground(scene.labels[cls]) ? null : classColour(cls));
  const shares = classShares(map);
  view.found.replaceChildren(
    ...shares.slice(0, MAP_CLASSES_LISTED).map(({ cls, share }) => {
      const li = item(colourOf(cls), name(cls), percent(share));
      li.dataset['class'] = String(cls);
      li.dataset['share'] = String(share);
      return li;
    }),
  );
  view.found.hidden = false;
  const summary = `The image with its class map: ${shares
    .slice(0, MAP_CLASSES_LISTED)
    .map(({ cls, share }) => `${name(cls)} ${percent(share)}`)
    .join(', ')}`;
  paint(view, scene, summary, (p) => paintClassMap(p, map, scene.placement, scene.size, colourOf));
}
