// The metrics API's `name[]` filter (TorchServe's): which families a scrape asks for, and that
// only those come back.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Metrics } from '../../server/ops/metrics.js';
import { askedNames } from '../../server/http/metrics-app.js';
import { ModelStore } from '../../server/store/model-store.js';
import { FakeEngine } from '../support/fake-engine.js';
import { MODELS } from '../support/paths.js';

describe('name[]: the families asked for', () => {
  it('one name[] is a string, several an array, with the simple query parser', () => {
    assert.equal(askedNames({}), undefined);
    assert.deepEqual(askedNames({ 'name[]': 'Requests2XX' }), ['Requests2XX']);
    assert.deepEqual(askedNames({ 'name[]': ['Requests2XX', 'CPUUtilization'] }), ['Requests2XX', 'CPUUtilization']);
    assert.deepEqual(askedNames({ name: 'Requests2XX' }), undefined, 'TorchServe reads name[] only');
  });

  it('exactly the known families asked for, in that order, once each; unknown ones add nothing', async () => {
    const metrics = new Metrics(await ModelStore.open(MODELS), new FakeEngine());
    const families = (text: string) => [...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]);
    assert.deepEqual(families(await metrics.text(['MemoryAvailable', 'nothing', 'Requests4XX', '__proto__', 'constructor', 'MemoryAvailable'])), ['MemoryAvailable', 'Requests4XX']);
    assert.equal(await metrics.text(['nothing']), '');
    assert.equal(await metrics.text([]), '');
    assert.ok(families(await metrics.text()).length > 20, 'without a filter, every family');
  });
});
