// The demo page's pure drawing helpers: a detector's answer read and its boxes scaled to the
// canvas, a segmenter's class map read, painted and placed, colours, and the answer kinds.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inputPlacement } from '../../browser-runtime/resize-crop.js';
import { classMapPixels, classShares, inputOnCanvas, parseClassMap, sameClassShare } from '../../public/class-map.js';
import { classColour, isBackground, textColourOn } from '../../public/colours.js';
import { boxOnCanvas, captionAt, compareDetections, type Detection, parseDetections, type Rect } from '../../public/detections.js';
import { answerKind, readAnswer } from '../../public/model-answer.js';

/** Equal to a millionth of a pixel. */
function near(actual: Rect, expected: Rect): void {
  for (const k of ['x', 'y', 'width', 'height'] as const) assert.ok(Math.abs(actual[k] - expected[k]) < 1e-6, `${k}: ${actual[k]} is not ${expected[k]}`);
}

const DOG: Detection = { label: 'dog', score: 0.82568, box: [132.99, 206.97, 324.87, 542.36] };

describe('a detector answer', () => {
  it("reads TorchServe's object_detector list", () => {
    assert.deepEqual(parseDetections([{ dog: [132.99, 206.97, 324.87, 542.36], score: 0.82568 }]), [DOG]);
    assert.deepEqual(parseDetections([]), []);
  });

  it('refuses anything else, naming what is wrong', () => {
    assert.throws(() => parseDetections({ dog: [1, 2, 3, 4] }), /not a list of boxes/);
    assert.throws(() => parseDetections([{ dog: [1, 2, 3], score: 0.5 }]), /dog is not four numbers/);
    assert.throws(() => parseDetections([{ dog: [1, 2, 3, 4], cat: [1, 2, 3, 4], score: 0.5 }]), TypeError);
    assert.throws(() => parseDetections([{ dog: [1, 2, 3, 4] }]), TypeError);
  });

  it("scales a box from the image's pixels to the canvas on each axis", () => {
    assert.deepEqual(boxOnCanvas([100, 50, 300, 250], { width: 800, height: 600 }, { width: 400, height: 300 }), { x: 50, y: 25, width: 100, height: 100 });
    // A canvas at twice the image's size, its sides rounded differently.
    assert.deepEqual(boxOnCanvas([0, 0, 10, 10], { width: 10, height: 20 }, { width: 20, height: 30 }), { x: 0, y: 0, width: 20, height: 15 });
  });

  it('puts a caption above its box, inside it at the top edge, and never off the canvas', () => {
    const canvas = { width: 200, height: 100 };
    const caption = { width: 50, height: 16 };
    assert.deepEqual(captionAt({ x: 20, y: 40, width: 60, height: 30 }, caption, canvas), { x: 20, y: 24 });
    assert.deepEqual(captionAt({ x: 20, y: 5, width: 60, height: 30 }, caption, canvas), { x: 20, y: 5 });
    assert.deepEqual(captionAt({ x: 180, y: 0, width: 20, height: 30 }, caption, canvas), { x: 150, y: 0 });
    assert.deepEqual(captionAt({ x: 0, y: 95, width: 5, height: 5 }, caption, canvas), { x: 0, y: 79 });
  });

  it('compares two answers by label, pairing each box with the nearest of its label', () => {
    const car: Detection = { label: 'car', score: 0.8, box: [466.68, 78.12, 691.72, 171.54] };
    const local = [
      { ...car, score: 0.79 },
      { ...DOG, box: [133.49, 206.97, 324.87, 542.36] as Detection['box'] },
    ];
    assert.deepEqual(compareDetections([DOG, car], local), { sameLabels: true, paired: 2, maxBoxDifference: 0.5, maxScoreDifference: 0.8 - 0.79 });
    const other = compareDetections([DOG, car], [DOG, { ...car, label: 'truck' }]);
    assert.equal(other.sameLabels, false);
    assert.equal(other.paired, 1);
    assert.equal(compareDetections([DOG, DOG], [DOG]).sameLabels, false);
  });
});

describe('a segmenter answer', () => {
  // 2 rows x 3 columns of [class index, probability]: person (15) on the left, background right.
  const answer = [
    [
      [15, 0.9],
      [15, 0.8],
      [0, 0.7],
    ],
    [
      [15, 0.6],
      [0, 0.95],
      [0, 0.99],
    ],
  ];

  it("reads TorchServe's image_segmenter rows of [class index, probability]", () => {
    const map = parseClassMap(answer);
    assert.equal(map.rows, 2);
    assert.equal(map.cols, 3);
    assert.deepEqual([...map.classes], [15, 15, 0, 15, 0, 0]);
    assert.ok(Math.abs(map.probabilities[4]! - 0.95) < 1e-6);
  });

  it('refuses ragged rows, bad cells and anything else', () => {
    assert.throws(() => parseClassMap([]), TypeError);
    assert.throws(
      () =>
        parseClassMap([
          [[1, 0.5]],
          [
            [1, 0.5],
            [2, 0.5],
          ],
        ]),
      /row 1/,
    );
    assert.throws(() => parseClassMap([[[1.5, 0.5]]]), /cell 0, 0/);
    assert.throws(() => parseClassMap([[[-1, 0.5]]]), TypeError);
    assert.throws(() => parseClassMap({ mask: [] }), TypeError);
  });

  it('paints each cell its class colour at the alpha given, and the background clear', () => {
    const map = parseClassMap(answer);
    const px = classMapPixels(map, (c) => (c === 0 ? null : classColour(c)), 0.5);
    assert.equal(px.length, 2 * 3 * 4);
    assert.deepEqual([...px.subarray(0, 4)], [...classColour(15), 128]);
    assert.deepEqual([...px.subarray(8, 12)], [0, 0, 0, 0]);
    assert.deepEqual([...px.subarray(12, 16)], [...classColour(15), 128]);
  });

  it('lists the classes by the share of the map they cover', () => {
    assert.deepEqual(classShares(parseClassMap(answer)), [
      { cls: 0, share: 0.5 },
      { cls: 15, share: 0.5 },
    ]);
  });

  it("covers the model's input square on the canvas: the whole image for a resize, past it for a letterbox, within it for a crop", () => {
    // A 640 x 480 image drawn at half size.
    const resize = inputPlacement(640, 480, 'resize', 520, 520, 'top-left');
    near(inputOnCanvas(resize, 520, 0.5), { x: 0, y: 0, width: 320, height: 240 });
    const letterbox = inputPlacement(640, 480, 'letterbox', 416, 416, 'top-left');
    near(inputOnCanvas(letterbox, 416, 0.5), { x: 0, y: 0, width: 320, height: 320 });
    const centred = inputPlacement(640, 480, 'letterbox', 416, 416, 'centre');
    near(inputOnCanvas(centred, 416, 0.5), { x: 0, y: -40, width: 320, height: 320 });
    const crop = inputPlacement(640, 480, 'crop', 224, 256, 'top-left');
    const r = inputOnCanvas(crop, 224, 0.5);
    assert.ok(r.x > 0 && r.y > 0 && r.x + r.width < 320 && r.y + r.height < 240, JSON.stringify(r));
    assert.ok(Math.abs(r.x + r.width / 2 - 160) < 1 && Math.abs(r.y + r.height / 2 - 120) < 1, 'centred on the image');
  });

  it('compares two maps cell by cell', () => {
    const a = parseClassMap(answer);
    const b = parseClassMap([answer[0], [answer[1]![0], answer[1]![1], [15, 0.5]]]);
    assert.equal(sameClassShare(a, a), 1);
    assert.equal(sameClassShare(a, b), 5 / 6);
    assert.equal(sameClassShare(a, parseClassMap([answer[0]])), null);
  });
});

describe('colours', () => {
  it('gives the first classes distinct colours, every class the same colour each time', () => {
    const seen = new Set(Array.from({ length: 100 }, (_, i) => classColour(i).join(',')));
    assert.equal(seen.size, 100);
    assert.deepEqual(classColour(16), classColour(16));
    for (let i = 0; i < 300; i++)
      assert.ok(
        classColour(i).every((v) => Number.isInteger(v) && v >= 0 && v <= 255),
        `class ${i}`,
      );
  });

  it('writes black on light colours and white on dark ones', () => {
    assert.equal(textColourOn([255, 200, 0]), '#000000');
    assert.equal(textColourOn([0, 0, 160]), '#ffffff');
    assert.equal(textColourOn([128, 0, 0]), '#ffffff');
  });

  it("knows a segmentation model's background class by its label", () => {
    assert.ok(isBackground('__background__'));
    assert.ok(isBackground('Background'));
    assert.ok(!isBackground('person'));
    assert.ok(!isBackground(undefined));
  });
});

describe('answer kinds', () => {
  it('follow the handler, a model without one being a classifier', () => {
    assert.equal(answerKind(undefined), 'ranked');
    assert.equal(answerKind('image_classifier'), 'ranked');
    assert.equal(answerKind('object_detector'), 'detections');
    assert.equal(answerKind('image_segmenter'), 'classMap');
    assert.equal(answerKind('text_classifier'), 'other');
  });

  it('read the body as the kind says', () => {
    assert.deepEqual(readAnswer('detections', [{ dog: DOG.box, score: DOG.score }]), { kind: 'detections', detections: [DOG] });
    assert.equal(readAnswer('ranked', { tabby: 0.4 }).kind, 'ranked');
    assert.throws(() => readAnswer('detections', { tabby: 0.4 }), TypeError);
  });
});
