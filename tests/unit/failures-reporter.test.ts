import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import failuresReporter from '../../scripts/test/failures-reporter.js';

async function report(events: { type: string; data?: unknown }[]): Promise<string> {
  async function* source() {
    yield* events;
  }
  let text = '';
  for await (const chunk of failuresReporter(source() as never)) text += chunk;
  return text;
}

const failure = (name: string, error: unknown, line = 12) => ({
  type: 'test:fail',
  data: { name, file: `${process.cwd()}/dist/tests/integration/x.test.js`, line, details: { error } },
});

describe('the failures reporter', () => {
  it('says nothing when nothing failed', async () => {
    assert.equal(await report([{ type: 'test:pass', data: { name: 'fine' } }, { type: 'test:diagnostic' }]), '');
  });

  it('names each failed test with its file, line and the error its author wrote, not the suite that held it', async () => {
    const thrown = new Error('expected 200, got 503\nthe body was {}');
    const wrapped = Object.assign(new Error('test failed'), { failureType: 'testCodeFailure', cause: thrown });
    const suite = Object.assign(new Error('1 subtest failed'), { failureType: 'subtestsFailed' });
    const text = await report([
      { type: 'test:pass', data: { name: 'fine' } },
      failure('answers the kitten', wrapped, 40),
      failure('the suite', suite, 3),
      failure('a string thrown', 'plain words', 77),
    ]);
    assert.match(text, /^\n2 failed:\n/);
    assert.match(text, /✗ dist\/tests\/integration\/x\.test\.js:40 › answers the kitten\n {4}Error: expected 200, got 503\n {4}the body was \{\}/);
    assert.match(text, /✗ dist\/tests\/integration\/x\.test\.js:77 › a string thrown\n {4}plain words/);
    assert.doesNotMatch(text, /the suite|test failed|node:internal/);
  });
});
