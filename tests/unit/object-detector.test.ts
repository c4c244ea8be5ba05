// The object detector's answer from YOLOX rows, without a browser: the grid decoding, the score,
// non-maximum suppression per class, and boxes mapped back to the original image.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KEPT_VALUES } from '../../browser-runtime/handlers/gpu-detect.js';
import { decodeKeptRows, decodeYolox, type Detection, detectionAnswer, nonMaximumSuppression } from '../../browser-runtime/handlers/object-detector.js';
import { letterboxGeometry } from '../../browser-runtime/resize-crop.js';

/** YOLOX rows for a 32 px input with strides 16 and 32: 4 + 1 cells, 3 classes. */
function rows(set: Array<{ row: number; values: number[] }>): Float32Array {
  const out = new Float32Array(5 * 8);
  for (const { row, values } of set) out.set(values, row * 8);
  return out;
}

describe('decodeYolox', () => {
  it("decodes a row's offsets on its grid cell and stride, its size through exp, and scores objectness x best class", () => {
    // Row 3 is stride 16's cell (1, 1); row 4 is stride 32's only cell.
    const raw = rows([
      { row: 3, values: [0.5, 0.25, Math.log(2), 0, 0.9, 0.1, 0.8, 0.3] },
      { row: 4, values: [0, 0, 0, 0, 0.5, 0.2, 0.2, 0.3] },
    ]);
    const found = decodeYolox(raw, 5, 32, [16, 32], 0.1);
    assert.equal(found.length, 2);
    const [a, b] = found as [Detection, Detection];
    // cx = (0.5 + 1) * 16 = 24, cy = (0.25 + 1) * 16 = 20, w = 2 * 16, h = 16.
    // (float32 rows: log 2 is not exact)
    assert.deepEqual([a.x1, a.y1, a.x2, a.y2].map((v) => Math.round(v * 1e4) / 1e4).concat(a.cls), [8, 12, 40, 28, 1]);
    assert.ok(Math.abs(a.score - 0.72) < 1e-6);
    assert.deepEqual([b.x1, b.y1, b.x2, b.y2, b.cls], [-16, -16, 16, 16, 2]);
    assert.ok(Math.abs(b.score - 0.15) < 1e-6);
    assert.equal(decodeYolox(raw, 5, 32, [16, 32], 0.2).length, 1, 'the threshold applies to objectness x class');
  });

  it('gives from the rows the GPU keeps exactly what it gives from the whole output', () => {
    // 20 rows (a 64 px input, strides 16 and 32), 3 classes, values spread so that some rows fall
    // on either side of the threshold; kept as the GPU pass keeps them (gpu-detect.ts): every row
    // that may pass, a hair below the threshold, as index, class, cx, cy, w, h, objectness, score.
    const width = 8;
    const raw = new Float32Array(20 * width).map((_, i) => Math.abs(Math.sin(i * 12.9898)));
    const threshold = 0.3;
    const kept: number[] = [];
    for (let row = 0; row < 20; row++) {
      const at = row * width;
      let cls = 0;
      for (let c = 1; c < 3; c++) if (raw[at + 5 + c]! > raw[at + 5 + cls]!) cls = c;
      if (Math.fround(raw[at + 4]! * raw[at + 5 + cls]!) >= threshold * (1 - 1e-5)) kept.push(row, cls, ...raw.subarray(at, at + 5), raw[at + 5 + cls]!);
    }
    const fromKept = decodeKeptRows(Float32Array.from(kept), 20, 64, [16, 32], threshold);
    const whole = decodeYolox(raw, 20, 64, [16, 32], threshold);
    assert.ok(whole.length > 2 && whole.length < 20, `some rows pass and some do not: ${whole.length}`);
    assert.equal(kept.length / KEPT_VALUES >= whole.length, true);
    assert.deepEqual(fromKept, whole);
  });

  it('refuses an output whose rows do not match the strides, or have no class', () => {
    assert.throws(() => decodeYolox(new Float32Array(4 * 8), 4, 32, [16, 32], 0.5), /give 5|need more/);
    assert.throws(() => decodeYolox(new Float32Array(5 * 5), 5, 32, [16, 32], 0.5), /5 \+ classes/);
  });
});

describe('nonMaximumSuppression', () => {
  const box = (x1: number, cls: number, score: number): Detection => ({ x1, y1: 0, x2: x1 + 10, y2: 10, cls, score });

  it('drops the lower of two overlapping boxes of a class, keeps overlaps across classes, highest first, at most max', () => {
    const kept = nonMaximumSuppression([box(0, 0, 0.6), box(1, 0, 0.9), box(1, 1, 0.5), box(50, 0, 0.7)], 0.45, 10);
    assert.deepEqual(
      kept.map((d) => [d.x1, d.cls, d.score]),
      [
        [1, 0, 0.9],
        [50, 0, 0.7],
        [1, 1, 0.5],
      ],
    );
    assert.equal(nonMaximumSuppression([box(0, 0, 0.6), box(30, 0, 0.9)], 0.45, 1).length, 1);
    assert.equal(nonMaximumSuppression([box(0, 0, 0.6), box(5, 0, 0.9)], 0.5, 10).length, 2, 'an overlap of 1/3 is under 0.5');
  });
});

describe('detectionAnswer', () => {
  it("answers TorchServe's shape, each box in the original image's pixels and inside it", () => {
    const box = letterboxGeometry(640, 320, 416, 'top-left'); // scale 0.65: 416 x 208
    assert.deepEqual([box.width, box.height, box.left, box.top], [416, 208, 0, 0]);
    const meta = [640, 320, box.width / 640, box.height / 320, box.left, box.top];
    const answer = detectionAnswer([{ x1: 65, y1: -13, x2: 130, y2: 500, cls: 1, score: 0.876543 }], meta, ['person', 'dog']);
    assert.equal(answer, '[{"dog":[100,0,200,320],"score":0.87654}]');
    assert.equal(detectionAnswer([], meta, []), '[]');
    const centred = letterboxGeometry(100, 400, 416, 'centre');
    assert.deepEqual([centred.width, centred.height, centred.left, centred.top], [104, 416, 156, 0]);
    assert.equal(detectionAnswer([{ x1: 156, y1: 0, x2: 260, y2: 416, cls: 7, score: 1 }], [100, 400, 104 / 100, 416 / 400, 156, 0], []), '[{"7":[0,0,100,400],"score":1}]');
  });
});
