// TorchServe model archives built as torch-model-archiver lays them out: the model file, the
// handler file and the extra files at the root, MAR-INF/MANIFEST.json written last (with the
// mode Python's writestr gives it), deflated. The model is the null model's ONNX file unless a
// test gives another.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { shortLabel } from '../../server/store/model-config.js';
import { LABELS, NULL_MODELS } from './paths.js';
import { zip, type ZipEntry } from './zip-writer.js';

export const NULL_ONNX = readFileSync(path.join(NULL_MODELS, 'null_model', '1.0', 'model.onnx'));

export interface MarOptions {
  /** null leaves modelName out of the manifest. */
  modelName?: string | null;
  /** null leaves modelVersion out. */
  version?: string | null;
  handler?: string;
  serializedFile?: string;
  model?: Uint8Array;
  /** The manifest's configFile (TorchServe's model-config.yaml). */
  configFile?: string;
  /** Other files at their paths: index_to_name.json, setup_config.json, handler.js, ... */
  files?: Record<string, string | Uint8Array>;
}

export function manifestOf(o: MarOptions): Record<string, unknown> {
  const model: Record<string, unknown> = { serializedFile: o.serializedFile ?? 'model.onnx', handler: o.handler ?? 'image_classifier' };
  if (o.modelName !== null) model['modelName'] = o.modelName ?? 'archived';
  if (o.version !== null) model['modelVersion'] = o.version ?? '1.0';
  if (o.configFile) model['configFile'] = o.configFile;
  return { createdOn: '01/02/2024 10:00:00', runtime: 'python', model, archiverVersion: '0.12.0' };
}

export function marArchive(o: MarOptions = {}): Buffer {
  const entries: ZipEntry[] = [{ name: o.serializedFile ?? 'model.onnx', data: o.model ?? NULL_ONNX }];
  for (const [name, data] of Object.entries(o.files ?? {})) entries.push({ name, data: typeof data === 'string' ? Buffer.from(data) : data });
  entries.push({ name: 'MAR-INF/MANIFEST.json', data: Buffer.from(JSON.stringify(manifestOf(o), null, 2)), mode: 0o100600 });
  return zip(entries);
}

/** TorchServe's ImageNet index_to_name.json: {"281": ["n02123045", "tabby"], ...}, from MobileNet's labels. */
export function synsetIndexToName(): Record<string, [string, string]> {
  return Object.fromEntries(LABELS.map((line, i) => [String(i), [line.slice(0, 9), shortLabel(line)]]));
}

/** The plain form: {"0": "tench", ...}. */
export function plainIndexToName(): Record<string, string> {
  return Object.fromEntries(LABELS.map((line, i) => [String(i), shortLabel(line)]));
}
