// One model of the native peer: its config.json read with the server's own parser, so that the
// peer decodes, cuts and normalises exactly as the server does; an onnxruntime-node CPU session;
// and one image's answer: decode, normalise, one session.run, softmax, top k, the same JSON text.

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { normalise, tensorDims } from '../../browser-runtime/normalise.js';
import { softmax, topK } from '../../browser-runtime/top-k.js';
import { SETTINGS } from '../../server/config/settings.js';
import { preprocess, UNGATED } from '../../server/image/preprocess.js';
import { imageOptions } from '../../server/pipeline/image-pipeline.js';
import type { InferenceGuards } from '../../server/pipeline/inference-core.js';
import { formatRanked } from '../../server/pipeline/postprocess.js';
import { parseModelConfig, type ModelConfig } from '../../server/store/model-config.js';
import type { ModelVersion } from '../../server/store/model-store.js';

/** The server's default bounds on an image, so that the peer refuses what the server would. */
const GUARDS = { maxImagePixels: Number(SETTINGS.max_image_pixels.default), maxJpegScans: Number(SETTINGS.max_jpeg_scans.default) } as InferenceGuards;

export interface PeerModel {
  name: string;
  /** The JSON text of the answer to one image. */
  answer(image: Uint8Array): Promise<string>;
  release(): Promise<void>;
}

/** The version config.json names as default, else the only (or highest-named) version folder. */
function versionFolder(dir: string, config: ModelConfig): string {
  if (config.defaultVersion) return config.defaultVersion;
  const versions = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const last = versions[versions.length - 1];
  if (!last) throw new Error(`${dir} has no version folder`);
  return last;
}

export async function loadPeerModel(dir: string, threads: number): Promise<PeerModel> {
  const config = parseModelConfig(JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')));
  if (config.handler !== 'image_classifier') throw new Error(`${dir}: the peer serves image classifiers only; this one's handler is ${config.handler}`);
  const labels = config.labels
    ? readFileSync(path.join(dir, config.labels), 'utf8')
        .split(/\r?\n/)
        .filter((l) => l.trim().length > 0)
    : [];
  const session = await ort.InferenceSession.create(path.join(dir, versionFolder(dir, config), 'model.onnx'), {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    // One graph per request: inter-op threads would only compete with intra-op ones (as in native.ts).
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  });
  const options = imageOptions({ config } as ModelVersion, GUARDS);
  const n = config.normalisation;
  return {
    name: path.basename(path.resolve(dir)),
    async answer(image) {
      const pixels = await preprocess(image, options, UNGATED);
      const input = new ort.Tensor('float32', normalise(pixels, 1, n), tensorDims(1, n));
      const out = (await session.run({ [config.inputName]: input }))[config.outputName];
      if (!out) throw new Error(`the model has no output "${config.outputName}"`);
      const scores = out.data as Float32Array;
      const probabilities = config.output === 'logits' ? softmax(scores) : scores;
      const top = topK(probabilities, config.topk);
      // Float32 as the page hands them to the gateway, so that the JSON text is the same.
      return formatRanked(
        top,
        Float32Array.from(top, (i) => probabilities[i]!),
        labels,
        config.outputFormat,
      );
    },
    release: () => session.release(),
  };
}
