import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatAnswer as formatJson, softmax, topK } from '../../server/pipeline/postprocess.js';

/** The answer as a value; the JSON text itself is checked where order matters. */
const formatAnswer = (...args: Parameters<typeof formatJson>) => JSON.parse(formatJson(...args)) as unknown;

function assertClose(actual: ArrayLike<number>, expected: readonly number[], tol = 1e-12): void {
  assert.equal(actual.length, expected.length, 'length');
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol, `[${i}]: ${actual[i]} is not within ${tol} of ${expected[i]}`);
  }
}

describe('softmax', () => {
  it('matches hand-computed values: [0, ln 2, ln 3] -> [1/6, 2/6, 3/6]', () => {
    // exp gives 1, 2, 3; their sum is 6.
    assertClose(softmax([0, Math.log(2), Math.log(3)]), [1 / 6, 2 / 6, 3 / 6]);
  });

  it('gives equal shares for equal logits', () => {
    assertClose(softmax([7, 7, 7, 7]), [0.25, 0.25, 0.25, 0.25]);
  });

  it('is unchanged by adding a constant to every logit', () => {
    assertClose(softmax([100, 100 + Math.log(2), 100 + Math.log(3)]), [1 / 6, 2 / 6, 3 / 6]);
    assertClose(softmax([-50, -50 + Math.log(4)]), [1 / 5, 4 / 5]);
  });

  it('stays finite with huge logits', () => {
    // exp(1000) overflows a double; a stable softmax subtracts the max first.
    const p = softmax([1000, 1000 + Math.log(3), -1000]);
    assertClose(p, [1 / 4, 3 / 4, 0]);
    assert.ok(p.every(Number.isFinite));
    // Near 1e6 a double keeps ln 9 only to about 1e-10, hence the looser tolerance.
    assertClose(softmax([-1e6, -1e6 + Math.log(9)]), [0.1, 0.9], 1e-9);
  });

  it('gives 1 for a single logit and [] for none', () => {
    assertClose(softmax([-3.5]), [1]);
    assert.equal(softmax([]).length, 0);
  });

  it('sums to 1 and keeps the order of the logits', () => {
    const logits = new Float32Array([2.5, -1, 0.3, 8, 8.1, -20]);
    const p = softmax(logits);
    assert.ok(p instanceof Float64Array);
    assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-12);
    for (let i = 0; i < logits.length; i++) {
      for (let j = 0; j < logits.length; j++) {
        if (logits[i]! > logits[j]!) assert.ok(p[i]! > p[j]!, `p[${i}] > p[${j}]`);
      }
    }
  });

  it('does not modify its input', () => {
    const logits = [1, 2, 3];
    softmax(logits);
    assert.deepEqual(logits, [1, 2, 3]);
  });
});

describe('topK', () => {
  it('returns indices of the largest values, largest first', () => {
    assert.deepEqual(topK([0.1, 0.5, 0.2, 0.9, 0.05], 3), [3, 1, 2]);
  });

  it('puts the lower index first on ties', () => {
    assert.deepEqual(topK([0.2, 0.4, 0.2, 0.4, 0.1], 4), [1, 3, 0, 2]);
    assert.deepEqual(topK([1, 1, 1, 1], 4), [0, 1, 2, 3]);
  });

  it('returns every index when k is larger than the length', () => {
    assert.deepEqual(topK([3, 1, 2], 10), [0, 2, 1]);
  });

  it('returns nothing for k = 0 or an empty input', () => {
    assert.deepEqual(topK([1, 2], 0), []);
    assert.deepEqual(topK([], 5), []);
  });

  it('handles negative values and typed arrays', () => {
    assert.deepEqual(topK(new Float32Array([-3, -1, -2]), 2), [1, 2]);
  });

  it('agrees with a full sort on a larger input', () => {
    const values = Array.from({ length: 1000 }, (_, i) => ((i * 7919) % 1000) / 1000);
    const expected = values
      .map((v, i) => [v, i] as const)
      .sort((a, b) => (b[0] !== a[0] ? b[0] - a[0] : a[1] - b[1]))
      .slice(0, 5)
      .map(([, i]) => i);
    assert.deepEqual(topK(values, 5), expected);
    // 7919 is prime, so i -> i * 7919 mod 1000 is a permutation; 999 comes from i with i * 7919 = 999 (mod 1000).
    const top = topK(values, 1)[0]!;
    assert.equal((top * 7919) % 1000, 999);
  });
});

describe('formatAnswer', () => {
  const labels = ['n02123045 tabby, tabby cat', 'n02123159 tiger cat', 'n02124075 Egyptian cat', 'n02127052 lynx, catamount'];
  const probs = [0.1, 0.6, 0.25, 0.05];

  it("'classes' gives [{class, probability}] highest first, with the full label", () => {
    assert.deepEqual(formatAnswer(probs, labels, 3, 'classes'), [
      { class: 'n02123159 tiger cat', probability: 0.6 },
      { class: 'n02124075 Egyptian cat', probability: 0.25 },
      { class: 'n02123045 tabby, tabby cat', probability: 0.1 },
    ]);
  });

  it("'torchserve' gives {shortName: probability} with insertion order highest first", () => {
    const answer = formatAnswer(probs, labels, 3, 'torchserve');
    assert.deepEqual(answer, { tiger_cat: 0.6, Egyptian_cat: 0.25, tabby: 0.1 });
    assert.equal(formatJson(probs, labels, 3, 'torchserve'), '{"tiger_cat":0.6,"Egyptian_cat":0.25,"tabby":0.1}');
  });

  it('returns every class when k exceeds the number of classes', () => {
    const answer = formatAnswer(probs, labels, 10, 'classes') as Array<{ class: string }>;
    assert.equal(answer.length, 4);
    assert.equal(answer[3]!.class, 'n02127052 lynx, catamount');
  });

  it('uses the class index as the name when there is no label', () => {
    assert.deepEqual(formatAnswer([0.2, 0.8], [], 2, 'classes'), [
      { class: '1', probability: 0.8 },
      { class: '0', probability: 0.2 },
    ]);
    assert.deepEqual(formatAnswer([0.2, 0.3, 0.5], ['only one'], 3, 'torchserve'), { '2': 0.5, '1': 0.3, only_one: 0.2 });
  });

  it("'torchserve' stays highest first when the names are class indices (no labels file)", () => {
    assert.equal(formatJson([0.2, 0.3, 0.5], [], 3, 'torchserve'), '{"2":0.5,"1":0.3,"0":0.2}');
  });

  it("'torchserve' keeps the higher of two classes that share a short name", () => {
    assert.equal(formatJson([0.1, 0.6, 0.3], ['n02012849 crane', 'n03126707 crane', 'n02009912 American egret, great white heron'], 3, 'torchserve'), '{"crane":0.6,"American_egret":0.3}');
  });

  it('orders tied probabilities by class index', () => {
    assert.deepEqual(
      (formatAnswer([0.3, 0.2, 0.3, 0.2], ['a', 'b', 'c', 'd'], 4, 'classes') as Array<{ class: string }>).map((x) => x.class),
      ['a', 'c', 'b', 'd'],
    );
  });

  it('passes probabilities through unchanged from a Float32Array', () => {
    const p = new Float32Array([0.7, 0.3]);
    const answer = formatAnswer(p, ['x', 'y'], 1, 'classes') as Array<{ probability: number }>;
    assert.equal(answer.length, 1);
    assert.equal(answer[0]!.probability, p[0]);
  });
});
