// TorchServe's own metric families as its Java Prometheus client writes them: a comma after every
// label and Java's doubles, matched by TorchServe's own suites; this server's other families in
// the standard form; and the whole scrape still read as Prometheus reads it.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Metrics } from '../../server/ops/metrics.js';
import { javaDouble, torchserveFamilyText } from '../../server/ops/torchserve-text-format.js';
import { ModelStore } from '../../server/store/model-store.js';
import { FakeEngine } from '../support/fake-engine.js';
import { MODELS } from '../support/paths.js';
import { parseExposition } from '../support/prometheus-text.js';

describe("Java's Double.toString", () => {
  it('writes what Java writes: a point and a digit always, scientific notation below 10^-3 and from 10^7', () => {
    for (const [x, java] of [
      [12, '12.0'],
      [0, '0.0'],
      [-0, '-0.0'],
      [100, '100.0'],
      [0.5, '0.5'],
      [-3.5, '-3.5'],
      [290371.129, '290371.129'],
      [20.054508209228516, '20.054508209228516'],
      [9999999, '9999999.0'],
      [1e7, '1.0E7'],
      [12345678, '1.2345678E7'],
      [123456789012, '1.23456789012E11'],
      [0.001, '0.001'],
      [0.0012, '0.0012'],
      [0.0001, '1.0E-4'],
      [0.00012, '1.2E-4'],
      [1e21, '1.0E21'],
      [1.7976931348623157e308, '1.7976931348623157E308'],
      [Number.POSITIVE_INFINITY, '+Inf'],
      [Number.NEGATIVE_INFINITY, '-Inf'],
      [Number.NaN, 'NaN'],
    ] as const) {
      assert.equal(javaDouble(x), java, String(x));
    }
  });

  it('reads back as the same number', () => {
    for (const x of [1 / 3, 2 ** 53, 1e-300, 123.456e7, 0.1 + 0.2, 5e-324]) assert.equal(Number(javaDouble(x)), x, String(x));
  });
});

describe("TorchServe's text for its families", () => {
  it("writes TorchServe's documented lines byte for byte, labels in its order whatever the sample's", () => {
    const text = torchserveFamilyText(
      {
        name: 'ts_inference_latency_microseconds',
        help: 'Torchserve prometheus counter metric with unit: Microseconds',
        values: [{ labels: { hostname: '88665a372f4b.ant.amazon.com', model_version: 'default', model_name: 'resnet18' }, value: 290371.129 }],
      },
      { type: 'counter', labelNames: ['model_name', 'model_version', 'hostname'] },
    );
    assert.equal(
      text,
      [
        '# HELP ts_inference_latency_microseconds Torchserve prometheus counter metric with unit: Microseconds',
        '# TYPE ts_inference_latency_microseconds counter',
        'ts_inference_latency_microseconds{model_name="resnet18",model_version="default",hostname="88665a372f4b.ant.amazon.com",} 290371.129',
      ].join('\n'),
    );
  });

  it('escapes label values and help as Java does, and writes a family with no sample as its two comment lines', () => {
    const declared = { type: 'gauge', labelNames: ['Level', 'Hostname'] } as const;
    const odd = torchserveFamilyText({ name: 'g', help: 'a\\b\nc', values: [{ labels: { Level: 'Host', Hostname: 'a"b\\c\nd' }, value: 1 }] }, declared);
    assert.equal(odd, '# HELP g a\\\\b\\nc\n# TYPE g gauge\ng{Level="Host",Hostname="a\\"b\\\\c\\nd",} 1.0');
    assert.equal(torchserveFamilyText({ name: 'g', help: 'h', values: [] }, declared), '# HELP g h\n# TYPE g gauge');
    assert.equal(parseExposition(`${odd}\n`).get('g')!.samples[0]!.labels['Hostname'], 'a"b\\c\nd');
  });
});

describe('the whole scrape', () => {
  const scrape = async () => {
    const store = await ModelStore.open(MODELS);
    const metrics = new Metrics(store, new FakeEngine());
    metrics.observeHttp(200);
    metrics.observeHttp(404);
    // A latency past 10^7 microseconds: Java writes it in scientific notation.
    metrics.observePrediction(store.allVersions()[0]!, { batch: 1, queueMs: 0.25, transferMs: 1, inferMs: 2 }, { decode: 1, post: 1 }, 12_345.678);
    return metrics.text();
  };

  it("matches the regular expressions of TorchServe's own suites (postman and test_metrics.py) for each of its families", async () => {
    const text = await scrape();
    // Its postman collections' check, as they write it.
    assert.match(text, /.*Requests2XX\{Level="Host",Hostname=".*",\} \d+\.\d+.*/);
    for (const name of ['Requests2XX', 'Requests4XX', 'Requests5XX', 'CPUUtilization', 'MemoryUsed', 'MemoryAvailable', 'MemoryUtilization', 'DiskUsage', 'DiskUtilization', 'DiskAvailable']) {
      assert.match(text, new RegExp(`^# TYPE ${name} (counter|gauge)$`, 'm'), name);
      assert.match(text, new RegExp(`^${name}\\{Level="Host",Hostname=".+",\\} \\d+\\.\\d+`, 'm'), name);
    }
    for (const name of ['ts_inference_requests_total', 'ts_inference_latency_microseconds', 'ts_queue_latency_microseconds']) {
      assert.match(text, new RegExp(`^# TYPE ${name} counter$`, 'm'), name);
      assert.match(text, new RegExp(`^${name}\\{model_name="mobilenet_v2",model_version="1\\.0",hostname=".+",\\} \\d+\\.\\d+`, 'm'), name);
    }
    assert.match(text, /^ts_inference_requests_total\{[^}]*,\} 1\.0$/m);
    assert.match(text, /^ts_inference_latency_microseconds\{[^}]*,\} 1\.2345678E7$/m);
    assert.match(text, /^ts_queue_latency_microseconds\{[^}]*,\} 250\.0$/m);
    assert.match(text, /^# HELP Requests2XX Torchserve prometheus counter metric with unit: Count$/m);
    assert.match(text, /^# HELP MemoryUsed Torchserve prometheus gauge metric with unit: Megabytes$/m);
  });

  it("keeps this server's own families in the standard form", async () => {
    const text = await scrape();
    assert.match(text, /^ts_requests_total\{status_class="2xx"\} 1$/m);
    assert.match(text, /^ts_stage_duration_seconds_bucket\{le="\+Inf",model_name="mobilenet_v2",stage="decode"\} 1$/m);
    assert.match(text, /^process_resident_memory_bytes \d+$/m);
    const torchserve = /^(Requests[245]XX|ts_inference_\w+|ts_queue_latency_microseconds|CPUUtilization|Memory\w+|Disk\w+)[{ ]/;
    for (const line of text.split('\n').filter((l) => l && !l.startsWith('#') && !torchserve.test(l))) assert.doesNotMatch(line, /,\}/, line);
  });

  it('is read whole as Prometheus reads it, every family once, filtered or not', async () => {
    const text = await scrape();
    const families = parseExposition(text);
    assert.ok(families.size > 20, `${families.size} families`);
    assert.deepEqual(families.get('Requests4XX')!.samples, [{ name: 'Requests4XX', labels: { Level: 'Host', Hostname: families.get('Requests4XX')!.samples[0]!.labels['Hostname']! }, value: 1 }]);
    assert.equal(families.get('ts_inference_latency_microseconds')!.samples[0]!.value, 12_345_678);
    assert.equal(families.get('ts_inference_latency_microseconds')!.type, 'counter');
    const metrics = new Metrics(await ModelStore.open(MODELS), new FakeEngine());
    const filtered = parseExposition(await metrics.text(['Requests2XX', 'ts_requests_total']));
    assert.deepEqual([...filtered.keys()], ['Requests2XX', 'ts_requests_total']);
  });
});
