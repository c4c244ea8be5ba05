// The suites that agree on their server-wide settings, against one real server (WASM, a queue of
// six a model): each suite names the models of the store below it uses, and leaves the server as
// it found it. Suites that need settings of their own, a spawned process or a browser to break
// keep files and servers of their own.

import { after } from 'node:test';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { MODELS } from '../support/paths.js';
import { startTestServer } from '../support/server-harness.js';
import { startOnce } from '../support/shared-server.js';
import { tempStore } from '../support/temp-store.js';
import { batchingSuite } from './apis-on-one-server/batching.js';
import { contractOnChromium } from './apis-on-one-server/contract.js';
import { inferenceWasmSuite } from './apis-on-one-server/inference-wasm.js';
import { kserveV1Suite } from './apis-on-one-server/kserve-v1.js';
import { kserveV2Suite } from './apis-on-one-server/kserve-v2.js';
import { objectDetectorSuite } from './apis-on-one-server/object-detector.js';
import { operatorMetricsSuite } from './apis-on-one-server/operator-metrics.js';
import { pilResamplingSuite } from './apis-on-one-server/pil-resampling.js';
import { soakSuite } from './apis-on-one-server/soak.js';
import { torchserveMetricsSuite } from './apis-on-one-server/torchserve-metrics.js';

const shipped = JSON.parse(readFileSync(path.join(MODELS, 'mobilenet_v2', 'config.json'), 'utf8'));
const store = tempStore([
  // The two models as the repo ships them.
  { name: 'mobilenet_v2', from: 'mobilenet_v2' },
  { name: 'mobilenet_v2_int8', from: 'mobilenet_v2_int8' },
  // A request alone waits as long as a model may for company, so two sent together always meet
  // however slowly the second is decoded (KServe v1 and v2).
  { name: 'pair', from: 'mobilenet_v2', config: { batch_size: 2, max_batch_delay: 10_000 } },
  // TorchServe's own preprocessing.
  { name: 'pil', from: 'mobilenet_v2', config: { batch_size: 1, preprocessing: { ...shipped.preprocessing, resampling: 'pil' } } },
  // In the store, not loaded: the contract suite registers it and takes it away again (its answers
  // are checked against the tables, not for a class: the null model).
  { name: 'spare', from: 'null_model', config: { batch_size: 1 } },
  // The object detector as the repo ships it.
  { name: 'yolox_nano', from: 'yolox_nano' },
  // Its own WASM threads, under the server's (one a core).
  { name: 'one_thread', from: 'null_model', config: { batch_size: 1, wasm_threads: 1 } },
  // No threads of its own: its runs are short, so its page is loaded again on one.
  { name: 'short_runs', from: 'null_model', config: { batch_size: 1 } },
]);
const server = startOnce(() =>
  startTestServer({
    model_store: store.root,
    load_models: 'mobilenet_v2,mobilenet_v2_int8,pair,pil,yolox_nano,one_thread,short_runs',
    backend: 'wasm',
    job_queue_size: '6',
    max_batch_decode_wait: '2000',
  }),
);
after(async () => {
  await server.close();
  store.remove();
});

inferenceWasmSuite(server.get);
pilResamplingSuite(server.get);
kserveV1Suite(server.get);
objectDetectorSuite(server.get);
kserveV2Suite(server.get);
batchingSuite(server.get);
torchserveMetricsSuite(server.get);
operatorMetricsSuite(server.get);
contractOnChromium(server.get);
// Last: its flood mixes hostile requests in.
soakSuite(server.get);
