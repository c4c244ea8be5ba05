// The input of a handler that takes images: the gateway's uint8 HWC RGB squares, normalised as
// the model's config says (normalise.ts), padded to the batch the session runs.

import type * as Ort from 'onnxruntime-web';
import { normalise, tensorDims } from '../normalise.js';
import type { OrtModule } from '../ort-loader.js';
import type { Normalisation } from '../protocol.js';

export function imageInputs(ort: OrtModule, inputName: string, n: Normalisation, items: readonly Uint8Array[], ranBatch: number): Record<string, Ort.Tensor> {
  const size = n.size * n.size * 3;
  const pixels = new Uint8Array(size * ranBatch);
  items.forEach((item, i) => {
    if (item.length !== size) throw new RangeError(`an image of ${item.length} bytes is not ${n.size}x${n.size}x3`);
    pixels.set(item, i * size);
  });
  return { [inputName]: new ort.Tensor('float32', normalise(pixels, ranBatch, n), tensorDims(ranBatch, n)) };
}
