// gRPC through the real server and real Chromium, with clients built from the same .proto files:
// TorchServe's inference and management services, KServe v2's GRPCInferenceService and
// grpc.health.v1, against what the HTTP APIs answer for the same input.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as connectTcp, type Socket } from 'node:net';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { credentials, makeGenericClientConstructor, Metadata, status as Code, type ClientDuplexStream } from '@grpc/grpc-js';
import { packageDefinition } from '../../server/grpc/definitions.js';
import { PROJECT_ROOT } from '../../server/ops/paths.js';
import type { RunningServer } from '../../server/server.js';
import { freezePage } from '../support/frozen-page.js';
import { bearer, callFails, callUnary, grpcClients, type GrpcClients } from '../support/grpc-client.js';
import { bytesOf, kittenTensor, v2Output } from '../support/kitten-tensor.js';
import { readImage } from '../support/paths.js';
import { connect, head } from '../support/raw-http.js';
import { call, startTestServer } from '../support/server-harness.js';
import { ANY_PORTS, spawnServer } from '../support/spawned-server.js';
import { tempStore } from '../support/temp-store.js';
import { selfSignedCertificate } from '../support/tls.js';
import { until } from '../support/until.js';

const TABBY = 'n02123045 tabby, tabby cat';

const floats = (b: Buffer) => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let most = 0;
  for (let i = 0; i < a.length; i++) most = Math.max(most, Math.abs(a[i]! - b[i]!));
  return most;
}

/** Writes `requests` to a StreamPredictions2 stream and collects every answer until it ends. */
function collect(stream: ClientDuplexStream<object, any>): Promise<{ answers: any[]; error: any }> {
  const answers: any[] = [];
  return new Promise((resolve) => {
    stream.on('data', (a) => answers.push(a));
    stream.on('error', (error) => resolve({ answers, error }));
    stream.on('end', () => resolve({ answers, error: null }));
  });
}

describe('gRPC', () => {
  const store = tempStore([
    // Batches are not under test with these two: one image a run, so that warm-up runs no larger batch.
    { name: 'mobilenet_v2', from: 'mobilenet_v2', config: { batch_size: 1, max_batch_delay: 0 } },
    // A lone request waits for its batch to fill, as long as a model may wait: far past a short client deadline.
    // Neither model's request reaches a run: the null model, which loads at a fraction of MobileNet's cost.
    { name: 'patient', from: 'null_model', config: { batch_size: 4, max_batch_delay: 10_000 } },
    { name: 'hasty', from: 'null_model', config: { batch_size: 1, response_timeout: 0.001 } },
    { name: 'versioned', from: 'mobilenet_v2_int8', versions: ['1.0', '2.0'], config: { batch_size: 1 } },
    // Registered and scaled only: the null model.
    { name: 'idle', from: 'null_model', config: { batch_size: 1 } },
  ]);
  let server: RunningServer;
  let grpc: GrpcClients;
  let key: ReturnType<typeof bearer>;
  let managementKey: ReturnType<typeof bearer>;
  let tensor: Float32Array;

  before(async () => {
    server = await startTestServer({
      model_store: store.root,
      backend: 'wasm',
      wasm_threads: '1',
      load_models: 'mobilenet_v2,patient,hasty',
      job_queue_size: '6',
      max_request_size: '1000000',
      enable_token_authorization: 'true',
      key_file: path.join(store.root, 'key_file.json'),
    });
    await server.ready;
    grpc = grpcClients(server.grpc!);
    key = bearer(server.keys!.inference);
    managementKey = bearer(server.keys!.management);
    tensor = await kittenTensor();
  });
  after(async () => {
    grpc?.close();
    await server?.close();
    store.remove();
  });

  it('Ping, ServerLive and ServerReady answer without a key, and grpc.health.v1 says SERVING on both listeners', async () => {
    const ping = await callUnary(grpc.torchserve, 'Ping', {});
    assert.deepEqual(JSON.parse(ping.health), { status: 'Healthy' });
    assert.equal((await callUnary(grpc.kserve, 'ServerLive', {})).live, true);
    assert.equal((await callUnary(grpc.kserve, 'ServerReady', {})).ready, true);
    for (const service of ['', 'org.pytorch.serve.grpc.inference.InferenceAPIsService', 'inference.GRPCInferenceService']) {
      assert.equal((await callUnary(grpc.health, 'Check', { service })).status, 'SERVING', service);
    }
    assert.equal((await callUnary(grpc.managementHealth, 'Check', { service: 'org.pytorch.serve.grpc.management.ManagementAPIsService' })).status, 'SERVING');
    assert.equal((await callFails(grpc.health, 'Check', { service: 'no.such.Service' })).code, Code.NOT_FOUND);
  });

  it('a wrong or missing key is UNAUTHENTICATED, and the inference key does not open management', async () => {
    const request = { model_name: 'mobilenet_v2', input: { data: readImage('kitten.jpg') } };
    assert.equal((await callFails(grpc.torchserve, 'Predictions', request)).code, Code.UNAUTHENTICATED);
    assert.equal((await callFails(grpc.torchserve, 'Predictions', request, bearer('not-the-key-at-all-1234'))).code, Code.UNAUTHENTICATED);
    assert.equal((await callFails(grpc.kserve, 'ModelMetadata', { name: 'mobilenet_v2' })).code, Code.UNAUTHENTICATED);
    assert.equal((await callFails(grpc.management, 'ListModels', {}, key)).code, Code.UNAUTHENTICATED);
    assert.equal((await callUnary(grpc.management, 'ListModels', {}, managementKey)).msg.includes('mobilenet_v2'), true);
  });

  it('Predictions classifies the kitten and answers the same JSON as POST /predictions', async () => {
    const kitten = readImage('kitten.jpg');
    const reply = await callUnary(grpc.torchserve, 'Predictions', { model_name: 'mobilenet_v2', input: { data: kitten } }, key);
    const viaGrpc = JSON.parse(reply.prediction.toString());
    const viaHttp = (await call(`${server.inferenceUrl}/predictions/mobilenet_v2`, { method: 'POST', body: kitten, headers: { authorization: `Bearer ${server.keys!.inference}` } })).body;
    assert.equal(viaGrpc[0].class, TABBY);
    assert.deepEqual(
      viaGrpc.map((c: { class: string }) => c.class),
      viaHttp.map((c: { class: string }) => c.class),
    );
    assert.ok(
      maxDifference(
        viaGrpc.map((c: { probability: number }) => c.probability),
        viaHttp.map((c: { probability: number }) => c.probability),
      ) < 1e-5,
    );
  });

  it('StreamPredictions streams its one answer; StreamPredictions2 answers each request in order, errors in their status', async () => {
    const streamed: any[] = [];
    const one = grpc.torchserve['StreamPredictions']!({ model_name: 'mobilenet_v2', input: { data: readImage('kitten.jpg') } }, key) as NodeJS.EventEmitter;
    one.on('data', (a) => streamed.push(a));
    await once(one, 'end');
    assert.equal(streamed.length, 1);
    assert.equal(JSON.parse(streamed[0].prediction.toString())[0].class, TABBY);

    const stream = grpc.torchserve['StreamPredictions2']!(key) as ClientDuplexStream<object, any>;
    const done = collect(stream);
    const images = ['kitten.jpg', 'bald_eagle.jpg', 'not an image', 'dog_malamute.jpg'];
    images.forEach((name, i) => {
      const data = name.endsWith('.jpg') ? readImage(name) : Buffer.from(name);
      stream.write({ model_name: 'mobilenet_v2', input: { data }, sequenceId: `seq-${i}` });
    });
    stream.write({ model_name: 'no_such_model', input: { data: readImage('kitten.jpg') }, sequenceId: 'seq-4' });
    stream.end();
    const { answers, error } = await done;
    assert.equal(error, null);
    assert.deepEqual(
      answers.map((a) => a.sequenceId),
      ['seq-0', 'seq-1', 'seq-2', 'seq-3', 'seq-4'],
    );
    assert.equal(JSON.parse(answers[0].prediction.toString())[0].class, TABBY);
    assert.equal(JSON.parse(answers[1].prediction.toString())[0].class, 'n01614925 bald eagle, American eagle, Haliaeetus leucocephalus');
    assert.equal(answers[2].status.code, Code.INVALID_ARGUMENT);
    assert.equal(answers[2].prediction.length, 0);
    assert.match(JSON.parse(answers[3].prediction.toString())[0].class, /malamute/);
    assert.equal(answers[4].status.code, Code.NOT_FOUND);
  });

  it('ModelInfer takes typed and raw FP32 contents and answers like POST /v2/models/{m}/infer', async () => {
    const reference = await v2Output(server.inferenceUrl, 'mobilenet_v2', tensor, server.keys!.inference);
    const input = { name: 'input', datatype: 'FP32', shape: [1, 3, 224, 224] };

    const typed = await callUnary(grpc.kserve, 'ModelInfer', { model_name: 'mobilenet_v2', id: 't1', inputs: [{ ...input, contents: { fp32_contents: Array.from(tensor) } }] }, key);
    assert.equal(typed.id, 't1');
    assert.deepEqual(typed.outputs[0].shape, [1, 1000]);
    assert.equal(typed.raw_output_contents.length, 0);
    assert.ok(maxDifference(typed.outputs[0].contents.fp32_contents, reference) < 1e-4);

    const raw = await callUnary(grpc.kserve, 'ModelInfer', { model_name: 'mobilenet_v2', model_version: '1.0', inputs: [input], raw_input_contents: [bytesOf(tensor)] }, key);
    assert.equal(raw.outputs[0].contents, null);
    assert.equal(raw.raw_output_contents.length, 1);
    assert.ok(maxDifference(floats(raw.raw_output_contents[0]), reference) < 1e-4);

    const meta = await callUnary(grpc.kserve, 'ModelMetadata', { name: 'mobilenet_v2' }, key);
    assert.deepEqual(meta.inputs, [{ name: 'input', datatype: 'FP32', shape: [-1, 3, 224, 224] }]);
    assert.equal((await callUnary(grpc.kserve, 'ModelReady', { name: 'mobilenet_v2' }, key)).ready, true);
    assert.equal((await callUnary(grpc.kserve, 'ServerMetadata', {}, key)).name, 'webgpu-inference-server');
  });

  it('bad tensors, unknown models and repository calls get their KServe status codes', async () => {
    const input = { name: 'input', datatype: 'FP32', shape: [1, 3, 224, 224] };
    const short = await callFails(grpc.kserve, 'ModelInfer', { model_name: 'mobilenet_v2', inputs: [input], raw_input_contents: [Buffer.alloc(12)] }, key);
    assert.equal(short.code, Code.INVALID_ARGUMENT);
    assert.match(short.details, /raw_input_contents\[0\] holds 12 bytes/);
    const shape = await callFails(grpc.kserve, 'ModelInfer', { model_name: 'mobilenet_v2', inputs: [{ ...input, shape: [1, 3, 10, 10] }], raw_input_contents: [Buffer.alloc(1200)] }, key);
    assert.equal(shape.code, Code.INVALID_ARGUMENT);
    assert.equal((await callFails(grpc.kserve, 'ModelInfer', { model_name: 'nope', inputs: [input] }, key)).code, Code.NOT_FOUND);
    assert.equal((await callFails(grpc.kserve, 'ModelReady', { name: 'mobilenet_v2', version: '9.9' }, key)).code, Code.NOT_FOUND);
    assert.equal((await callFails(grpc.kserve, 'RepositoryModelLoad', { model_name: 'mobilenet_v2' }, key)).code, Code.UNIMPLEMENTED);
  });

  it('a message over max_request_size is RESOURCE_EXHAUSTED, and the server serves on', async () => {
    const two = new Float32Array(2 * tensor.length);
    const err = await callFails(
      grpc.kserve,
      'ModelInfer',
      { model_name: 'mobilenet_v2', inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 3, 224, 224] }], raw_input_contents: [bytesOf(two)] },
      key,
    );
    assert.equal(err.code, Code.RESOURCE_EXHAUSTED);
    const ok = await callUnary(grpc.torchserve, 'Predictions', { model_name: 'mobilenet_v2', input: { data: readImage('kitten.jpg') } }, key);
    assert.equal(JSON.parse(ok.prediction.toString())[0].class, TABBY);
  });

  it('a full queue is RESOURCE_EXHAUSTED at once, and the rest are served', async () => {
    const kitten = readImage('kitten.jpg');
    // The page held still: nothing can be served, so the refusals that come meanwhile came at once.
    const page = await freezePage(server.managementUrl, 'mobilenet_v2', { authorization: `Bearer ${server.keys!.management}` });
    let calls: Array<Promise<string | { code: number; details: string }>> = [];
    try {
      let refusedWhileHeld = 0;
      calls = Array.from({ length: 30 }, () =>
        callUnary(grpc.torchserve, 'Predictions', { model_name: 'mobilenet_v2', input: { data: kitten } }, key).then(
          (r) => JSON.parse(r.prediction.toString())[0].class as string,
          (e: { code: number; details: string }) => {
            refusedWhileHeld++;
            return e;
          },
        ),
      );
      await until('a call refused while the page is held', () => refusedWhileHeld > 0);
    } finally {
      page.thaw();
    }
    const outcomes = await Promise.all(calls);
    const served = outcomes.filter((o) => typeof o === 'string');
    const refused = outcomes.filter((o) => typeof o !== 'string');
    assert.ok(refused.length > 0, 'some were refused');
    assert.ok(served.length >= 6, `the queue was served (${served.length})`);
    for (const s of served) assert.equal(s, TABBY);
    for (const r of refused) {
      assert.equal(r.code, Code.RESOURCE_EXHAUSTED);
      assert.match(r.details, /job_queue_size 6/);
    }
  });

  it("deadlines: the model's response_timeout is DEADLINE_EXCEEDED naming it, and the client's own deadline is honoured", async () => {
    const kitten = readImage('kitten.jpg');
    const late = await callFails(grpc.torchserve, 'Predictions', { model_name: 'hasty', input: { data: kitten } }, key);
    assert.equal(late.code, Code.DEADLINE_EXCEEDED);
    assert.match(late.details, /raise response_timeout in hasty's config\.json/);

    // "patient" holds a lone request for 10 s waiting for a batch; the client gives it 1 s.
    const metric = async () => {
      const text = (await call(`${server.metricsUrl}/metrics`, { headers: { authorization: `Bearer ${server.keys!.management}` } })).body as string;
      const served = Number(/ts_inference_requests_total\{model_name="patient"[^}]*,\} (\d+\.\d+)/.exec(text)?.[1] ?? 0);
      const ended = (code: string) =>
        Number(
          new RegExp(
            `grpc_server_handled_total\\{grpc_type="unary",grpc_service="org\\.pytorch\\.serve\\.grpc\\.inference\\.InferenceAPIsService",grpc_method="Predictions",grpc_code="${code}"\\} (\\d+)`,
          ).exec(text)?.[1] ?? 0,
        );
      // The client ends the call itself at its deadline, and the server's timer ends it too: the
      // server counts DEADLINE_EXCEEDED, or CANCELLED where the client's word reaches it first
      // (as any gRPC server would), depending on which comes first on the machine.
      return { served, gaveUp: ended('DEADLINE_EXCEEDED') + ended('CANCELLED'), failed: ended('INTERNAL') + ended('UNKNOWN') + ended('UNAVAILABLE') };
    };
    const before = await metric();
    const gone = await callFails(grpc.torchserve, 'Predictions', { model_name: 'patient', input: { data: kitten } }, key, { deadline: Date.now() + 1000 });
    assert.equal(gone.code, Code.DEADLINE_EXCEEDED);
    // Counted once the server has let the call go, which takes it out of the queue first.
    await until('the call counted as ended by its client', async () => (await metric()).gaveUp > before.gaveUp);
    const afterwards = await metric();
    assert.equal(afterwards.gaveUp, before.gaveUp + 1, 'counted as given up by its client');
    assert.equal(afterwards.failed, before.failed, 'not as a failure of the server');
    const [patient] = (await call(`${server.managementUrl}/models/patient`, { headers: { authorization: `Bearer ${server.keys!.management}` } })).body;
    assert.equal(patient.jobQueueStatus.pendingRequests, 0, 'the request whose client gave up left the queue (its batch would have waited 10 s)');
    assert.equal(afterwards.served, before.served, 'and was not run');
  });

  it('every management call, through the same operations as the HTTP Management API', async () => {
    const m = managementKey;
    const registered = await callUnary(grpc.management, 'RegisterModel', { url: 'versioned' }, m);
    assert.match(registered.msg, /Model "versioned" Version: 1\.0, Model "versioned" Version: 2\.0 registered with 0 initial workers/);
    assert.equal((await callFails(grpc.management, 'RegisterModel', { url: 'https://example.com/x.mar' }, m)).code, Code.INVALID_ARGUMENT);
    assert.equal((await callFails(grpc.management, 'RegisterModel', { url: 'no_such_folder' }, m)).code, Code.NOT_FOUND);
    assert.equal((await callFails(grpc.management, 'RegisterModel', { url: 'versioned' }, m)).code, Code.FAILED_PRECONDITION);

    const list = JSON.parse((await callUnary(grpc.management, 'ListModels', { limit: 2 }, m)).msg);
    assert.equal(list.models.length, 2);
    assert.equal(list.nextPageToken, '2');
    const rest = JSON.parse((await callUnary(grpc.management, 'ListModels', { limit: 2, next_page_token: 2 }, m)).msg);
    assert.deepEqual([...list.models, ...rest.models].map((x: { modelName: string }) => x.modelName).sort(), ['hasty', 'mobilenet_v2', 'patient', 'versioned']);

    const scaled = await callUnary(grpc.management, 'ScaleWorker', { model_name: 'versioned', model_version: '2.0', min_worker: 1, synchronous: true }, m);
    assert.equal(scaled.msg, 'Workers scaled to 1 for model: versioned, version: 2.0');
    assert.equal((await callUnary(grpc.management, 'SetDefault', { model_name: 'versioned', model_version: '2.0' }, m)).msg, 'Default version successfully updated for model "versioned" to "2.0"');
    const [described] = JSON.parse((await callUnary(grpc.management, 'DescribeModel', { model_name: 'versioned' }, m)).msg);
    assert.equal(described.modelVersion, '2.0');
    assert.equal(described.workers[0].status, 'READY');
    const viaHttp = (await call(`${server.managementUrl}/models/versioned`, { headers: { authorization: `Bearer ${server.keys!.management}` } })).body[0];
    assert.equal(described.workers[0].pid, viaHttp.workers[0].pid);
    const all = JSON.parse((await callUnary(grpc.management, 'DescribeModel', { model_name: 'versioned', model_version: 'all' }, m)).msg);
    assert.equal(all.length, 2);
    const reply = await callUnary(grpc.torchserve, 'Predictions', { model_name: 'versioned', input: { data: readImage('kitten.jpg') } }, key);
    assert.equal(JSON.parse(reply.prediction.toString())[0].class, TABBY);

    assert.equal((await callUnary(grpc.management, 'UnregisterModel', { model_name: 'versioned', model_version: '1.0' }, m)).msg, 'Model "versioned" Version: 1.0 unregistered');
    assert.equal((await callFails(grpc.management, 'UnregisterModel', { model_name: 'versioned', model_version: '1.0' }, m)).code, Code.NOT_FOUND);
    assert.equal((await callFails(grpc.management, 'ScaleWorker', { model_name: 'versioned', min_worker: 2, max_worker: 1 }, m)).code, Code.INVALID_ARGUMENT);
    assert.equal((await callFails(grpc.management, 'DescribeModel', { model_name: '' }, m)).code, Code.INVALID_ARGUMENT);
    assert.equal((await callUnary(grpc.management, 'UnregisterModel', { model_name: 'versioned' }, m)).msg, 'Model "versioned" Version: 2.0 unregistered');
  });

  it("numbers not above 0 are TorchServe's gRPC defaults: startup_timeout=0 and min_worker=-1 fail nothing", async () => {
    const m = managementKey;
    const registered = await callUnary(grpc.management, 'RegisterModel', { url: 'idle', initial_workers: 1, startup_timeout: 0, synchronous: true }, m);
    assert.equal(registered.msg, 'Model "idle" Version: 1.0 registered with 1 initial workers');
    const none = await callUnary(grpc.management, 'ScaleWorker', { model_name: 'idle', min_worker: -1, max_worker: -1, synchronous: true }, m);
    assert.equal(none.msg, 'Workers scaled to 1 for model: idle', 'min_worker -1 is the default, 1');
    const [described] = JSON.parse((await callUnary(grpc.management, 'DescribeModel', { model_name: 'idle' }, m)).msg);
    assert.deepEqual(
      described.workers.map((w: { status: string }) => w.status),
      ['READY'],
    );
    assert.equal((await callUnary(grpc.management, 'UnregisterModel', { model_name: 'idle' }, m)).msg, 'Model "idle" Version: 1.0 unregistered');
  });

  it('malformed messages to every method get a status, never a crash or a hang, and the server serves on', async () => {
    const passthrough = { requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };
    const methods = Object.entries(packageDefinition)
      .filter(([name]) => /Service$/.test(name))
      .flatMap(([, service]) => Object.values(service as Record<string, { path: string; requestStream: boolean; responseStream: boolean }>));
    const Raw = makeGenericClientConstructor(
      Object.fromEntries(methods.filter((m) => !m.requestStream).map((m) => [m.path, { path: m.path, requestStream: false, responseStream: m.responseStream, ...passthrough }])),
      'Raw',
    );
    const target = (m: { path: string }) => (m.path.includes('management') ? server.grpc!.management : server.grpc!.inference);
    let seed = 7;
    const random = (n: number) => Buffer.from(Array.from({ length: n }, () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) & 0xff));
    const payloads = [Buffer.alloc(0), Buffer.from([0x0a]), Buffer.from([0x1a, 0xff, 0xff, 0xff, 0xff, 0x0f]), random(7), random(64), random(4096)];
    let calls = 0;
    for (const m of methods.filter((x) => !x.requestStream)) {
      const client = new Raw(target(m), credentials.createInsecure()) as unknown as Record<string, (...a: unknown[]) => any>;
      const auth = m.path.includes('management') ? managementKey : key;
      for (const payload of payloads) {
        const code = await new Promise<number>((resolve) => {
          // Only a bound on a hang: an answer of any kind comes long before it.
          const deadline = Date.now() + 60_000;
          if (m.responseStream) {
            const stream = client[m.path]!(payload, auth, { deadline });
            stream.on('data', () => {});
            stream.on('error', (e: { code: number }) => resolve(e.code));
            stream.on('end', () => resolve(Code.OK));
          } else client[m.path]!(payload, auth, { deadline }, (e: { code: number } | null) => resolve(e ? e.code : Code.OK));
        });
        assert.notEqual(code, Code.DEADLINE_EXCEEDED, `${m.path} answered ${payload.length} bytes of garbage`);
        calls++;
      }
      (client as unknown as { close(): void }).close();
    }
    assert.ok(calls >= 6 * 15, `${calls} calls`);
    const ok = await callUnary(grpc.torchserve, 'Predictions', { model_name: 'mobilenet_v2', input: { data: readImage('kitten.jpg') } }, key);
    assert.equal(JSON.parse(ok.prediction.toString())[0].class, TABBY);
  });

  it('the metrics count gRPC calls by service, method and code, and predictions per model as HTTP does', async () => {
    const text = (await call(`${server.metricsUrl}/metrics`, { headers: { authorization: `Bearer ${server.keys!.management}` } })).body as string;
    assert.match(text, /grpc_server_handled_total\{grpc_type="unary",grpc_service="inference\.GRPCInferenceService",grpc_method="ModelInfer",grpc_code="OK"\} 2/);
    assert.match(
      text,
      /grpc_server_handled_total\{grpc_type="bidi_stream",grpc_service="org\.pytorch\.serve\.grpc\.inference\.InferenceAPIsService",grpc_method="StreamPredictions2",grpc_code="OK"\} 1/,
    );
    assert.match(text, /grpc_server_handled_total\{[^}]*grpc_method="Predictions",grpc_code="UNAUTHENTICATED"\} 2/);
  });
});

describe('gRPC connections', () => {
  const empty = tempStore([]);
  let server: RunningServer;
  before(async () => {
    // max_connections bounds the small listeners, gRPC's among them, to 4 connections here; all
    // come from one address, which may hold them all (grpc-hostile.test.ts bounds it).
    server = await startTestServer({ model_store: empty.root, load_models: '', max_connections: '4', grpc_max_connections_per_client: '4' });
  });
  after(async () => {
    await server?.close();
    empty.remove();
  });

  it('past the bound new connections are closed at once; gRPC serves again when they go', async () => {
    const [host, port] = [server.grpc!.inference.replace(/:\d+$/, ''), Number(server.grpc!.inference.split(':').pop())];
    const sockets = await Promise.all(
      Array.from(
        { length: 7 },
        () =>
          new Promise<Socket>((resolve, reject) => {
            const s = connectTcp(port, host, () => resolve(s));
            s.on('error', reject);
          }),
      ),
    );
    // Past the bound a connection is closed as it comes, before gRPC sees it: nothing is sent on
    // it. Within it, gRPC speaks first (its HTTP/2 settings), and the connection stays open.
    const received = sockets.map(() => 0);
    const closed = sockets.map(() => false);
    sockets.forEach((s, i) => {
      s.on('data', (d: Buffer) => (received[i]! += d.length));
      s.on('close', () => (closed[i] = true));
    });
    const fate = () => sockets.map((_, i) => (closed[i] ? (received[i] ? 'closed after gRPC spoke' : 'closed unanswered') : received[i] ? 'served' : 'waiting'));
    await until('every connection closed or served', () => !fate().includes('waiting'));
    assert.deepEqual(fate().sort(), ['closed unanswered', 'closed unanswered', 'closed unanswered', 'served', 'served', 'served', 'served'], 'the 3 past the bound were closed');
    for (const s of sockets) s.destroy();
    const clients = grpcClients(server.grpc!);
    try {
      // The server sees those connections go when it sees it: the call waits for a connection it takes.
      const ping = await callUnary(clients.torchserve, 'Ping', {}, new Metadata({ waitForReady: true }), { deadline: Date.now() + 120_000 });
      assert.deepEqual(JSON.parse(ping.health), { status: 'Healthy' });
    } finally {
      clients.close();
    }
  });
});

describe('gRPC over TLS (enable_grpc_ssl)', () => {
  const made = selfSignedCertificate();
  const empty = tempStore([]);
  let server: RunningServer;
  before(async () => {
    server = await startTestServer({ model_store: empty.root, load_models: '', enable_grpc_ssl: 'true', private_key_file: made.key, certificate_file: made.cert });
  });
  after(async () => {
    await server?.close();
    made.remove();
    empty.remove();
  });

  it('a client trusting only the certificate is served; a plaintext client is not', async () => {
    const trusted = grpcClients(server.grpc!, credentials.createSsl(readFileSync(made.cert)));
    const plain = grpcClients(server.grpc!);
    try {
      assert.deepEqual(JSON.parse((await callUnary(trusted.torchserve, 'Ping', {})).health), { status: 'Healthy' });
      // The deadline only bounds a hang: the refused handshake answers UNAVAILABLE long before it.
      assert.equal((await callFails(plain.torchserve, 'Ping', {}, undefined, { deadline: Date.now() + 60_000 })).code, Code.UNAVAILABLE);
    } finally {
      trusted.close();
      plain.close();
    }
  });
});

describe('gRPC at SIGTERM', () => {
  it('an open StreamPredictions2 gets the answers it is owed, then ends UNAVAILABLE, and the server exits 0', async () => {
    const store = tempStore([{ name: 'mobilenet_v2', from: 'mobilenet_v2', config: { batch_size: 1 } }]);
    const server = await spawnServer(process.execPath, [path.join(PROJECT_ROOT, 'dist/server/main.js'), '--model-store', store.root, '--backend', 'wasm', ...ANY_PORTS], { TS_WASM_THREADS: '1' });
    try {
      const address = /gRPC inference \(TorchServe, KServe v2\) on (\S+),/.exec(server.output())![1]!;
      const grpc = grpcClients({ inference: address, management: address });
      // An upload that never ends is a request in flight, which the drain waits for: the server
      // cannot exit before the stream's end has reached this client, however slowly it reads.
      const upload = await connect(server.inferenceUrl());
      upload.write(head('POST', '/predictions/mobilenet_v2', { 'Content-Length': 1000 }));
      upload.write('x');
      // Health watched from before the signal: it must say NOT_SERVING once SIGTERM arrives.
      const watched: string[] = [];
      const watch = grpc.health['Watch']!({ service: '' }) as NodeJS.EventEmitter;
      watch.on('data', (r: { status: string }) => watched.push(r.status));
      watch.on('error', () => {});
      const stream = grpc.torchserve['StreamPredictions2']!() as ClientDuplexStream<object, any>;
      const done = collect(stream);
      const first = once(stream, 'data');
      for (let i = 0; i < 3; i++) stream.write({ model_name: 'mobilenet_v2', input: { data: readImage('kitten.jpg') }, sequenceId: String(i) });
      await first; // the stream is open and served
      server.child.kill('SIGTERM');
      const { answers, error } = await done;
      upload.socket.destroy();
      const exit = await once(server.child, 'exit');
      grpc.close();
      assert.deepEqual(
        answers.map((a) => a.sequenceId),
        ['0', '1', '2'],
      );
      for (const a of answers) assert.equal(JSON.parse(a.prediction.toString())[0].class, TABBY);
      assert.equal(error?.code, Code.UNAVAILABLE);
      assert.match(error.details, /shutting down/);
      assert.equal(exit[0], 0);
      assert.deepEqual(watched, ['SERVING', 'NOT_SERVING']);
      assert.match(server.output(), /"protocol":"grpc"[^\n]*StreamPredictions2/);
    } finally {
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
      store.remove();
    }
  });
});
