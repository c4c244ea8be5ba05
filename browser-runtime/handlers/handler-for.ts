// The page's handler for a model, from its load request: the one place that knows every kind.

import type { OrtModule } from '../ort-loader.js';
import type { LoadRequest } from '../protocol.js';
import { ImageSegmenter } from './image-segmenter.js';
import { CustomHandler } from './custom-handler.js';
import { ObjectDetector } from './object-detector.js';
import type { PageHandler } from './page-handler.js';
import { TextClassifier } from './text-classifier.js';

/** null for the image classifier, which model-host.ts ranks itself; a model's own module loads first. */
export function handlerFor(ort: OrtModule, req: LoadRequest): PageHandler | null | Promise<PageHandler> {
  const spec = req.handler;
  if (!spec || spec.name === 'image_classifier') return null;
  if (spec.name === 'object_detector') {
    if (!spec.detector) throw new Error('an object_detector needs its detector settings');
    return new ObjectDetector(ort, req.inputName, req.outputName, req.normalisation, spec.detector, spec.labels);
  }
  if (spec.name === 'text_classifier') {
    if (!spec.text) throw new Error('a text_classifier needs its text settings');
    return new TextClassifier(ort, req.inputName, req.outputName, req.output, spec.text, spec.labels);
  }
  if (spec.name === 'image_segmenter') return new ImageSegmenter(ort, req.inputName, req.outputName, req.normalisation);
  if (spec.name === 'custom') {
    if (!spec.custom) throw new Error('a custom handler needs its module settings');
    return CustomHandler.load(ort, req, spec.custom, spec.labels);
  }
  throw new Error(`the ${spec.name} handler is not available in this page`);
}
