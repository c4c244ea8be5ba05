// The config.json of a model unpacked from an archive, from what the archive says, later ones
// winning: the handler's defaults (TorchServe's image_classifier resizes to 256, crops 224 with
// PIL and normalises with ImageNet's mean and std, and answers {"tabby": p, ...} for the top 5),
// the archive's own config.json (this server's format), setup_config.json's keys that are this
// server's config keys, and TorchServe's model-config.yaml keys batchSize, maxBatchDelay,
// responseTimeout and minWorkers. Keys that map onto nothing are listed for the log. The input
// and output names come last, from the ONNX graph where none of these gives them. Pure.

import { parseModelConfig, ModelConfigError, type ModelConfig } from '../model-config.js';
import { ArchiveRefused } from './archive-refused.js';
import type { Handler } from './mar-manifest.js';
import { topLevelScalars } from './top-level-yaml.js';
import { isJsonObject } from '../../ops/json-object.js';

type Json = Record<string, unknown>;

/** This server's config.json keys that setup_config.json may set. */
const CONFIG_KEYS = ['description', 'input_name', 'output_name', 'output', 'output_format', 'topk', 'batch_size', 'max_batch_delay', 'response_timeout', 'workers', 'backend', 'preprocessing'];

/** model-config.yaml's keys and this server's; TorchServe takes each only when positive. */
const YAML_KEYS: Record<string, string> = { batchSize: 'batch_size', maxBatchDelay: 'max_batch_delay', responseTimeout: 'response_timeout' };

const IMAGE_CLASSIFIER: Json = {
  output: 'logits',
  topk: 5,
  preprocessing: { resize: 256, crop: 224, resampling: 'pil', channel_order: 'RGB', layout: 'NCHW', scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
};

export interface ConfigSources {
  archive: string;
  handler: Handler;
  description: string | null;
  /** The archive's config.json, parsed; null where it has none. */
  configJson: unknown;
  setupConfig: unknown;
  /** The text of the model-config.yaml the manifest names; null where none. */
  modelConfigYaml: string | null;
  /** The labels file written from index_to_name.json; null where the archive has none. */
  labelsFile: string | null;
  /** The archive's tokenizer.json, for a text_classifier; null where it has none. */
  tokenizerFile?: string | null;
}

export interface ArchiveConfig {
  config: Json;
  /** What was not used, for the log: one line each. */
  notes: string[];
}

/** `from` over `into`, the preprocessing object merged key by key. */
function overlay(into: Json, from: Json): Json {
  const pre = isJsonObject(into['preprocessing']) && isJsonObject(from['preprocessing']) ? { preprocessing: { ...into['preprocessing'], ...from['preprocessing'] } } : {};
  return { ...into, ...from, ...pre };
}

function fromYaml(text: string, notes: string[]): Json {
  const values = topLevelScalars(text);
  const out: Json = {};
  const ignored: string[] = [];
  const positive = (key: string): number | null => {
    const v = values.get(key);
    if (v === undefined) return null;
    if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
    notes.push(`model-config.yaml ${key} is not a positive integer; ignored, as TorchServe does`);
    return null;
  };
  for (const [key, ours] of Object.entries(YAML_KEYS)) {
    const n = positive(key);
    if (n !== null) out[ours] = n;
  }
  // TorchServe takes minWorkers only with a maxWorkers at least as large; this server does not autoscale.
  const min = positive('minWorkers');
  const max = values.get('maxWorkers');
  if (min !== null) {
    if (typeof max === 'number' && max >= min) out['workers'] = min;
    else notes.push(`model-config.yaml minWorkers ${min} ignored: maxWorkers is not at least as large, which TorchServe ignores too`);
  }
  for (const key of values.keys()) if (!(key in YAML_KEYS) && key !== 'minWorkers' && key !== 'maxWorkers') ignored.push(key);
  if (ignored.length > 0) notes.push(`model-config.yaml keys this server does not use, ignored: ${ignored.join(', ')}`);
  return out;
}

export function archiveConfig(src: ConfigSources): ArchiveConfig {
  const notes: string[] = [];
  let config: Json = {
    description: src.description ?? `TorchServe model archive ${src.archive}`,
    output_format: 'torchserve',
    ...(src.handler.kind === 'built-in' && src.handler.name === 'image_classifier' ? IMAGE_CLASSIFIER : {}),
  };
  if (src.configJson !== null) {
    if (!isJsonObject(src.configJson)) throw new ArchiveRefused('config.json must hold an object');
    const { default_version: _one, ...rest } = src.configJson;
    config = overlay(config, rest);
  }
  if (src.setupConfig !== null) {
    if (!isJsonObject(src.setupConfig)) throw new ArchiveRefused('setup_config.json must hold an object');
    const used = Object.fromEntries(Object.entries(src.setupConfig).filter(([k]) => CONFIG_KEYS.includes(k)));
    const unused = Object.keys(src.setupConfig).filter((k) => !CONFIG_KEYS.includes(k));
    if (unused.length > 0) notes.push(`setup_config.json keys this server does not use, ignored: ${unused.join(', ')}`);
    config = overlay(config, used);
  }
  if (src.modelConfigYaml !== null) config = overlay(config, fromYaml(src.modelConfigYaml, notes));
  config['handler'] = src.handler.kind === 'built-in' ? src.handler.name : 'handler.js';
  if (src.labelsFile !== null && config['labels'] === undefined) config['labels'] = src.labelsFile;
  if (config['handler'] === 'text_classifier' && src.tokenizerFile && config['tokenizer'] === undefined) config['tokenizer'] = src.tokenizerFile;
  return { config, notes };
}

/** Whether the ONNX graph must give the input and output names. */
export const needsIoNames = (config: Json): boolean => typeof config['input_name'] !== 'string' || typeof config['output_name'] !== 'string';

/** The finished config, checked as the store will read it. */
export function checkedConfig(config: Json): ModelConfig {
  try {
    return parseModelConfig(config);
  } catch (e) {
    if (e instanceof ModelConfigError) throw new ArchiveRefused(`its config: ${e.message}`);
    throw e;
  }
}
