// What a page is told to load for a model version: the model's own config plus the choices of
// whoever runs it (the gateway's pages, or the demo page in a visitor's browser). Pure.

import type { BackendPreference, LoadRequest, OrtBuild } from '../../browser-runtime/protocol.js';
import type { ModelVersion } from '../store/model-store.js';

export interface RuntimeChoices {
  /** Where the page fetches the .onnx file from (same origin as the page). */
  modelUrl: string;
  backend: BackendPreference;
  ortBuild: OrtBuild;
  wasmThreads: number;
  parityTolerance: number;
  maxBatch: number;
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
  };
}
