// A model whose config asks for TorchServe's preprocessing ("resampling": "pil"), through the
// real server and browser: its answer for the eagle is what the model gives on PIL's own crop
// (tests/fixtures/pil-reference, made by scripts/pil-reference), computed here with
// onnxruntime-node; the default sharp path is further off.

import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { normalise, tensorDims } from '../../../browser-runtime/normalise.js';
import { softmax } from '../../../browser-runtime/top-k.js';
import { ModelStore } from '../../../server/store/model-store.js';
import type { RunningServer } from '../../../server/server.js';
import { FIXTURES, MODELS, readImage } from '../../support/paths.js';
import { call } from '../../support/server-harness.js';
import type { ServerSource } from '../../support/shared-server.js';

// `pil` is MobileNetV2 fp32 with `"resampling": "pil"`; `mobilenet_v2` the same model on the
// default sharp path.
export const pilResamplingSuite = (shared: ServerSource) =>
  describe('preprocessing as TorchServe does it, with PIL', () => {
    let server: RunningServer;
    let reference: Map<string, number>;

    before(async () => {
      server = await shared();
      const model = (await ModelStore.open(MODELS, ['mobilenet_v2'])).resolve('mobilenet_v2');
      const pixels = await sharp(path.join(FIXTURES, 'pil-reference', 'bald_eagle.jpg.png'))
        .raw()
        .toBuffer();
      const n = model.config.normalisation;
      const session = await ort.InferenceSession.create(model.file, { executionProviders: ['cpu'], logSeverityLevel: 3 });
      const out = (await session.run({ [model.config.inputName]: new ort.Tensor('float32', normalise(pixels, 1, n), tensorDims(1, n)) }))[model.config.outputName]!;
      const p = softmax(Array.from(out.data as Float32Array));
      reference = new Map(Array.from(p, (x, i) => [model.labels[i]!, x] as const));
      await session.release();
    });

    const top5 = async (name: string): Promise<Array<{ class: string; probability: number }>> => {
      const r = await call(`${server.inferenceUrl}/predictions/${name}`, { method: 'POST', body: readImage('bald_eagle.jpg') });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body;
    };
    const worst = (answer: Array<{ class: string; probability: number }>) => Math.max(...answer.map((a) => Math.abs(a.probability - reference.get(a.class)!) / reference.get(a.class)!));

    it("answers within 0.1% of the model run on PIL's crop, where the sharp path is further off", async () => {
      const pil = await top5('pil');
      assert.ok(worst(pil) < 1e-3, `largest relative difference ${worst(pil)}`);
      const ranked = [...reference.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 5)
        .map(([c]) => c);
      assert.deepEqual(
        pil.map((a) => a.class),
        ranked,
        "PIL's top 5, in its order",
      );
      assert.ok(worst(await top5('mobilenet_v2')) > 0.02, 'the default path differs by more than 2% on this image');
    });
  });
