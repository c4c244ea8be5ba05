import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { archiveRefusal } from '../support/archive-refusal.js';
import { labelsOf, MAX_CLASSES } from '../../server/store/archive/index-to-name.js';
import { formatAnswer } from '../../server/pipeline/postprocess.js';

const refused = (json: unknown, pattern: RegExp) => assert.throws(() => labelsOf(json), archiveRefusal(pattern));

describe('labelsOf (index_to_name.json)', () => {
  it('reads the synset form as this store\'s lines, so answers read "tabby" as TorchServe\'s do', () => {
    const labels = labelsOf({ '1': ['n01443537', 'goldfish'], '0': ['n01440764', 'tench'], '2': ['n01484850', 'great_white_shark'] });
    assert.deepEqual(labels.lines, ['n01440764 tench', 'n01443537 goldfish', 'n01484850 great_white_shark']);
    assert.deepEqual(labels.altered, []);
    const answer = JSON.parse(formatAnswer(Float32Array.from([0.1, 0.7, 0.2]), labels.lines, 3, 'torchserve'));
    assert.deepEqual(Object.keys(answer), ['goldfish', 'great_white_shark', 'tench']);
  });

  it('reads the plain form, and a list takes its last element as TorchServe does', () => {
    assert.deepEqual(labelsOf({ '0': 'cat', '1': 'dog' }).lines, ['cat', 'dog']);
    assert.deepEqual(labelsOf({ '0': ['cat'], '1': ['x', 'y', 'dog'] }).lines, ['cat', 'dog']);
    const answer = JSON.parse(formatAnswer(Float32Array.from([0.25, 0.75]), labelsOf({ '0': 'cat', '1': 'dog' }).lines, 2, 'torchserve'));
    assert.deepEqual(answer, { dog: 0.75, cat: 0.25 });
  });

  it('names missing classes by their index, ignores keys that are not indices, and says which names answers alter', () => {
    const labels = labelsOf({ '0': 'cat', '3': 'traffic light', background: 'x', '-1': 'y', '01': 'z' });
    assert.deepEqual(labels.lines, ['cat', '1', '2', 'traffic light']);
    assert.deepEqual(labels.missing, [1, 2]);
    assert.deepEqual(labels.ignoredKeys, ['background', '-1', '01']);
    assert.deepEqual(labels.altered, [{ index: 3, name: 'traffic light', answer: 'traffic_light' }]);
    assert.deepEqual(labelsOf({}).lines, []);
  });

  it('refuses what would shift or break the lines, and indices past the bound', () => {
    refused({ '0': 'a\nb' }, /"0" holds a line break/);
    refused({ '0': '  ' }, /"0" is blank/);
    refused({ '0': [] }, /"0" is an empty list/);
    refused({ '0': 5 }, /"0" must be a name or a list ending with one/);
    refused({ '0': ['n01440764', 5] }, /"0" must be a name/);
    refused({ [String(MAX_CLASSES)]: 'x' }, /class index 1000000 is past 999999/);
    refused(['cat'], /must hold an object/);
  });
});
