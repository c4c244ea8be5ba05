// Runs a model in the visitor's own browser with the runtime the gateway's pages use
// (browser-runtime/model-host.ts), on the model file and labels the server serves. The image
// is decoded by the browser and fitted to the model's input as the server's sharp pipeline does
// it (crop, letterbox or resize); a handler other than the classifier is handed the image with
// the numbers the gateway sends beside it, so that it answers what the server answers.

import { ModelHost } from '../browser-runtime/model-host.js';
import type { BackendPreference, DemoModel, ModelRuntimeInfo } from '../browser-runtime/protocol.js';
import { inputPixels, inputPlacement } from '../browser-runtime/resize-crop.js';
import type { Ranked } from './answers.js';
import { answerKind, type ModelAnswer, readAnswer } from './model-answer.js';
import { fetchLabels } from './server-client.js';

export interface LocalAnswer {
  answer: ModelAnswer;
  runtime: ModelRuntimeInfo;
  /** Set on the run that loaded the model. */
  loadedNow: boolean;
  stages: Map<string, number>;
}

interface Loaded {
  host: ModelHost;
  labels: string[];
}

// A decoded image this large would take hundreds of MB of page memory.
const MAX_PIXELS = 50_000_000;

/** WASM threads: what onnxruntime-web would pick, where the page may use threads at all. */
function wasmThreads(): number {
  if (!globalThis.crossOriginIsolated) return 1;
  return Math.min(4, Math.max(1, Math.ceil((navigator.hardwareConcurrency || 2) / 2)));
}

async function decode(image: Blob): Promise<{ rgba: Uint8ClampedArray; width: number; height: number }> {
  let bitmap: ImageBitmap;
  try {
    // As sharp reads it: EXIF orientation applied, no colour conversion, alpha not multiplied in.
    bitmap = await createImageBitmap(image, { imageOrientation: 'from-image', colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch {
    throw new Error('this browser cannot decode the file as an image');
  }
  try {
    const { width, height } = bitmap;
    if (width * height > MAX_PIXELS) throw new Error(`the image is ${width}x${height}, more than ${MAX_PIXELS / 1e6} million pixels`);
    const canvas = new OffscreenCanvas(width, height);
    const context = canvas.getContext('2d', { willReadFrequently: true });
    if (!context) throw new Error('no 2D canvas in this browser');
    context.drawImage(bitmap, 0, 0);
    return { rgba: context.getImageData(0, 0, width, height).data, width, height };
  } finally {
    bitmap.close();
  }
}

export class LocalRunner {
  // One host per model version and backend; a failed load is forgotten so it can be retried.
  private readonly loaded = new Map<string, Promise<Loaded>>();

  private load(model: DemoModel, backend: BackendPreference): { loading: Promise<Loaded>; fresh: boolean } {
    const key = `${model.modelName}/${model.modelVersion}/${backend}`;
    const known = this.loaded.get(key);
    if (known) return { loading: known, fresh: false };
    // A handler's page writes labelled answers itself: only a classifier's ranks need the labels.
    const labels = model.load.handler && model.load.handler.name !== 'image_classifier' ? Promise.resolve([]) : fetchLabels(model);
    const loading = Promise.all([ModelHost.load({ ...model.load, backend, wasmThreads: wasmThreads() }), labels]).then(([host, labels]) => ({ host, labels }));
    loading.catch(() => this.loaded.delete(key));
    this.loaded.set(key, loading);
    return { loading, fresh: true };
  }

  async run(model: DemoModel, backend: BackendPreference, image: Blob): Promise<LocalAnswer> {
    const stages = new Map<string, number>();
    let t = performance.now();
    const lap = (name: string) => {
      const now = performance.now();
      stages.set(name, now - t);
      t = now;
    };
    const { loading, fresh } = this.load(model, backend);
    const { host, labels } = await loading;
    if (fresh) lap('load');
    else t = performance.now();
    const { rgba, width, height } = await decode(image);
    lap('image');
    const fit = { fit: model.fit, size: model.load.normalisation.size, resize: model.resize, fill: model.fill, align: model.align };
    const pixels = inputPixels(rgba, width, height, fit);
    lap(model.fit === 'letterbox' ? 'letterbox' : 'resize');
    const kind = answerKind(model.load.handler?.name);
    let answer: ModelAnswer;
    if (kind === 'ranked') {
      const out = await host.infer(pixels, 1, labels.length || 1000);
      lap('infer');
      stages.set('run', out.runMs);
      answer = { kind, ranked: Array.from(out.classes, (c, r): Ranked => ({ label: labels[c] ?? String(c), probability: out.probabilities[r]! })) };
    } else {
      // The numbers the gateway sends with each image (image-pipeline.ts): where the input came from.
      const p = inputPlacement(width, height, fit.fit, fit.size, fit.resize, fit.align);
      const out = await host.handle([pixels], { width: 6, values: Float32Array.of(p.width, p.height, p.scaleX, p.scaleY, p.left, p.top) });
      lap('handle');
      stages.set('run', out.runMs);
      answer = readAnswer(kind, JSON.parse(out.answers[0] ?? 'null'));
    }
    return { answer, runtime: host.info, loadedNow: fresh, stages };
  }
}
