// The reader the tests check whole scrapes with (tests/support/prometheus-text.ts): it takes both
// forms Prometheus takes, TorchServe's trailing comma and Java doubles included, and refuses what
// Prometheus refuses.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { goFloat, parseExposition } from '../support/prometheus-text.js';

describe('the text format as Prometheus reads it', () => {
  it("reads the standard form and TorchServe's, with HELP, TYPE, escapes, timestamps and histogram series", () => {
    const families = parseExposition(
      [
        '# HELP Requests2XX Torchserve prometheus counter metric with unit: Count',
        '# TYPE Requests2XX counter',
        'Requests2XX{Level="Host",Hostname="h",} 12.0',
        '',
        '# TYPE ts_requests_total counter',
        'ts_requests_total{status_class="2xx"} 3 1700000000000',
        '# a comment',
        '# TYPE h histogram',
        'h_bucket{le="+Inf"} 2',
        'h_sum 1.2345678E7',
        'h_count 2',
        'odd{v="a\\"b\\\\c\\nd"} -Inf',
        'plain NaN',
        '',
      ].join('\n'),
    );
    assert.deepEqual([...families.keys()], ['Requests2XX', 'ts_requests_total', 'h', 'odd', 'plain']);
    assert.deepEqual(families.get('Requests2XX'), {
      type: 'counter',
      help: 'Torchserve prometheus counter metric with unit: Count',
      samples: [{ name: 'Requests2XX', labels: { Level: 'Host', Hostname: 'h' }, value: 12 }],
    });
    assert.equal(families.get('h')!.samples.length, 3);
    assert.equal(families.get('h')!.samples[1]!.value, 12345678);
    assert.deepEqual(families.get('odd')!.samples[0], { name: 'odd', labels: { v: 'a"b\\c\nd' }, value: Number.NEGATIVE_INFINITY });
    assert.equal(parseExposition('').size, 0);
  });

  it('reads values as Go does, and nothing else', () => {
    assert.deepEqual(['12', '12.0', '.5', '1e3', '1.0E-4', '+Inf', 'inf', '-3'].map(goFloat), [12, 12, 0.5, 1000, 0.0001, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, -3]);
    for (const bad of ['12,0', '0x', '1e', '', 'twelve', '1 2']) assert.throws(() => goFloat(bad), /is not a float/, bad);
  });

  it('refuses what Prometheus refuses, naming the line', () => {
    for (const [text, says] of [
      ['a 1', /does not end in a newline/],
      ['a{b="1"} 1\na{b="1"} 2\n', /line 2 .*the series .* twice/],
      ['a{b="x\\q"} 1\n', /line 1 .*an escape other than/],
      ['a{b="x} 1\n', /line 1 .*not closed/],
      ['a{b=x} 1\n', /line 1 .*has no ="value"/],
      ['a{b="1",,} 1\n', /a label name was expected/],
      ['a{b="1" c="2"} 1\n', /"," or "}" was expected/],
      ['a{b="1",b="2"} 1\n', /label b twice/],
      ['# TYPE a counter\n# TYPE a gauge\n', /line 2 .*a second TYPE/],
      ['a 1\n# TYPE a counter\n', /line 2 .*after its samples/],
      ['# TYPE a meter\n', /"meter" is not a type/],
      ['# TYPE h histogram\nh_bucket 1\n', /a bucket without le/],
      ['a 12,0\n', /"12,0" is not a float/],
      ['a 1 2 3\n', /at most a timestamp/],
      ['a 1 soon\n', /is not a timestamp/],
      ['1a 1\n', /not a metric name/],
    ] as const) {
      assert.throws(() => parseExposition(text), says, text);
    }
  });
});
