// The HTTP contract with a fake engine behind the bridge interface: fast, and every status
// and error type the API promises. The same behaviours run through Chromium in tests/integration.

import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import SwaggerParser from '@apidevtools/swagger-parser';
import net from 'node:net';
import { BridgeError } from '../../server/page/bridge-error.js';
import type { RunningServer } from '../../server/server.js';
import { multipart, multipartCuts } from '../../scripts/hostile/inputs.js';
import { FakeEngine } from '../support/fake-engine.js';
import { readImage } from '../support/paths.js';
import { call, postForm, postImage, startTestServer } from '../support/server-harness.js';

const kitten = readImage('kitten.jpg');

describe('HTTP contract (fake engine)', () => {
  let server: RunningServer;
  let engine: FakeEngine;
  let api: string;

  before(async () => {
    engine = new FakeEngine();
    server = await startTestServer({ max_request_size: '2000000' }, engine);
    api = server.inferenceUrl;
  });
  after(() => server.close());
  beforeEach(() => {
    engine.healthyNow = true;
    engine.failWith = null;
    engine.calls = [];
  });

  it('GET /ping answers both health keys, 500 when unhealthy', async () => {
    assert.deepEqual((await call(`${api}/ping`)).body, { health: 'healthy!', status: 'Healthy' });
    engine.healthyNow = false;
    const sick = await call(`${api}/ping`);
    assert.equal(sick.status, 500);
    assert.deepEqual(sick.body, { health: 'unhealthy!', status: 'Unhealthy' });
  });

  it('OPTIONS / and GET /api-description serve the same valid OpenAPI 3.0.1 document', async () => {
    const options = await call(`${api}/`, { method: 'OPTIONS' });
    assert.equal(options.status, 200);
    assert.equal(options.body.openapi, '3.0.1');
    assert.deepEqual((await call(`${api}/api-description`)).body, options.body);
    await SwaggerParser.validate(structuredClone(options.body));
    const paths = Object.keys(options.body.paths);
    for (const p of ['/', '/api-description', '/ping', '/predictions/{model_name}', '/predictions/{model_name}/{model_version}', '/v2', '/v2/health/ready', '/v2/models/{model_name}/infer']) {
      assert.ok(paths.includes(p), p);
    }
    // That every documented operation is served, and answers as documented: the contract suite (tests/support/contract.ts).
  });

  it('answers the top 5, highest first, in the classes format', async () => {
    const res = await postImage(`${api}/predictions/mobilenet_v2`, kitten);
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 5);
    assert.equal(res.body[0].class, 'n02123045 tabby, tabby cat');
    for (let i = 1; i < 5; i++) assert.ok(res.body[i - 1].probability >= res.body[i].probability);
    assert.match(res.headers.get('server-timing') ?? '', /decode;dur=[\d.]+.*queue;dur=.*transfer;dur=.*infer;dur=.*post;dur=.*total;dur=/);
    // What crossed to the engine: one 224x224 RGB image.
    assert.equal(engine.calls[0]!.pixels.length, 224 * 224 * 3);
    assert.equal(engine.calls[0]!.key, 'mobilenet_v2/1.0');
  });

  it('PUT, versioned and multipart requests reach the same model', async () => {
    const put = await postImage(`${api}/predictions/mobilenet_v2`, kitten, 'PUT');
    const versioned = await postImage(`${api}/predictions/mobilenet_v2/1.0`, kitten);
    const form = await postForm(`${api}/predictions/mobilenet_v2`, { data: kitten });
    const bodyField = await postForm(`${api}/predictions/mobilenet_v2`, { body: kitten });
    const otherName = await postForm(`${api}/predictions/mobilenet_v2`, { picture: kitten }, { note: 'hello' });
    const preferData = await postForm(`${api}/predictions/mobilenet_v2`, { other: Buffer.from('not an image at all'), data: kitten });
    for (const r of [put, versioned, form, bodyField, otherName, preferData]) {
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body, put.body);
    }
    const sent = engine.calls.map((c) => Buffer.from(c.pixels).toString('base64'));
    assert.equal(new Set(sent).size, 1, 'every request sent the same pixels');
  });

  it('topk: 1 to 1000, anything else is 400', async () => {
    assert.equal((await postImage(`${api}/predictions/mobilenet_v2?topk=1`, kitten)).body.length, 1);
    assert.equal((await postImage(`${api}/predictions/mobilenet_v2?topk=1000`, kitten)).body.length, 1000);
    for (const bad of ['0', '-1', 'abc', '1001', '100000', '2.5', '']) {
      const r = await postImage(`${api}/predictions/mobilenet_v2?topk=${bad}`, kitten);
      assert.equal(r.status, 400, `topk=${bad}`);
      assert.equal(r.body.type, 'BadRequestException');
      assert.match(r.body.message, /topk/);
    }
  });

  it('unknown model, version and path answer TorchServe 404s', async () => {
    const model = await postImage(`${api}/predictions/resnet-18`, kitten);
    assert.deepEqual(model.body, { code: 404, type: 'ModelNotFoundException', message: 'Model not found: resnet-18' });
    const version = await postImage(`${api}/predictions/mobilenet_v2/9.9`, kitten);
    assert.equal(version.status, 404);
    assert.equal(version.body.type, 'ModelVersionNotFoundException');
    assert.match(version.body.message, /9\.9/);
    const path = await call(`${api}/no/such/thing`);
    assert.equal(path.status, 404);
    assert.equal(path.body.type, 'ResourceNotFoundException');
    for (const sneaky of ['..%2F..%2Fetc%2Fpasswd', '%252e%252e', 'mobilenet_v2%00', '.mobilenet_v2']) {
      const r = await postImage(`${api}/predictions/${sneaky}`, kitten);
      assert.equal(r.status, 404, sneaky);
      assert.equal(r.body.type, 'ModelNotFoundException');
    }
  });

  it('a malformed URL answers 400 in TorchServe form on each port, with no stack, path or echo', async () => {
    for (const url of [`${api}/predictions/%E0%A4%A`, `${api}/demo/models/%E0%A4%A/1.0/model.onnx`, `${server.managementUrl}/models/%E0%A4%A`, `${server.metricsUrl}/metrics/%E0%A4%A`]) {
      const r = await call(url);
      assert.match(r.headers.get('content-type') ?? '', /application\/json/, url);
      assert.deepEqual(Object.keys(r.body), ['code', 'type', 'message'], url);
      assert.ok(r.status === 400 || (r.status === 404 && url.startsWith(server.metricsUrl)), `${url}: ${r.status}`);
      assert.ok(!/%E0|decode|\/work|node_modules|\bat\b/.test(JSON.stringify(r.body)), `${url}: ${JSON.stringify(r.body)}`);
    }
  });

  it('wrong methods answer 405 with Allow', async () => {
    for (const [method, path, allow] of [
      ['GET', '/predictions/mobilenet_v2', 'POST, PUT'],
      ['DELETE', '/predictions/mobilenet_v2/1.0', 'POST, PUT'],
      ['POST', '/ping', 'GET'],
      ['POST', '/', 'GET, OPTIONS'],
      ['DELETE', '/', 'GET, OPTIONS'],
    ] as const) {
      const r = await call(`${api}${path}`, { method, body: method === 'GET' ? undefined : 'x' });
      assert.equal(r.status, 405, `${method} ${path}`);
      assert.equal(r.body.type, 'MethodNotAllowedException');
      assert.equal(r.headers.get('allow'), allow);
    }
  });

  it('empty, non-image and corrupt bodies answer 400 with what was wrong', async () => {
    const cases: Array<[Uint8Array, RegExp]> = [
      [new Uint8Array(0), /empty/],
      [Buffer.from('hello, this is plain text and not a picture'), /not a supported image.*text/],
      [Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><image href="file:///etc/passwd"/></svg>'), /SVG/],
      [Buffer.from('%PDF-1.4 ...........'), /PDF/],
      [kitten.subarray(0, 2000), /JPEG image could not be/],
    ];
    for (const [body, message] of cases) {
      const r = await postImage(`${api}/predictions/mobilenet_v2`, body);
      assert.equal(r.status, 400);
      assert.equal(r.body.type, 'BadRequestException');
      assert.match(r.body.message, message);
      assert.doesNotMatch(r.body.message, /\/(usr|home|work|root)\//);
    }
    assert.equal(engine.calls.length, 0, 'nothing bad reached the engine');
  });

  it('multipart without a file is 400, a broken form is 400', async () => {
    const none = await postForm(`${api}/predictions/mobilenet_v2`, {});
    assert.equal(none.status, 400);
    assert.match(none.body.message, /no file/);
    const broken = await call(`${api}/predictions/mobilenet_v2`, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data' },
      body: 'whatever',
    });
    assert.equal(broken.status, 400);
    assert.equal(broken.body.type, 'BadRequestException');
  });

  it('a multipart body cut anywhere before its end answers 400, and the server keeps serving', async () => {
    const form = multipart([
      { name: 'note', body: Buffer.from('a field') },
      { name: 'data', filename: 'k.jpg', body: kitten.subarray(0, 300) },
    ]);
    const seen = new Set<string>();
    for (const cut of multipartCuts(form.body)) {
      const r = await postImage(`${api}/predictions/mobilenet_v2`, form.body.subarray(0, cut.at), 'POST', form.type);
      assert.equal(r.status, 400, `cut at ${cut.at} (${cut.where}): ${JSON.stringify(r.body)}`);
      assert.equal(r.body.type, 'BadRequestException');
      seen.add(cut.where);
    }
    assert.deepEqual([...seen].sort(), ['between parts', 'in a delimiter', 'in a field', 'in a file', 'in part headers', 'in the closing delimiter']);
    assert.equal((await postImage(`${api}/predictions/mobilenet_v2`, multipart([{ name: 'data', filename: 'k.jpg', body: kitten }]).body, 'POST', form.type)).status, 200);
  });

  it('a body over max_request_size answers 413, raw or multipart', async () => {
    const big = new Uint8Array(2_000_001);
    const raw = await postImage(`${api}/predictions/mobilenet_v2`, big);
    assert.equal(raw.status, 413);
    assert.equal(raw.body.type, 'RequestEntityTooLargeException');
    const form = await postForm(`${api}/predictions/mobilenet_v2`, { data: big });
    assert.equal(form.status, 413);
  });

  it('a client that disconnects mid-upload, raw or multipart, leaves the server serving', async () => {
    const { hostname, port } = new URL(api);
    for (const type of ['image/jpeg', 'multipart/form-data; boundary=XYZ']) {
      const socket = net.connect(Number(port), hostname);
      await new Promise((r) => socket.once('connect', r));
      socket.write(`POST /predictions/mobilenet_v2 HTTP/1.1\r\nHost: x\r\nContent-Type: ${type}\r\nContent-Length: 100000\r\n\r\n`);
      socket.write(type.startsWith('multipart') ? '--XYZ\r\nContent-Disposition: form-data; name="data"; filename="a.jpg"\r\n\r\n' : '');
      socket.write(kitten.subarray(0, 5000));
      await new Promise((r) => setTimeout(r, 50));
      socket.destroy();
    }
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(engine.calls.length, 0);
    assert.equal((await postImage(`${api}/predictions/mobilenet_v2`, kitten)).status, 200);
  });

  it('a gone page is 503, a late one 504, a failed run 500 without internals; the next request still works', async () => {
    engine.failWith = new BridgeError('crashed', 'the page crashed');
    const gone = await postImage(`${api}/predictions/mobilenet_v2`, kitten);
    assert.equal(gone.status, 503);
    assert.equal(gone.body.type, 'ServiceUnavailableException');
    engine.failWith = new BridgeError('timeout', 'the prediction took longer than 1 s');
    assert.equal((await postImage(`${api}/predictions/mobilenet_v2`, kitten)).status, 504);
    engine.failWith = new BridgeError('busy', 'the queue of this model is full (job_queue_size 100)');
    const busy = await postImage(`${api}/predictions/mobilenet_v2`, kitten);
    assert.equal(busy.status, 503);
    assert.equal(busy.body.type, 'ServiceUnavailableException');
    assert.equal(busy.headers.get('retry-after'), '1');
    engine.failWith = new BridgeError('runtime', 'RuntimeError: at /work/secret/path.js:12');
    const failed = await postImage(`${api}/predictions/mobilenet_v2`, kitten);
    assert.equal(failed.status, 500);
    assert.doesNotMatch(failed.body.message, /secret|path\.js/);
    engine.failWith = null;
    assert.equal((await postImage(`${api}/predictions/mobilenet_v2`, kitten)).status, 200);
  });

  it('the management API lists and describes the store', async () => {
    const list = await call(`${server.managementUrl}/models`);
    assert.deepEqual(
      list.body.models.map((m: { modelName: string }) => m.modelName),
      ['mobilenet_v2', 'mobilenet_v2_int8', 'yolox_nano'],
    );
    const one = await call(`${server.managementUrl}/models/mobilenet_v2`);
    assert.equal(one.body[0].modelVersion, '1.0');
    assert.equal((await call(`${server.managementUrl}/models/nope`)).body.type, 'ModelNotFoundException');
    assert.equal((await call(`${server.managementUrl}/models/mobilenet_v2/all`)).body.length, 1);
  });

  it('Prometheus metrics count predictions, status classes, stages and batch sizes', async () => {
    await postImage(`${api}/predictions/mobilenet_v2`, kitten);
    await postImage(`${api}/predictions/nope`, kitten);
    const res = await fetch(`${server.metricsUrl}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const text = await res.text();
    const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
    // TorchServe's own families as TorchServe writes them: a comma after the last label, a double.
    assert.ok(value(/^ts_inference_requests_total\{model_name="mobilenet_v2",model_version="1.0",hostname="[^"]+",\} (\d+\.\d+)$/m) >= 1);
    assert.ok(value(/^ts_requests_total\{status_class="4xx"\} (\d+)/m) >= 1);
    assert.ok(value(/^ts_requests_total\{status_class="2xx"\} (\d+)/m) >= 1);
    assert.ok(value(/^ts_inference_latency_microseconds\{model_name="mobilenet_v2",model_version="1.0",hostname="[^"]+",\} (\d+\.\d+(E\d+)?)$/m) > 0);
    for (const stage of ['decode', 'queue', 'transfer', 'infer', 'post']) {
      assert.match(text, new RegExp(`^ts_stage_duration_seconds_count\\{model_name="mobilenet_v2",stage="${stage}"\\} \\d+`, 'm'), stage);
    }
    assert.match(text, /^ts_batch_size_count\{model_name="mobilenet_v2"\} \d+/m);
    assert.match(text, /^ts_model_backend_info\{model_name="mobilenet_v2",model_version="1.0",worker="0"/m);
    assert.match(text, /^process_resident_memory_bytes /m);
    assert.equal((await fetch(`${server.metricsUrl}/metrics`, { method: 'POST' })).status, 405);
  });
});
