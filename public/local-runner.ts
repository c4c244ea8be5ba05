// Runs a model in the visitor's own browser with the runtime the gateway's pages use
// (browser-runtime/model-host.ts), on the model file and labels the server serves. The image
// is decoded by the browser and resized and cropped as the server's sharp pipeline does it.

import { ModelHost } from '../browser-runtime/model-host.js';
import type { BackendPreference, DemoModel, ModelRuntimeInfo } from '../browser-runtime/protocol.js';
import { resizeAndCrop, resizeGeometry } from '../browser-runtime/resize-crop.js';
import type { Ranked } from './answers.js';
import { fetchLabels } from './server-client.js';

export interface LocalAnswer {
  ranked: Ranked[];
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
    const loading = Promise.all([ModelHost.load({ ...model.load, backend, wasmThreads: wasmThreads() }), fetchLabels(model)]).then(([host, labels]) => ({ host, labels }));
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
    const size = model.load.normalisation.size;
    const pixels = resizeAndCrop(rgba, width, height, resizeGeometry(width, height, model.resize, size), size);
    lap('resize');
    const out = await host.infer(pixels, 1, labels.length || 1000);
    lap('infer');
    stages.set('run', out.runMs);
    const ranked: Ranked[] = Array.from(out.classes, (c, r) => ({ label: labels[c] ?? String(c), probability: out.probabilities[r]! }));
    return { ranked, runtime: host.info, loadedNow: fresh, stages };
  }
}
