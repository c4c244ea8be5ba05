// What a dashboard built for TorchServe reads from :8082/metrics, through the real browser: its
// frontend counters and host figures, with its names, types and labels, written as TorchServe
// writes them (a comma after the last label, Java's doubles), the whole scrape still read as
// Prometheus reads it, and its `name[]` filter.

import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import type { RunningServer } from '../../../server/server.js';
import { readImage } from '../../support/paths.js';
import { call, postImage } from '../../support/server-harness.js';
import { parseExposition } from '../../support/prometheus-text.js';
import type { ServerSource } from '../../support/shared-server.js';

const host = os.hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
// As TorchServe's Java client writes a label set: a comma after every label.
const onHost = `\\{Level="Host",Hostname="${host}",\\}`;
const ofModel = `\\{model_name="mobilenet_v2",model_version="1\\.0",hostname="${host}",\\}`;

/** The value of the one sample `series` (name and labels, as a regular expression) has in `text`. */
const sample = (text: string, series: string): number => {
  const m = new RegExp(`^${series} (\\S+)$`, 'm').exec(text);
  assert.ok(m, `${series} is not in the scrape`);
  return Number(m[1]);
};
const families = (text: string) => [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(([, name, type]) => `${name} ${type}`);

export const torchserveMetricsSuite = (shared: ServerSource) =>
  describe('TorchServe series on the metrics listener', () => {
    let server: RunningServer;
    const scrape = async (query = '') => {
      const r = await call(`${server.metricsUrl}/metrics${query}`);
      assert.equal(r.status, 200);
      return r.body as string;
    };

    before(async () => {
      server = await shared();
    });

    it('after a prediction, its frontend counters and host gauges, with their labels and plausible values', async () => {
      assert.equal((await postImage(`${server.inferenceUrl}/predictions/mobilenet_v2`, readImage('kitten.jpg'))).status, 200);
      const text = await scrape();
      const types = families(text);
      for (const name of ['Requests2XX', 'Requests4XX', 'Requests5XX', 'ts_inference_requests_total', 'ts_inference_latency_microseconds', 'ts_queue_latency_microseconds']) {
        assert.ok(types.includes(`${name} counter`), name);
      }
      for (const name of ['CPUUtilization', 'MemoryUsed', 'MemoryAvailable', 'MemoryUtilization', 'DiskAvailable', 'DiskUsage', 'DiskUtilization']) {
        assert.ok(types.includes(`${name} gauge`), name);
      }
      assert.ok(sample(text, `ts_inference_requests_total${ofModel}`) >= 1);
      assert.ok(sample(text, `ts_inference_latency_microseconds${ofModel}`) > 0);
      assert.ok(sample(text, `ts_queue_latency_microseconds${ofModel}`) >= 0);
      assert.ok(sample(text, `Requests2XX${onHost}`) >= 1);
      assert.ok(sample(text, `Requests5XX${onHost}`) >= 0, 'there from the start, at 0');

      const percent = (name: string) => {
        const v = sample(text, `${name}${onHost}`);
        assert.ok(v >= 0 && v <= 100, `${name} ${v}`);
      };
      percent('CPUUtilization');
      percent('MemoryUtilization');
      percent('DiskUtilization');
      const totalMB = os.totalmem() / 1024 ** 2;
      const available = sample(text, `MemoryAvailable${onHost}`);
      assert.ok(available > 0 && available <= totalMB, `MemoryAvailable ${available} of ${totalMB} MB`);
      const used = sample(text, `MemoryUsed${onHost}`);
      assert.ok(used > 0 && used <= totalMB, `MemoryUsed ${used} of ${totalMB} MB`);
      assert.ok(sample(text, `DiskAvailable${onHost}`) > 0);
      assert.ok(sample(text, `DiskUsage${onHost}`) > 0);

      // Every series that was there before TorchServe's joined them still is.
      for (const name of [
        'ts_requests_total',
        'ts_stage_duration_seconds',
        'ts_batch_size',
        'ts_model_backend_info',
        'ts_browser_restarts_total',
        'ts_page_restarts_total',
        'ts_parity_failures_total',
        'ts_browser_pages',
        'process_resident_memory_bytes',
      ]) {
        assert.ok(
          types.some((t) => t.startsWith(`${name} `)),
          name,
        );
      }
    });

    it("writes TorchServe's families as TorchServe does, as its own suites match them; the whole scrape reads as Prometheus reads it", async () => {
      assert.equal((await postImage(`${server.inferenceUrl}/predictions/mobilenet_v2`, readImage('kitten.jpg'))).status, 200);
      const text = await scrape();
      // TorchServe's postman collections, as they write the check.
      assert.match(text, /.*Requests2XX\{Level="Host",Hostname=".*",\} \d+\.\d+.*/);
      // Its test_metrics.py.
      for (const name of ['Requests2XX', 'CPUUtilization', 'MemoryUsed', 'MemoryAvailable', 'MemoryUtilization', 'DiskUsage', 'DiskUtilization', 'DiskAvailable']) {
        assert.match(text, new RegExp(`${name}\\{Level="Host",Hostname=".+",\\} \\d+\\.\\d+`), name);
      }
      for (const name of ['ts_inference_requests_total', 'ts_inference_latency_microseconds', 'ts_queue_latency_microseconds']) {
        assert.match(text, new RegExp(`${name}\\{model_name="mobilenet_v2",model_version="1\\.0",hostname=".+",\\} \\d+\\.\\d+`), name);
      }
      const families = parseExposition(text);
      assert.equal(families.get('Requests2XX')!.type, 'counter');
      assert.ok(families.get('Requests2XX')!.samples[0]!.value >= 1);
      assert.ok(families.get('ts_inference_latency_microseconds')!.samples.some((x) => x.labels['model_name'] === 'mobilenet_v2' && x.value > 0));
      assert.match(text, /^ts_requests_total\{status_class="2xx"\} \d+$/m, 'our own families keep the standard form');
    });

    it('Requests2XX counts a 2xx and Requests4XX a 404, one each', async () => {
      const counts = async () => {
        const text = await scrape('?name[]=Requests2XX&name[]=Requests4XX&name[]=Requests5XX');
        return [2, 4, 5].map((d) => sample(text, `Requests${d}XX${onHost}`));
      };
      const before = await counts();
      assert.equal((await call(`${server.inferenceUrl}/ping`)).status, 200);
      assert.equal((await postImage(`${server.inferenceUrl}/predictions/nothing`, readImage('kitten.jpg'))).status, 404);
      assert.deepEqual(await counts(), [before[0]! + 1, before[1]! + 1, before[2]!]);
    });

    it('name[] returns exactly the families asked for; an unknown name adds nothing', async () => {
      assert.deepEqual(families(await scrape('?name[]=ts_inference_latency_microseconds&name[]=ts_queue_latency_microseconds')), [
        'ts_inference_latency_microseconds counter',
        'ts_queue_latency_microseconds counter',
      ]);
      assert.deepEqual(families(await scrape('?name[]=CPUUtilization')), ['CPUUtilization gauge'], 'a single name[]');
      assert.deepEqual(families(await scrape('?name%5B%5D=DiskAvailable&name[]=nothing&name[]=__proto__')), ['DiskAvailable gauge'], 'encoded brackets, and unknown names');
      assert.equal(await scrape('?name[]=nothing'), '');
      assert.ok(families(await scrape('?name=CPUUtilization')).length > 20, 'name without brackets is not the filter');
    });
  });
