// One model folder of the store read: its config.json, labels, tokenizer and handler.js, and each
// <version>/model.onnx, every file from its real path inside the store (model-store.ts).

import { readdir, readFile, stat } from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import path from 'node:path';
import { compareVersions, CUSTOM_HANDLER_FILE, parseModelConfig, SAFE_NAME, type ModelConfig } from './model-config.js';
import type { ModelVersion, StoredModel } from './model-store.js';
import { isMissing, OutsideStoreError, realPathInside } from './store-paths.js';
import { readTokenizer, TokenizerFileError } from '../text/tokenizer-file.js';

export class ModelStoreError extends Error {}

export const isFolderLike = (entry: Dirent) => SAFE_NAME.test(entry.name) && (entry.isDirectory() || entry.isSymbolicLink());

/** `refuse` is told of each version that leads outside the store; if it returns, the version is skipped. */
export async function readModel(realRoot: string, name: string, refuse: (e: OutsideStoreError, version: string) => void): Promise<StoredModel | null> {
  let dir: string;
  let config: ModelConfig;
  try {
    dir = await realPathInside(realRoot, path.join(realRoot, name), name);
    const file = await realPathInside(realRoot, path.join(dir, 'config.json'), `${name}/config.json`);
    config = parseModelConfig(JSON.parse(await readFile(file, 'utf8')));
  } catch (e) {
    if (e instanceof OutsideStoreError) throw e;
    if (isMissing(e)) return null;
    throw new ModelStoreError(`${name}/config.json: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const labels = config.labels ? await readLabels(realRoot, dir, name, config.labels) : [];
  const tokenizer = await readTokenizer(realRoot, dir, name, config).catch((e: unknown) => {
    throw e instanceof TokenizerFileError ? new ModelStoreError(e.message) : e;
  });
  const handlerFile = config.handler === 'custom' ? await handlerPath(realRoot, dir, name) : undefined;
  const found = new Map<string, { file: string; bytes: number }>();
  const refused = new Map<string, OutsideStoreError>();
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!isFolderLike(entry)) continue;
    try {
      const file = await realPathInside(realRoot, path.join(dir, entry.name, 'model.onnx'), `${name}/${entry.name}/model.onnx`);
      const info = await stat(file);
      if (info.isFile()) found.set(entry.name, { file, bytes: info.size });
    } catch (e) {
      if (!(e instanceof OutsideStoreError)) continue;
      refuse(e, entry.name);
      refused.set(entry.name, e);
    }
  }
  const versionNames = [...found.keys()].sort(compareVersions);
  // Refusals that leave a model without any version, or without its default, refuse the model.
  if (versionNames.length === 0) throw [...refused.values()][0] ?? new ModelStoreError(`${name}: no <version>/model.onnx`);
  const defaultVersion = config.defaultVersion ?? versionNames[versionNames.length - 1]!;
  if (!versionNames.includes(defaultVersion)) {
    throw refused.get(defaultVersion) ?? new ModelStoreError(`${name}: default_version "${defaultVersion}" has no model.onnx (found ${versionNames.join(', ')})`);
  }
  const versions = new Map<string, ModelVersion>();
  for (const version of versionNames) {
    const { file, bytes } = found.get(version)!;
    versions.set(version, {
      name,
      version,
      key: `${name}/${version}`,
      file,
      bytes,
      config,
      labels,
      ...(tokenizer ? { tokenizer } : {}),
      isDefault: version === defaultVersion,
      ...(handlerFile ? { handlerFile } : {}),
    });
  }
  return { name, defaultVersion, versions };
}

/** The model's handler.js, a file inside the store; a config that names one it lacks is refused. */
async function handlerPath(realRoot: string, dir: string, name: string): Promise<string> {
  const file = await realPathInside(realRoot, path.join(dir, CUSTOM_HANDLER_FILE), `${name}/${CUSTOM_HANDLER_FILE}`).catch((e: NodeJS.ErrnoException) => {
    if (e instanceof OutsideStoreError) throw e;
    throw new ModelStoreError(`${name}: config.json names "${CUSTOM_HANDLER_FILE}", which the folder lacks (${e.code ?? e.message})`);
  });
  if (!(await stat(file)).isFile()) throw new ModelStoreError(`${name}/${CUSTOM_HANDLER_FILE} is not a file`);
  return file;
}

async function readLabels(realRoot: string, dir: string, name: string, file: string): Promise<string[]> {
  const full = path.resolve(dir, file);
  if (path.dirname(full) !== dir) throw new ModelStoreError(`${name}: "labels" must name a file in the model's folder`);
  const text = await realPathInside(realRoot, full, `${name}/${file}`)
    .then((real) => readFile(real, 'utf8'))
    .catch((e: NodeJS.ErrnoException) => {
      if (e instanceof OutsideStoreError) throw e;
      throw new ModelStoreError(`${name}: cannot read labels ${file}: ${e.code ?? e.message}`);
    });
  return text.split(/\r?\n/).filter((l) => l.trim().length > 0);
}
