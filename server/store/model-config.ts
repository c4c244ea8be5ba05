// A model's config.json, parsed and checked. Pure: tested without a model store on disk.

import type { BackendPreference, CustomHandlerInput, DetectorSpec, HandlerName, Normalisation } from '../../browser-runtime/protocol.js';
import type { Fit } from '../../browser-runtime/resize-crop.js';
import { describeRange, inRange, RANGES, type Range } from '../config/limits.js';
import { isJsonObject } from '../ops/json-object.js';

export type OutputFormat = 'classes' | 'torchserve';

export type SegmenterAnswer = 'json' | 'png';

/** How images are resized and cropped: sharp's own way, or the way TorchServe's PIL does it. */
export type Resampling = 'sharp' | 'pil';

export interface ModelConfig {
  /** TorchServe's handler name: what the model's requests and answers are. */
  handler: HandlerName;
  /** A custom handler's items: the decoded image, or the request's bytes; null for the others. */
  handlerInput: CustomHandlerInput | null;
  description: string;
  defaultVersion: string | null;
  labels: string | null;
  inputName: string;
  outputName: string;
  /** Whether the model's output still needs a softmax. */
  output: 'logits' | 'probabilities';
  /** Shorter side after the resize, before the centre crop. */
  resize: number;
  resampling: Resampling;
  /** How the image fits the square input; the letterbox's grey and where the image sits in it. */
  fit: Fit;
  fill: number;
  align: 'top-left' | 'centre';
  normalisation: Normalisation;
  /** What an image segmenter answers a client that accepts either: TorchServe's JSON, or a PNG class map. */
  answer: SegmenterAnswer;
  /** How an object detector's output is read; null for other handlers. */
  detector: DetectorSpec | null;
  /** A text classifier's tokenizer.json (a file in the model's folder); null for other handlers. */
  tokenizer: string | null;
  /** A text classifier's bounds and inputs; null for other handlers. */
  text: TextSettings | null;
  backend: BackendPreference | null;
  outputFormat: OutputFormat;
  topk: number;
  /** null where the config leaves it to the server's defaults. */
  batchSize: number | null;
  maxBatchDelayMs: number | null;
  workers: number | null;
  /**
   * WASM threads for this model's pages, overriding the server's wasm_threads: a model that does
   * little per run is cheaper on one (no thread pool spinning between runs; BENCHMARKS.md).
   */
  wasmThreads: number | null;
  /** On WebGPU, normalise the image on the GPU (browser-runtime/gpu-normalise.ts), overriding the server's gpu_preprocess. */
  gpuPreprocess: boolean | null;
  /** On WebGPU, run captured sessions (browser-runtime/graph-capture.ts), overriding the server's graph_capture. */
  graphCapture: boolean | null;
  /** Seconds a prediction may take, overriding the server's default_response_timeout. */
  responseTimeout: number | null;
  /** Seconds a worker page has to load the model (TorchServe's startup_timeout); null: the server's load deadline. */
  startupTimeout: number | null;
}

/** How a text classifier's texts are bounded and fed. */
export interface TextSettings {
  /** Tokens at most, special tokens included: longer texts are truncated, as Hugging Face's tokenizers truncate. */
  maxLength: number;
  /** UTF-8 bytes a text may have; longer ones are refused (400) before they are tokenised. */
  maxBytes: number;
  /** The model's attention mask input, or null where it takes none. */
  attentionMask: string | null;
  /** The model's token type ids input, or null where it takes none. */
  tokenTypeIds: string | null;
}

export class ModelConfigError extends Error {}

type Json = Record<string, unknown>;

function field<T>(obj: Json, key: string, check: (v: unknown) => v is T, what: string, fallback?: T): T {
  const v = obj[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (!check(v)) throw new ModelConfigError(`"${key}" must be ${what}${typeof v === 'number' ? `; got ${v}` : ''}`);
  return v;
}

/** A number within `r`, the same bounds the Management API holds its parameters to. */
const bounded = (obj: Json, key: string, r: Range, fallback?: number): number => field(obj, key, (v): v is number => inRange(v, r), describeRange(r), fallback);

const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isTriple = (v: unknown): v is [number, number, number] => Array.isArray(v) && v.length === 3 && v.every(isNumber);
const isPositiveTriple = (v: unknown): v is [number, number, number] => isTriple(v) && v.every((x) => x > 0);
const isOneOf =
  <T extends string>(...allowed: T[]) =>
  (v: unknown): v is T =>
    typeof v === 'string' && (allowed as string[]).includes(v);

export function parseModelConfig(json: unknown): ModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ModelConfigError('config.json must hold an object');
  const c = json as Json;
  const pre = field<Json>(c, 'preprocessing', (v): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v), 'an object', {});
  // `size` says the input's side where nothing is cropped (a letterbox, a plain resize).
  const crop = bounded(pre, pre['size'] !== undefined ? 'size' : 'crop', RANGES.imageSide, 224);
  const resize = bounded(pre, 'resize', RANGES.imageSide, Math.min(RANGES.imageSide.max, Math.round((crop * 256) / 224)));
  if (resize < crop) throw new ModelConfigError(`"resize" (${resize}) must be at least "crop" (${crop})`);
  const handler: HandlerName =
    c['handler'] === CUSTOM_HANDLER_FILE
      ? 'custom'
      : field(c, 'handler', isOneOf<HandlerName>(...HANDLERS), `one of ${HANDLERS.map((h) => `"${h}"`).join(', ')}, or "${CUSTOM_HANDLER_FILE}" (the model's own)`, 'image_classifier');
  if (handler !== 'custom' && c['handler_input'] !== undefined) throw new ModelConfigError(`"handler_input" is for a model's own handler ("handler": "${CUSTOM_HANDLER_FILE}")`);
  const fit = field(pre, 'fit', isOneOf<Fit>('crop', 'letterbox', 'resize'), '"crop", "letterbox" or "resize"', handler === 'object_detector' ? 'letterbox' : 'crop');
  const resampling = field(pre, 'resampling', isOneOf('sharp', 'pil'), '"sharp" or "pil"', 'sharp');
  if (fit === 'letterbox' && resampling === 'pil') throw new ModelConfigError('"resampling": "pil" resizes as torchvision crops; it cannot be used with "fit": "letterbox"');
  return {
    handler,
    handlerInput: handler === 'custom' ? field(c, 'handler_input', isOneOf<CustomHandlerInput>('image', 'bytes'), '"image" or "bytes"', 'image') : null,
    description: field(c, 'description', (v): v is string => typeof v === 'string', 'a string', ''),
    defaultVersion: c['default_version'] === undefined ? null : field(c, 'default_version', isString, 'a version string'),
    labels: c['labels'] === undefined ? null : field(c, 'labels', isString, 'a file name'),
    inputName: field(c, 'input_name', isString, 'the model input name'),
    outputName: field(c, 'output_name', isString, 'the model output name'),
    output: field(c, 'output', isOneOf('logits', 'probabilities'), '"logits" or "probabilities"', 'logits'),
    resize,
    resampling,
    fit,
    fill: field(pre, 'fill', (v): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 255, 'an integer from 0 to 255', 114),
    align: field(pre, 'align', isOneOf('top-left', 'centre'), '"top-left" or "centre"', 'top-left'),
    normalisation: {
      size: crop,
      channelOrder: field(pre, 'channel_order', isOneOf('RGB', 'BGR'), '"RGB" or "BGR"', 'RGB'),
      layout: field(pre, 'layout', isOneOf('NCHW', 'NHWC'), '"NCHW" or "NHWC"', 'NCHW'),
      scale: field(pre, 'scale', isNumber, 'a number', 1 / 255),
      mean: field(pre, 'mean', isTriple, 'three numbers', [0, 0, 0]),
      std: field(pre, 'std', isPositiveTriple, 'three positive numbers', [1, 1, 1]),
    },
    answer: field(c, 'answer', isOneOf<SegmenterAnswer>('json', 'png'), '"json" or "png"', 'json'),
    detector: handler === 'object_detector' ? parseDetector(field<Json>(c, 'detector', isJsonObject, 'an object', {})) : null,
    tokenizer: handler === 'text_classifier' ? field(c, 'tokenizer', isString, 'the tokenizer.json file of a text_classifier') : null,
    text: handler === 'text_classifier' ? parseText(field<Json>(c, 'text', isJsonObject, 'an object', {})) : null,
    backend: c['backend'] === undefined ? null : field(c, 'backend', isOneOf('auto', 'webgpu', 'wasm'), '"auto", "webgpu" or "wasm"'),
    outputFormat: field(c, 'output_format', isOneOf('classes', 'torchserve'), '"classes" or "torchserve"', 'classes'),
    topk: bounded(c, 'topk', RANGES.topk, 5),
    batchSize: c['batch_size'] === undefined ? null : bounded(c, 'batch_size', RANGES.batchSize),
    maxBatchDelayMs: c['max_batch_delay'] === undefined ? null : bounded(c, 'max_batch_delay', RANGES.maxBatchDelayMs),
    workers: c['workers'] === undefined ? null : bounded(c, 'workers', RANGES.workers),
    wasmThreads: c['wasm_threads'] === undefined ? null : bounded(c, 'wasm_threads', RANGES.wasmThreads),
    gpuPreprocess: c['gpu_preprocess'] === undefined ? null : field(c, 'gpu_preprocess', (v): v is boolean => typeof v === 'boolean', 'true or false'),
    graphCapture: c['graph_capture'] === undefined ? null : field(c, 'graph_capture', (v): v is boolean => typeof v === 'boolean', 'true or false'),
    responseTimeout: c['response_timeout'] === undefined ? null : bounded(c, 'response_timeout', RANGES.responseTimeoutS),
    // At least a second: a config that gives its model no time could never load it.
    startupTimeout: c['startup_timeout'] === undefined ? null : bounded(c, 'startup_timeout', { ...RANGES.startupTimeoutS, min: 1 }),
  };
}

export const HANDLERS: readonly HandlerName[] = ['image_classifier', 'object_detector', 'image_segmenter', 'text_classifier'];

/**
 * The one name a model's own handler module may have, in the model's folder: config.json names
 * it, so that a file dropped into a folder never changes what a model runs.
 */
export const CUSTOM_HANDLER_FILE = 'handler.js';

const isFraction = (v: unknown): v is number => isNumber(v) && v >= 0 && v <= 1;

/** An object detector's "detector" object; its thresholds default to TorchServe's object_detector's (0.5) and YOLOX's NMS (0.45). */
function parseDetector(d: Json): DetectorSpec {
  const strides = field(
    d,
    'strides',
    (v): v is number[] => Array.isArray(v) && v.length > 0 && v.length <= 8 && v.every((s) => Number.isInteger(s) && s >= 1 && s <= 1024),
    'a list of 1 to 8 integer strides',
    [8, 16, 32],
  );
  return {
    format: field(d, 'format', isOneOf('yolox'), '"yolox"', 'yolox'),
    strides,
    scoreThreshold: field(d, 'score_threshold', isFraction, 'a number from 0 to 1', 0.5),
    nmsThreshold: field(d, 'nms_threshold', isFraction, 'a number from 0 to 1', 0.45),
    maxDetections: field(d, 'max_detections', (v): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 1000, 'an integer from 1 to 1000', 100),
  };
}

const isInteger =
  (min: number, max: number) =>
  (v: unknown): v is number =>
    Number.isInteger(v) && (v as number) >= min && (v as number) <= max;
const inputNameOrNull = (d: Json, key: string, fallback: string | null): string | null => (d[key] === undefined ? fallback : d[key] === null ? null : field(d, key, isString, 'an input name or null'));

/**
 * A text classifier's "text" object. The byte bound keeps tokenising, which runs on the event
 * loop, short: the whole text is tokenised before it is truncated. 16 KiB is several times what
 * 512 tokens take in any script.
 */
function parseText(d: Json): TextSettings {
  return {
    maxLength: field(d, 'max_length', isInteger(3, 8192), 'an integer from 3 to 8192', 512),
    maxBytes: field(d, 'max_bytes', isInteger(1, 1 << 20), 'an integer from 1 to 1048576', 1 << 14),
    attentionMask: inputNameOrNull(d, 'attention_mask', 'attention_mask'),
    tokenTypeIds: inputNameOrNull(d, 'token_type_ids', null),
  };
}

/** Versions in the order TorchServe users expect: numeric parts compared as numbers. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.\-_]/);
  const pb = b.split(/[.\-_]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '';
    const y = pb[i] ?? '';
    const nx = /^\d+$/.test(x) ? Number(x) : NaN;
    const ny = /^\d+$/.test(y) ? Number(y) : NaN;
    const d = !Number.isNaN(nx) && !Number.isNaN(ny) ? nx - ny : x.localeCompare(y);
    if (d !== 0) return d;
  }
  return 0;
}

/** Model names and versions become folder names and URL segments: keep them plain. */
export const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/**
 * A synset line "n02123045 tabby, tabby cat" gives the TorchServe-style name "tabby":
 * the first synonym, spaces as underscores, as in TorchServe's index_to_name.json.
 */
export function shortLabel(label: string): string {
  const withoutId = label.replace(/^n\d{8}\s+/, '');
  return (withoutId.split(',')[0] ?? withoutId).trim().replaceAll(' ', '_');
}
