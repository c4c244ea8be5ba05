// The input a model runs at load: first on WASM (its output the parity reference), then on
// WebGPU to compare, then at the batch sizes warmed up. An image through the config's single
// input for image models; for a handler whose model takes something else (token ids), the
// handler's own probe item through its own inputs.

import type { PageHandler } from './handlers/page-handler.js';
import type { ModelRunner } from './model-runner.js';
import { parityImage } from './parity.js';
import type { LoadRequest } from './protocol.js';

export interface LoadProbe {
  /** The probe `batch` times over in one run; the config's output, padding rows dropped. */
  run(runner: ModelRunner, batch: number): Promise<Float32Array>;
}

export function probeFor(handler: PageHandler | null, req: LoadRequest): LoadProbe {
  const item = handler?.probeItem?.();
  if (handler && item) {
    return {
      async run(runner, batch) {
        const feeds = await handler.inputs(
          Array.from({ length: batch }, () => item),
          batch,
          { width: 0, values: new Float32Array(0) },
        );
        const { outputs, release } = await runner.runFeeds(feeds);
        try {
          const out = outputs[req.outputName];
          if (!out) throw new Error(`the model has no output named "${req.outputName}"`);
          return Float32Array.from((out.gpu ? await out.gpu.read() : out.data) as ArrayLike<number>, Number);
        } finally {
          release();
        }
      },
    };
  }
  const image = parityImage(req.normalisation.size);
  // A model's own handler that takes bytes may serve a model whose input is not an image.
  const hint =
    req.handler?.name === 'custom'
      ? ` (the load runs an image through "${req.inputName}" to check the model: export "example" from handler.js, a request body its preprocess takes, for a model that takes something else)`
      : '';
  return {
    async run(runner, batch) {
      const pixels = new Uint8Array(image.length * batch);
      for (let i = 0; i < batch; i++) pixels.set(image, i * image.length);
      try {
        return (await runner.run(pixels, batch)).data;
      } catch (e) {
        if (!hint) throw e;
        throw new Error(`${e instanceof Error ? e.message : String(e)}${hint}`);
      }
    },
  };
}
