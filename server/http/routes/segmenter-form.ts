// Which form of an image segmenter's answer /predictions sends, from the request's Accept header
// and the model's "answer" (config.json): TorchServe's JSON, or the class map as a PNG. A client
// that accepts both (no Accept, */*) gets the model's choice. Other handlers answer JSON whatever
// the Accept header says, as TorchServe does.

import type { Request } from 'express';
import { ApiError } from '../../errors.js';
import type { ModelVersion } from '../../store/model-store.js';

export type SegmenterForm = 'json' | 'png';

const MEDIA: Record<SegmenterForm, string> = { json: 'application/json', png: 'image/png' };

/** null for a model that is not an image segmenter; a 406 where the client accepts neither form. */
export function segmenterForm(req: Request, model: ModelVersion): SegmenterForm | null {
  if (model.config.handler !== 'image_segmenter') return null;
  const order: SegmenterForm[] = model.config.answer === 'png' ? ['png', 'json'] : ['json', 'png'];
  const chosen = req.accepts(order.map((f) => MEDIA[f]));
  if (!chosen) throw new ApiError(406, 'NotAcceptableException', `An image segmenter answers application/json or image/png; the request accepts neither (Accept: ${req.headers.accept}).`);
  return chosen === MEDIA.png ? 'png' : 'json';
}
