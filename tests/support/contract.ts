// The contract suite: every operation of every listener's table, called, and each answer checked
// against what the listener's OpenAPI document (made from the table) promises for its status.
// The same suite runs against the fake engine (tests/unit) and the real Chromium engine
// (tests/integration). It also fails when a listener serves a route its table lacks, or its
// table names an operation nobody calls here.

import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv } from 'ajv';
import type { RunningServer } from '../../server/server.js';
import { PROJECT_ROOT } from '../../server/ops/paths.js';
import { call, type Answer } from './server-harness.js';
import { readImage } from './paths.js';

type Listener = 'inference' | 'management' | 'metrics';

interface Call {
  listener: Listener;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  /** The status this call must get. */
  status: number;
  /** Puts the server in the state the next calls need, through another operation. */
  setup?: true;
}

/**
 * The model the calls name; `extra`, a model in the store the server has not loaded, is
 * registered and unregistered by the calls.
 */
export const CONTRACT_MODELS = { model: 'mobilenet_v2', extra: 'mobilenet_v2_int8', version: '1.0', detector: 'yolox_nano' };

const { model, version, detector } = CONTRACT_MODELS;
const kitten = readImage('kitten.jpg');
const sample = readdirSync(path.join(PROJECT_ROOT, 'public', 'samples'))[0]!;
const zeros = (n: number) => `[${new Array(n).fill(0).join(',')}]`;
const v2Body = JSON.stringify({ id: 'c1', inputs: [{ name: 'input', shape: [1, 3, 224, 224], datatype: 'FP32', data: JSON.parse(zeros(3 * 224 * 224)) }] });
const v1Body = JSON.stringify({ instances: [{ data: kitten.toString('base64') }, { data: { b64: kitten.toString('base64') } }] });

const i = (method: string, path: string, status: number, more: Partial<Call> = {}): Call => ({ listener: 'inference', method, path, status, ...more });
const m = (method: string, path: string, status: number): Call => ({ listener: 'management', method, path, status });

/**
 * For each operationId, the calls that exercise it, in the order they run: a success and, where
 * a client can cause one, an error. Management calls register `extra` and take it away again.
 */
const callsFor = (extra: string): Record<string, Call[]> => ({
  apiDescription: [i('OPTIONS', '/', 200)],
  apiDescriptionGet: [i('GET', '/api-description', 200)],
  ping: [i('GET', '/ping', 200)],
  v2Live: [i('GET', '/v2/health/live', 200)],
  v2Ready: [i('GET', '/v2/health/ready', 200)],
  demoPage: [i('GET', '/', 200)],
  favicon: [i('GET', '/favicon.ico', 301)],
  demoSample: [i('GET', `/demo/samples/${sample}`, 200), i('GET', '/demo/samples/nothing.jpg', 404)],
  demoFile: [i('GET', '/demo/style.css', 200), i('GET', '/demo/..%2fpackage.json', 404)],
  runtimeScript: [i('GET', '/browser-runtime/main.js', 200), i('GET', '/browser-runtime/nothing.js', 404)],
  runtimeHandlerScript: [i('GET', '/browser-runtime/handlers/object-detector.js', 200), i('GET', '/browser-runtime/handlers/main.js', 404)],
  ortFile: [i('GET', '/ort/ort.wasm.min.mjs', 200), i('GET', '/ort/nothing.mjs', 404)],
  demoModels: [i('GET', '/demo/models', 200)],
  demoModelFile: [i('GET', `/demo/models/${model}/${version}/model.onnx`, 200), i('GET', `/demo/models/${model}/9.9/model.onnx`, 404)],
  demoLabels: [i('GET', `/demo/models/${model}/${version}/labels.json`, 200), i('GET', `/demo/models/nothing/${version}/labels.json`, 404)],
  predictionsPost: [
    i('POST', `/predictions/${model}`, 200, { body: kitten }),
    // Each handler's answer against the document's shapes.
    i('POST', `/predictions/${detector}`, 200, { body: kitten }),
    i('POST', `/predictions/${model}?topk=0`, 400, { body: kitten }),
    i('POST', `/predictions/${model}`, 400, { body: 'not an image' }),
    i('POST', '/predictions/nothing', 404, { body: kitten }),
  ],
  predictionsPut: [i('PUT', `/predictions/${model}?topk=2`, 200, { body: kitten })],
  versionPredictionsPost: [i('POST', `/predictions/${model}/${version}`, 200, { body: kitten }), i('POST', `/predictions/${model}/9.9`, 404, { body: kitten })],
  versionPredictionsPut: [i('PUT', `/predictions/${model}/${version}`, 200, { body: kitten })],
  v2Server: [i('GET', '/v2', 200)],
  v2ModelMetadata: [i('GET', `/v2/models/${model}`, 200), i('GET', '/v2/models/nothing', 404)],
  v2ModelVersionMetadata: [i('GET', `/v2/models/${model}/versions/${version}`, 200)],
  v2ModelReady: [i('GET', `/v2/models/${model}/ready`, 200), i('GET', '/v2/models/nothing/ready', 404)],
  v2ModelVersionReady: [i('GET', `/v2/models/${model}/versions/${version}/ready`, 200)],
  v2ModelInfer: [
    i('POST', `/v2/models/${model}/infer`, 200, { body: v2Body, headers: { 'content-type': 'application/json' } }),
    i('POST', `/v2/models/${model}/infer`, 400, { body: '{"inputs": 3}', headers: { 'content-type': 'application/json' } }),
    i('POST', '/v2/models/nothing/infer', 404, { body: v2Body }),
  ],
  v2ModelVersionInfer: [i('POST', `/v2/models/${model}/versions/${version}/infer`, 200, { body: v2Body, headers: { 'content-type': 'application/json' } })],
  v1ModelReady: [i('GET', `/v1/models/${model}`, 200), i('GET', '/v1/models/nothing', 404)],
  v1ModelPredict: [
    i('POST', `/v1/models/${model}:predict`, 200, { body: v1Body, headers: { 'content-type': 'application/json' } }),
    i('POST', `/v1/models/${model}:predict?topk=2`, 200, { body: v1Body, headers: { 'content-type': 'application/json' } }),
    i('POST', `/v1/models/${model}:predict`, 400, { body: '{"instances": [{"data": "not base64!"}]}', headers: { 'content-type': 'application/json' } }),
    i('POST', '/v1/models/nothing:predict', 404, { body: v1Body }),
  ],
  listModels: [m('GET', '/models', 200), m('GET', '/models?limit=x&next_page_token=-3', 200)],
  registerModel: [
    m('POST', `/models?url=${extra}&initial_workers=1&synchronous=true`, 200),
    m('POST', `/models?url=${extra}`, 409),
    m('POST', '/models?url=https://example.com/m.mar', 400),
    m('POST', '/models?url=nothing', 404),
  ],
  describeModel: [m('GET', `/models/${extra}`, 200), m('GET', '/models/nothing', 404)],
  describeModelVersion: [m('GET', `/models/${extra}/all`, 200), m('GET', `/models/${extra}/${version}`, 200), m('GET', `/models/${extra}/9.9`, 404)],
  scaleModel: [m('PUT', `/models/${extra}?min_worker=1&synchronous=true`, 200), m('PUT', `/models/${extra}?min_worker=2&max_worker=1`, 400)],
  scaleModelVersion: [m('PUT', `/models/${extra}/${version}?min_worker=1`, 202)],
  setDefaultVersion: [m('PUT', `/models/${extra}/${version}/set-default`, 200), m('PUT', `/models/${extra}/9.9/set-default`, 404)],
  unregisterModel: [m('DELETE', `/models/${extra}`, 200), m('DELETE', `/models/${extra}`, 404), { ...m('POST', `/models?url=${extra}&synchronous=true`, 200), setup: true }],
  unregisterModelVersion: [m('DELETE', `/models/${extra}/${version}`, 200)],
  metrics: [
    { listener: 'metrics', method: 'GET', path: '/metrics', status: 200 },
    { listener: 'metrics', method: 'GET', path: '/metrics?name[]=Requests2XX&name[]=ts_inference_requests_total&name[]=nothing', status: 200 },
  ],
});

/** Every route an Express app serves, as `METHOD /openapi/{path}`; the 405 answers (all methods) left out. */
export function servedRoutes(app: unknown): string[] {
  const out: string[] = [];
  const walk = (stack: Array<{ route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: unknown } }>) => {
    for (const layer of stack) {
      if (layer.route) {
        if (layer.route.methods['_all']) continue;
        // `:x` is a parameter, `\:` a literal colon (operation.ts expressPath).
        const openApi = layer.route.path.replace(/(?<!\\):(\w+)/g, '{$1}').replace(/\\:/g, ':');
        for (const method of Object.keys(layer.route.methods)) out.push(`${method.toUpperCase()} ${openApi}`);
      } else if (Array.isArray(layer.handle?.stack)) {
        walk(layer.handle.stack as typeof stack);
      }
    }
  };
  walk((app as { router: { stack: Parameters<typeof walk>[0] } }).router.stack);
  return out;
}

const documented = (doc: any): string[] => Object.entries(doc.paths as Record<string, object>).flatMap(([p, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${p}`));

/** The operation of `doc` that `path` (concrete, query left out) and `method` reach. */
function operationFor(doc: any, method: string, target: string): any {
  const bare = target.split('?')[0]!;
  // A fixed segment wins over a parameter, as the routes are ordered: /demo/models before /demo/{file}.
  const params = (p: string) => p.split('{').length;
  const paths = Object.entries(doc.paths as Record<string, Record<string, any>>).sort(([a], [b]) => params(a) - params(b));
  for (const [p, ops] of paths) {
    const re = new RegExp(`^${p.replace(/[.]/g, '\\.').replace(/\{\w+\}/g, '[^/]+')}$`);
    if (re.test(bare) && ops[method.toLowerCase()]) return ops[method.toLowerCase()];
  }
  return undefined;
}

/** The suite against the server `source` gives; it leaves the server as it found it, and open. */
export function contractSuite(label: string, source: () => Promise<RunningServer>, extra = CONTRACT_MODELS.extra): void {
  const CALLS = callsFor(extra);
  describe(`contract: every operation of the tables (${label})`, () => {
    let server: RunningServer;
    const docs = {} as Record<Listener, any>;
    const urls = {} as Record<Listener, string>;
    const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });

    before(async () => {
      server = await source();
      Object.assign(urls, { inference: server.inferenceUrl, management: server.managementUrl, metrics: server.metricsUrl });
      for (const l of ['inference', 'management', 'metrics'] as const) docs[l] = (await call(`${urls[l]}/`, { method: 'OPTIONS' })).body;
    });

    it('each listener serves a valid OpenAPI 3.0.1 document of exactly the routes it serves', async () => {
      for (const l of ['inference', 'management', 'metrics'] as const) {
        assert.equal(docs[l].openapi, '3.0.1', l);
        await SwaggerParser.validate(structuredClone(docs[l]));
        const served = new Set(servedRoutes(server.apps[l]));
        const described = new Set(documented(docs[l]));
        assert.deepEqual(
          [...served].filter((r) => !described.has(r)),
          [],
          `${l}: served, not in the table`,
        );
        assert.deepEqual(
          [...described].filter((r) => !served.has(r)),
          [],
          `${l}: in the table, not served`,
        );
      }
    });

    it('every operation in the tables is called here', () => {
      const ids = Object.values(docs).flatMap((doc) =>
        Object.values(doc.paths as Record<string, Record<string, { operationId: string }>>).flatMap((ops) => Object.values(ops).map((op) => op.operationId)),
      );
      assert.deepEqual(ids.filter((id) => !(id in CALLS)).sort(), [], 'operations without a call');
      assert.deepEqual(
        Object.keys(CALLS)
          .filter((id) => !ids.includes(id))
          .sort(),
        [],
        'calls to operations no table has',
      );
    });

    it('every answer has a status and a body the table promises for it', async () => {
      for (const [id, calls] of Object.entries(CALLS)) {
        for (const c of calls) {
          const what = `${id}: ${c.method} ${c.path}`;
          const op = operationFor(docs[c.listener], c.method, c.path);
          assert.ok(op, `${what}: no operation`);
          if (!c.setup) assert.equal(op.operationId, id, what);
          const init: RequestInit = { method: c.method, redirect: 'manual', ...(c.headers ? { headers: c.headers } : {}), ...(c.body !== undefined ? { body: c.body as BodyInit } : {}) };
          const r: Answer = await call(`${urls[c.listener]}${c.path}`, init);
          assert.equal(r.status, c.status, `${what}: ${JSON.stringify(r.body).slice(0, 300)}`);
          const promised = op.responses[String(r.status)];
          assert.ok(promised, `${what}: status ${r.status} is not in the table`);
          const type = (r.headers.get('content-type') ?? '').split(';')[0]!;
          if (type === 'application/json') {
            const schema = promised.content?.['application/json']?.schema;
            assert.ok(schema, `${what}: a JSON answer the table does not describe`);
            const valid = ajv.validate(schema, r.body);
            assert.ok(valid, `${what}: ${ajv.errorsText()} in ${JSON.stringify(r.body).slice(0, 300)}`);
          }
        }
      }
    });

    it("wrong methods answer 405 with Allow, and unknown paths 404, in each family's error shape", async () => {
      for (const l of ['inference', 'management', 'metrics'] as const) {
        for (const [p, ops] of Object.entries(docs[l].paths as Record<string, object>)) {
          const concrete = p.replace('{model_name}', model).replace('{model_version}', version).replace('{file}', 'x').replace('{name}', model).replace('{version}', version);
          const allowed = Object.keys(ops).map((x) => x.toUpperCase());
          const wrong = ['PATCH', 'DELETE', 'POST'].find((x) => !allowed.includes(x))!;
          const r = await call(`${urls[l]}${concrete}`, { method: wrong });
          assert.equal(r.status, 405, `${l} ${wrong} ${p}`);
          assert.deepEqual(r.headers.get('allow')?.split(', ').sort(), allowed.sort(), `${l} ${p}`);
          assert.deepEqual(r.body, /^\/v[12](\/|$)/.test(p) ? { error: r.body.error } : { code: 405, type: 'MethodNotAllowedException', message: r.body.message }, `${l} ${p}`);
        }
      }
      assert.deepEqual((await call(`${urls.inference}/v2/nothing`)).body, { error: 'Requested resource is not found, please refer to API document.' });
      assert.equal((await call(`${urls.management}/nothing`)).body.type, 'ResourceNotFoundException');
    });
  });
}

/** What the suite needs of the store: the repo's own models, with `extra` left to register. */
export const contractSettings = { load_models: `${model},${detector}` };
