// One image's answer, of whichever kind the model's handler gives: ranked classes, boxes, or a
// class map. The page reads the server's answer and its own run's the same way. Pure.

import type { HandlerName } from '../browser-runtime/protocol.js';
import { parseAnswer, type Ranked } from './answers.js';
import { type ClassMap, parseClassMap } from './class-map.js';
import { type Detection, parseDetections } from './detections.js';

export type ModelAnswer = { kind: 'ranked'; ranked: Ranked[] } | { kind: 'detections'; detections: Detection[] } | { kind: 'classMap'; map: ClassMap } | { kind: 'other'; text: string };

export type AnswerKind = ModelAnswer['kind'];

/** What a handler answers; a model with no handler named is an image classifier. */
export function answerKind(handler: HandlerName | undefined): AnswerKind {
  switch (handler ?? 'image_classifier') {
    case 'image_classifier':
      return 'ranked';
    case 'object_detector':
      return 'detections';
    case 'image_segmenter':
      return 'classMap';
    default:
      return 'other';
  }
}

/** The answer's JSON body read as `kind` says. */
export function readAnswer(kind: AnswerKind, body: unknown): ModelAnswer {
  switch (kind) {
    case 'ranked':
      return { kind, ranked: parseAnswer(body) };
    case 'detections':
      return { kind, detections: parseDetections(body) };
    case 'classMap':
      return { kind, map: parseClassMap(body) };
    default:
      return { kind: 'other', text: JSON.stringify(body, null, 1).slice(0, 2000) };
  }
}
