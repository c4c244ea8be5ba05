import { copyFileSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FIXTURES, MODELS, NULL_MODELS } from './paths.js';

export interface TempModel {
  /** Name in the temp store. */
  name: string;
  /**
   * A model of the repo's store to take the .onnx, labels and config from; or the null model
   * (MobileNetV2's interface at near-zero cost), where what is under test is not the answer.
   */
  from: 'mobilenet_v2' | 'mobilenet_v2_int8' | 'yolox_nano' | 'null_model' | 'tiny_sentiment';
  versions?: string[];
  config?: Record<string, unknown>;
  /** More files for the model's folder: its name there, and the file to copy. */
  files?: Record<string, string>;
}

/**
 * A model store in a temp folder whose model files are hard links to the repo's (no 14 MB
 * copies), or copies where linking fails (another file system). Not symbolic links: the store
 * refuses those, as they lead outside it. A test may delete a model file, never write to one.
 */
export function tempStore(models: TempModel[]): { root: string; remove(): void } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'model-store-'));
  for (const m of models) {
    const dir = path.join(root, m.name);
    mkdirSync(dir);
    const from = path.join(m.from === 'null_model' ? NULL_MODELS : m.from === 'tiny_sentiment' ? path.join(FIXTURES, 'text-model-store') : MODELS, m.from);
    const base = JSON.parse(readFileSync(path.join(from, 'config.json'), 'utf8')) as Record<string, unknown>;
    const versions = m.versions ?? ['1.0'];
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...base, default_version: versions[0], ...m.config }));
    copyFileSync(path.join(from, 'labels.txt'), path.join(dir, 'labels.txt'));
    for (const [name, file] of Object.entries(m.files ?? {})) copyFileSync(file, path.join(dir, name));
    for (const v of versions) {
      mkdirSync(path.join(dir, v));
      linkOrCopy(path.join(from, '1.0', 'model.onnx'), path.join(dir, v, 'model.onnx'));
    }
  }
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}

function linkOrCopy(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
  }
}
