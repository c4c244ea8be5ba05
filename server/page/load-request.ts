// What a page is told to load for a model version: the model's own config plus the choices of
// whoever runs it (the gateway's pages, or the demo page in a visitor's browser). Pure.

import type { BackendPreference, LoadRequest, OrtBuild, TextSpec, WebgpuBuild } from '../../browser-runtime/protocol.js';
import type { ModelVersion } from '../store/model-store.js';
import { PROBE_TEXT } from '../text/text-tokenizer.js';

export interface RuntimeChoices {
  /** Where the page fetches the .onnx file from (same origin as the page). */
  modelUrl: string;
  backend: BackendPreference;
  /** The WebGPU build, for a page that may use WebGPU; a page asked for WASM loads the WASM build. */
  ortBuild: WebgpuBuild;
  wasmThreads: number;
  /** The page times a single-image run at load, for the gateway's choice of its threads. */
  timeSingleRun?: boolean;
  parityTolerance: number;
  maxBatch: number;
  /** On WebGPU, an image classifier's pixels are normalised on the GPU. */
  gpuPreprocess?: boolean;
  /** On WebGPU, an image classifier runs captured sessions, one per batch size. */
  graphCapture?: boolean;
}

export function loadRequestFor(model: ModelVersion, choices: RuntimeChoices): LoadRequest {
  return {
    model: model.name,
    version: model.version,
    inputName: model.config.inputName,
    outputName: model.config.outputName,
    normalisation: model.config.normalisation,
    output: model.config.output,
    ...choices,
    ortBuild: buildFor(choices.backend, choices.ortBuild),
    // A classifier's page ranks and the gateway labels; other handlers' pages write the answer.
    ...(model.config.handler === 'image_classifier'
      ? {}
      : {
          handler: {
            name: model.config.handler,
            labels: model.labels,
            ...(model.config.detector ? { detector: model.config.detector } : {}),
            ...textSpec(model),
            ...customSpec(model, choices.modelUrl),
          },
        }),
  };
}

/** A model's own handler.js is served beside its model file (server/page/runtime-assets.ts). */
const customSpec = (model: ModelVersion, modelUrl: string) =>
  model.config.handler === 'custom' ? { custom: { url: modelUrl.replace(/model\.onnx$/, 'handler.js'), input: model.config.handlerInput ?? 'image' } } : {};

/** A page that will never run WebGPU needs none of a WebGPU build's code. */
export const buildFor = (backend: BackendPreference, webgpu: WebgpuBuild): OrtBuild => (backend === 'wasm' ? 'wasm' : webgpu);

/** A text classifier's inputs, its padding token and its probe text's tokens (server/text/). */
function textSpec(model: ModelVersion): { text?: TextSpec } {
  const { text } = model.config;
  if (!text || !model.tokenizer) return {};
  return { text: { attentionMask: text.attentionMask, tokenTypeIds: text.tokenTypeIds, padId: model.tokenizer.padId, probe: model.tokenizer.encode(PROBE_TEXT) } };
}
