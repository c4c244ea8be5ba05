// What an operator watches, through the real browser: the saturation gauges follow requests held
// in a model's page and queue and fall back to zero once they are answered; the request-duration
// histogram bounds what a client measured; and every query of the Grafana dashboard in docs/
// names series this server exports.

import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { RunningServer } from '../../../server/server.js';
import { PROJECT_ROOT } from '../../../server/ops/paths.js';
import { freezePage } from '../../support/frozen-page.js';
import { readImage } from '../../support/paths.js';
import { type Family, goFloat, parseExposition } from '../../support/prometheus-text.js';
import { call, postImage, type Answer } from '../../support/server-harness.js';
import type { ServerSource } from '../../support/shared-server.js';
import { until } from '../../support/until.js';

const DASHBOARD = path.join(PROJECT_ROOT, 'docs', 'grafana-dashboard.json');

/** Every PromQL expression of the dashboard: its panels' targets and its query variables. */
function dashboardQueries(): string[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8'));
  const targets = dashboard.panels.flatMap((p: { targets: Array<{ expr: string }> }) => p.targets.map((t) => t.expr));
  const variables = dashboard.templating.list.filter((v: { type: string }) => v.type === 'query').map((v: { definition: string }) => v.definition);
  return [...targets, ...variables];
}

/** The series each expression selects: a name before `{`, `[`, or inside label_values(). */
function selectedSeries(expr: string): string[] {
  const names = [...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*[{[]/g)].map((m) => m[1]!);
  names.push(...[...expr.matchAll(/label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)/g)].map((m) => m[1]!));
  return names;
}

/** The sample names a scrape's families write: a histogram's `_bucket`, `_sum` and `_count` too. */
function exportedSeries(families: Map<string, Family>): Set<string> {
  const names = new Set<string>();
  for (const [name, family] of families) {
    names.add(name);
    for (const s of family.samples) names.add(s.name);
  }
  return names;
}

const value = (families: Map<string, Family>, name: string, labels: Record<string, string>): number | undefined =>
  families.get(name)?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

export const operatorMetricsSuite = (shared: ServerSource) =>
  describe('what an operator watches: saturation, request durations, the dashboard', () => {
    let server: RunningServer;
    const scrape = async () => parseExposition((await call(`${server.metricsUrl}/metrics`)).body as string);

    before(async () => {
      server = await shared();
    });

    it('requests in progress, queued and in the page are counted while the page is held, and nothing once answered', async () => {
      const model = { model_name: 'mobilenet_v2', model_version: '1.0' };
      const page = await freezePage(server.managementUrl, 'mobilenet_v2');
      let held: Array<Promise<Answer>> = [];
      try {
        // job_queue_size is 6 on this server: all six are taken in, none can be answered.
        held = Array.from({ length: 6 }, () => postImage(`${server.inferenceUrl}/predictions/mobilenet_v2?topk=1`, readImage('kitten.jpg')));
        await until('all six in progress, decoded, and in the queue or the page', async () => {
          const m = await scrape();
          const queued = value(m, 'ts_queue_depth', model);
          const pending = (await call(`${server.managementUrl}/models/mobilenet_v2`)).body[0].jobQueueStatus.pendingRequests;
          return value(m, 'ts_requests_in_progress', model) === 6 && (value(m, 'ts_batches_in_flight', model) ?? 0) >= 1 && queued === pending && queued! < 6;
        });
      } finally {
        page.thaw();
      }
      for (const a of await Promise.all(held)) assert.equal(a.status, 200);
      await until('the gauges back at zero', async () => {
        const m = await scrape();
        return ['ts_requests_in_progress', 'ts_queue_depth', 'ts_batches_in_flight'].every((name) => value(m, name, model) === 0);
      });
    });

    it("p99 from the request-duration buckets bounds what the client measured, and Server-Timing's totals", async () => {
      const model = 'short_runs';
      const bucketsOf = (m: Map<string, Family>) =>
        new Map(
          (m.get('ts_request_duration_seconds')?.samples ?? [])
            .filter((s) => s.name === 'ts_request_duration_seconds_bucket' && s.labels['model_name'] === model)
            .map((s) => [goFloat(s.labels['le']!), s.value] as const),
        );
      const before = bucketsOf(await scrape());
      const n = 20;
      const wall: number[] = [];
      const serverTotal: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        const res = await postImage(`${server.inferenceUrl}/predictions/${model}`, readImage('kitten.jpg'));
        wall.push(performance.now() - t0);
        assert.equal(res.status, 200);
        serverTotal.push(Number(/total;dur=([\d.]+)/.exec(res.headers.get('server-timing') ?? '')?.[1]));
      }
      // These requests' own buckets: cumulative counts, the bound in seconds.
      const after = bucketsOf(await scrape());
      const bounds = [...after.keys()].sort((a, b) => a - b);
      const count = (le: number) => after.get(le)! - (before.get(le) ?? 0);
      assert.equal(count(Number.POSITIVE_INFINITY), n, 'every request observed once');
      // The bucket that holds the 99th percentile, as histogram_quantile finds it.
      const i = bounds.findIndex((le) => count(le) >= 0.99 * n);
      const [low, high] = [i > 0 ? bounds[i - 1]! : 0, bounds[i]!];
      const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.ceil(0.99 * xs.length) - 1]!;
      // Server-Timing writes the total to 0.1 ms: half of that either way.
      assert.ok(p99(serverTotal) <= high * 1000 + 0.05, `Server-Timing p99 ${p99(serverTotal)} ms within the bucket up to ${high} s`);
      assert.ok(low * 1000 <= p99(wall), `the bucket from ${low} s starts below what the client measured (p99 ${p99(wall).toFixed(1)} ms)`);
    });

    it('every query of the Grafana dashboard (docs/grafana-dashboard.json) names a series this server exports', async () => {
      assert.equal((await postImage(`${server.inferenceUrl}/predictions/mobilenet_v2`, readImage('kitten.jpg'))).status, 200);
      const exported = exportedSeries(await scrape());
      const queries = dashboardQueries();
      assert.ok(queries.length >= 15, `${queries.length} queries`);
      for (const q of queries) {
        const series = selectedSeries(q);
        assert.ok(series.length > 0, `no series in ${q}`);
        for (const s of series) assert.ok(exported.has(s), `${s} (in ${q}) is not exported`);
      }
    });
  });
