// The kitten as a Triton client sends it (FP32 NCHW, ImageNet mean and std), and the model's raw
// output for a tensor through POST /v2/.../infer: the reference the gRPC tests compare against.

import { normalise } from '../../browser-runtime/normalise.js';
import { ModelStore } from '../../server/store/model-store.js';
import { preprocess, UNGATED } from '../../server/image/preprocess.js';
import { MODELS, readImage } from './paths.js';

export async function kittenTensor(): Promise<Float32Array> {
  const config = (await ModelStore.open(MODELS)).resolve('mobilenet_v2').config;
  const pixels = await preprocess(readImage('kitten.jpg'), { resize: 256, crop: 224, maxPixels: 1e8, maxJpegScans: 100 }, UNGATED);
  return normalise(pixels, 1, config.normalisation);
}

export const bytesOf = (t: Float32Array): Buffer => Buffer.from(t.buffer, t.byteOffset, t.byteLength);

/**
 * The output of `model` for one [1, 3, 224, 224] tensor, from the HTTP v2 infer with the binary
 * tensor data extension (its JSON form would pass a small max_request_size).
 */
export async function v2Output(inferenceUrl: string, model: string, tensor: Float32Array, key?: string): Promise<number[]> {
  const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'input', shape: [1, 3, 224, 224], datatype: 'FP32', parameters: { binary_data_size: tensor.byteLength } }] }));
  const res = await fetch(`${inferenceUrl}/v2/models/${model}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length), ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: Buffer.concat([header, bytesOf(tensor)]),
  });
  if (res.status !== 200) throw new Error(`POST /v2/models/${model}/infer answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { outputs: Array<{ data: number[] }> }).outputs[0]!.data;
}
