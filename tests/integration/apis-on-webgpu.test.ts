// The WebGPU path for real: forced with each model's `"backend": "webgpu"` (on a machine without
// a GPU this is SwiftShader, the CPU standing in for a GPU), checked against onnxruntime-node (native CPU code)
// on the same pixels. A file of its own, beside the shared WASM server's: SwiftShader makes it
// the longest, and alone it runs beside the rest.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningServer } from '../../server/server.js';
import { sendWhileHeld } from '../support/held-requests.js';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { softmax } from '../../browser-runtime/top-k.js';
import { kittenTensor } from '../support/kitten-tensor.js';
import { assertSameDetections, DETECTIONS, type Detection, LABELS, MODELS, readImage } from '../support/paths.js';
import { call, postImage, startTestServer } from '../support/server-harness.js';
import { tempStore } from '../support/temp-store.js';

const kitten = readImage('kitten.jpg');
type Classes = Array<{ class: string; probability: number }>;

describe('inference on forced WebGPU (the served onnxruntime-web build)', () => {
  const store = tempStore([
    // SwiftShader is slow on the fp32 model (BENCHMARKS.md): one batch size there. The int8 model
    // (quantized nodes on the CPU) is quick enough to exercise batching and padding on WebGPU.
    // Its pixels normalised on the GPU (gpu_preprocess) and its runs replayed (graph_capture):
    // checked against onnxruntime-node below.
    { name: 'mobilenet_v2', from: 'mobilenet_v2', config: { backend: 'webgpu', batch_size: 1, gpu_preprocess: true, graph_capture: true } },
    // Its quantized nodes on the CPU: onnxruntime cannot capture it, so it runs uncaptured.
    { name: 'mobilenet_v2_int8', from: 'mobilenet_v2_int8', config: { backend: 'webgpu', batch_size: 3, graph_capture: true } },
    { name: 'yolox_nano', from: 'yolox_nano', config: { backend: 'webgpu' } },
    // The null model's answer follows each channel's mean: normalised on the GPU, or captured
    // (graph_capture), batched, it must agree image for image with the same model on WASM,
    // normalised in JavaScript (a channel, layout or slot mixed up would not, nor a replay that
    // read the run before's input). On WASM, the reference costs the suite no SwiftShader load.
    { name: 'nil', from: 'null_model', config: { batch_size: 3, backend: 'wasm' } },
    { name: 'nil_gpu', from: 'null_model', config: { backend: 'webgpu', batch_size: 3, gpu_preprocess: true } },
    // (The fp32 model above runs both at once.)
    { name: 'nil_captured', from: 'null_model', config: { backend: 'webgpu', batch_size: 3, graph_capture: true } },
  ]);
  let gpu: RunningServer;

  before(async () => {
    // Every model's WebGPU work goes through Chromium's one GPU process, here SwiftShader on the
    // CPU: loaded together beside the other test files, a load took up to 106 s on this 2-core
    // machine, close to the 120 s a load gets by default. Ten times that, so that no verdict
    // rests on the machine's speed.
    gpu = await startTestServer({ model_store: store.root, default_response_timeout: '1200' });
  });
  after(async () => {
    await gpu?.close();
    store.remove();
  });

  it('both models run on WebGPU, and the description names the adapter and the parity check', async () => {
    assert.equal((await call(`${gpu.inferenceUrl}/ping`)).status, 200);
    for (const model of ['mobilenet_v2', 'mobilenet_v2_int8']) {
      const [d] = (await call(`${gpu.managementUrl}/models/${model}`)).body;
      assert.equal(d.backend, 'webgpu', `${model}: ${d.fallbackReason}`);
      assert.equal(d.fallbackReason, null);
      assert.equal(typeof d.adapter.isFallbackAdapter, 'boolean');
      assert.ok(d.adapter.vendor || d.adapter.architecture, 'the adapter is named');
      assert.equal(d.parity.passed, true);
      assert.ok(d.parity.relativeDiff <= d.parity.tolerance);
      assert.equal(d.wasmThreads, 1, 'asked for WebGPU: its WASM session only checks the model, on one thread');
      assert.equal(d.gpuPreprocess, model === 'mobilenet_v2', 'as its config says');
      // Both asked for it; only the fp32 model can be captured.
      assert.equal(d.graphCapture, model === 'mobilenet_v2');
    }
  });

  it('the object detector runs on WebGPU and finds what onnxruntime-node finds, boxes within 2 pixels', async () => {
    const [d] = (await call(`${gpu.managementUrl}/models/yolox_nano`)).body;
    assert.equal(d.backend, 'webgpu', d.fallbackReason);
    assert.equal(d.parity.passed, true);
    const res = await postImage(`${gpu.inferenceUrl}/predictions/yolox_nano`, readImage('dog_malamute.jpg'));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assertSameDetections(res.body as Detection[], DETECTIONS['dog_malamute.jpg']!, 2, 'dog on WebGPU');
  });

  it('the kitten on WebGPU matches onnxruntime-node within 1e-3 on all 1000 probabilities', async () => {
    const onGpu = (await postImage(`${gpu.inferenceUrl}/predictions/mobilenet_v2?topk=1000`, kitten)).body as Classes;
    const session = await ort.InferenceSession.create(path.join(MODELS, 'mobilenet_v2', '1.0', 'model.onnx'));
    const logits = (await session.run({ input: new ort.Tensor('float32', await kittenTensor(), [1, 3, 224, 224]) }))['output']!.data as Float32Array;
    await session.release();
    assert.equal(onGpu[0]!.class, 'n02123045 tabby, tabby cat');
    const cpuByClass = new Map(Array.from(softmax(logits), (p, i) => [LABELS[i]!, p] as const));
    assert.equal(cpuByClass.size, 1000);
    let worst = 0;
    for (const a of onGpu) worst = Math.max(worst, Math.abs(a.probability - cpuByClass.get(a.class)!));
    assert.ok(worst < 1e-3, `max |webgpu - onnxruntime-node| = ${worst}`);
  });

  it('the int8 model answers correctly on WebGPU in this build, alone and batched', async () => {
    const [d] = (await call(`${gpu.managementUrl}/models/mobilenet_v2_int8`)).body;
    assert.deepEqual(d.batchSizes, [1, 2, 3], 'WebGPU warms powers of two and the largest size');
    const answer = (await postImage(`${gpu.inferenceUrl}/predictions/mobilenet_v2_int8`, kitten)).body as Classes;
    assert.equal(answer[0]!.class, 'n02123045 tabby, tabby cat');
    const together = await sendWhileHeld(gpu.managementUrl, 'mobilenet_v2_int8', 5, () => postImage(`${gpu.inferenceUrl}/predictions/mobilenet_v2_int8`, kitten));
    for (const t of together) {
      assert.equal(t.status, 200);
      assert.deepEqual(
        (t.body as Classes).map((c) => c.class),
        answer.map((c) => c.class),
      );
      assert.ok(Math.abs((t.body as Classes)[0]!.probability - answer[0]!.probability) < 1e-5);
    }
    assert.ok(
      together.some((t) => Number(t.headers.get('x-batch-size')) > 1),
      'some ran batched',
    );
  });

  for (const model of ['nil_gpu', 'nil_captured']) {
    it(`${model}: the answers of the model on WASM, normalised in JavaScript, alone and batched`, async () => {
      const [d] = (await call(`${gpu.managementUrl}/models/${model}`)).body;
      assert.deepEqual([d.backend, d.gpuPreprocess, d.graphCapture, d.parity.passed], ['webgpu', model.includes('gpu'), model.includes('captured'), true], d.fallbackReason);
      assert.deepEqual(d.batchSizes, [1, 2, 3]);
      const images = ['kitten.jpg', 'dog_malamute.jpg', 'bald_eagle.jpg'].map(readImage);
      const alone: Classes[] = [];
      for (const image of images) {
        const [js, other] = await Promise.all(['nil', model].map((m) => postImage(`${gpu.inferenceUrl}/predictions/${m}?topk=1000`, image)));
        assert.equal(other!.status, 200, JSON.stringify(other!.body));
        assertSameClasses(other!.body as Classes, js!.body as Classes, 1e-5);
        alone.push(js!.body as Classes);
      }
      assert.notDeepEqual(alone[0]!.slice(0, 5), alone[1]!.slice(0, 5), 'the images differ in what the model sees');
      let next = 0;
      const together = await sendWhileHeld(gpu.managementUrl, model, 6, () => postImage(`${gpu.inferenceUrl}/predictions/${model}?topk=1000`, images[next++ % 3]!));
      together.forEach((t, i) => assertSameClasses(t.body as Classes, alone[i % 3]!, 1e-5));
      assert.ok(
        together.some((t) => Number(t.headers.get('x-batch-size')) > 1),
        'some ran batched',
      );
    });
  }
});

/** Every class's probability within `tolerance` of the other answer's. */
function assertSameClasses(got: Classes, want: Classes, tolerance: number): void {
  const byClass = new Map(want.map((c) => [c.class, c.probability] as const));
  assert.equal(got.length, want.length);
  let worst = 0;
  for (const c of got) worst = Math.max(worst, Math.abs(c.probability - byClass.get(c.class)!));
  assert.ok(worst < tolerance, `max |difference| ${worst}`);
}
