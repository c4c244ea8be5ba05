import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseBenchArgs } from '../../scripts/bench/args.js';
import { parsePeerArgs } from '../../scripts/bench/native-peer-args.js';
import { peerTargets } from '../../scripts/bench/peer-ratios.js';
import { aggregate, tables, targets, verdict } from '../../scripts/bench/report.js';
import type { Figure } from '../../scripts/bench/stats.js';

const figure = (key: string, value: number): Figure => ({ key, label: key, unit: '', value });

describe('the native peer command line', () => {
  it('reads the port, the thread count and the model folders', () => {
    assert.deepEqual(parsePeerArgs(['--port', '19002', '--threads', '2', 'models/mobilenet_v2', 'store/null_model']), {
      port: 19002,
      threads: 2,
      models: ['models/mobilenet_v2', 'store/null_model'],
    });
    assert.equal(parsePeerArgs(['--threads=4', 'm']).port, 0);
  });

  it('refuses a missing or bad value, an unknown flag, and no model', () => {
    assert.throws(() => parsePeerArgs(['m']), /--threads needs an integer from 1 to 1024; got ""/);
    assert.throws(() => parsePeerArgs(['--threads', '0', 'm']), /--threads needs an integer/);
    assert.throws(() => parsePeerArgs(['--threads', '2', '--port', '70000', 'm']), /--port needs an integer from 0 to 65535; got "70000"/);
    assert.throws(() => parsePeerArgs(['--threads', '2', '--batch', '4', 'm']), /Unknown option '--batch'/);
    assert.throws(() => parsePeerArgs(['--threads', '2']), /name at least one model folder/);
  });
});

describe('the bench part "peer"', () => {
  it('is one of the parts --only takes, and is run by default', () => {
    assert.deepEqual([...parseBenchArgs(['--only', 'null,peer']).parts], ['null', 'peer']);
    assert.ok(parseBenchArgs([]).parts.has('peer'));
  });
});

describe('the server beside the native peer', () => {
  const medians: Record<string, number> = {
    'null.c32.imagesPerS': 180,
    'peer.null.c32.imagesPerS': 200,
    'null.c1.p50': 7.5,
    'peer.null.c1.p50': 4,
    'null.c32.cpuPerImage.total': 6,
    'peer.null.c32.cpuPerImage.total': 5,
    'server.c32.imagesPerS': 30,
    'peer.mobilenet.c32.imagesPerS': 40,
  };
  const m = (key: string) => medians[key] ?? NaN;

  it('divides or subtracts the medians the targets are stated in', () => {
    const rows = peerTargets(m);
    assert.deepEqual(
      rows.map((t) => [t.value, t.op, t.bound]),
      [
        [0.9, '>=', 0.9],
        [3.5, '<=', 2],
        [1.2, '<=', 1.3],
        [0.75, null, null],
      ],
    );
    assert.deepEqual(rows.map(verdict), ['PASS by 0 (0% of the target)', 'MISS by 1.50 ms (75% of the target)', 'PASS by 0.10 (8% of the target)', 'reported (no target)']);
  });

  it('says "not measured" where either side is missing', () => {
    const rows = peerTargets((key) => (key.startsWith('peer.') ? NaN : m(key)));
    assert.ok(rows.every((t) => Number.isNaN(t.value) && verdict(t) === 'n/a (not measured)'));
  });

  it('takes its figures from the medians across runs and sits in the targets table', () => {
    const runs = [Object.entries(medians).map(([k, v]) => figure(k, v)), Object.entries(medians).map(([k, v]) => figure(k, k === 'null.c1.p50' ? 9.5 : v))];
    const rows = aggregate(runs);
    const p2 = targets(rows).find((t) => t.name.startsWith('(p2)'));
    assert.equal(p2?.value, 8.5 - 4);
    const table = tables(rows, runs.length);
    assert.match(table, /\| \(p1\) null model c=32: server images\/s \/ native peer images\/s \| 0\.90 \| >= 0\.9 \| PASS/);
    assert.match(table, /\| \(p4\) MobileNetV2 c=32: server images\/s \/ native peer images\/s \| 0\.75 \| - \| reported \(no target\) \|/);
  });
});
