// An object detector's answer as the page draws and compares it: TorchServe's object_detector
// format, each box from the original image's pixels to the canvas. Pure: tested without a browser.

export interface Detection {
  label: string;
  score: number;
  /** x1, y1, x2, y2 in the original image's pixels. */
  box: [number, number, number, number];
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** TorchServe's object_detector answer for one image: a list of {"<label>": [x1, y1, x2, y2], "score": s}. */
export function parseDetections(body: unknown): Detection[] {
  if (!Array.isArray(body)) throw new TypeError('the answer is not a list of boxes');
  return body.map((entry: unknown) => {
    if (!entry || typeof entry !== 'object') throw new TypeError('a box is not an object');
    const { score, ...rest } = entry as Record<string, unknown>;
    const labels = Object.keys(rest);
    const box = rest[labels[0] ?? ''];
    if (typeof score !== 'number' || labels.length !== 1) throw new TypeError('a box is not {"<label>": [x1, y1, x2, y2], "score": s}');
    if (!Array.isArray(box) || box.length !== 4 || !box.every((v) => typeof v === 'number' && Number.isFinite(v))) throw new TypeError(`the box of ${labels[0]} is not four numbers`);
    return { label: labels[0]!, score, box: box as Detection['box'] };
  });
}

/** A box in the image's pixels to the canvas the image is drawn on, scaled on each axis. */
export function boxOnCanvas(box: Detection['box'], image: { width: number; height: number }, canvas: { width: number; height: number }): Rect {
  const sx = canvas.width / image.width;
  const sy = canvas.height / image.height;
  const [x1, y1, x2, y2] = box;
  return { x: x1 * sx, y: y1 * sy, width: (x2 - x1) * sx, height: (y2 - y1) * sy };
}

/** Where a box's caption goes: above the box where there is room, else inside its top; never off the canvas. */
export function captionAt(box: Rect, caption: { width: number; height: number }, canvas: { width: number; height: number }): { x: number; y: number } {
  const x = Math.max(0, Math.min(box.x, canvas.width - caption.width));
  const above = box.y - caption.height;
  const y = above >= 0 ? above : Math.max(0, Math.min(box.y, canvas.height - caption.height));
  return { x, y };
}

export interface DetectionComparison {
  /** The same labels, as many times each. */
  sameLabels: boolean;
  /** Boxes paired by label, each with the nearest of the other answer's. */
  paired: number;
  /** Largest difference of a paired box's corner coordinate, in the image's pixels. */
  maxBoxDifference: number;
  maxScoreDifference: number;
}

const boxDifference = (a: Detection, b: Detection) => Math.max(...a.box.map((v, i) => Math.abs(v - b.box[i]!)));

export function compareDetections(server: readonly Detection[], local: readonly Detection[]): DetectionComparison {
  const sorted = (ds: readonly Detection[]) => ds.map((d) => d.label).sort();
  const a = sorted(server);
  const b = sorted(local);
  const sameLabels = a.length === b.length && a.every((l, i) => l === b[i]);
  const unused = [...local];
  let paired = 0;
  let maxBoxDifference = 0;
  let maxScoreDifference = 0;
  for (const d of server) {
    let best = -1;
    for (let i = 0; i < unused.length; i++) {
      if (unused[i]!.label === d.label && (best < 0 || boxDifference(d, unused[i]!) < boxDifference(d, unused[best]!))) best = i;
    }
    if (best < 0) continue;
    const [match] = unused.splice(best, 1);
    paired++;
    maxBoxDifference = Math.max(maxBoxDifference, boxDifference(d, match!));
    maxScoreDifference = Math.max(maxScoreDifference, Math.abs(d.score - match!.score));
  }
  return { sameLabels, paired, maxBoxDifference, maxScoreDifference };
}
