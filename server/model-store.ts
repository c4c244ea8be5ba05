// The model store on disk: models/<name>/config.json, models/<name>/<version>/model.onnx.
// Read once at start; requests look models up here and never touch the file system by name.

import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { compareVersions, parseModelConfig, SAFE_NAME, type ModelConfig } from './model-config.js';
import { modelNotFound, versionNotFound } from './errors.js';

export interface ModelVersion {
  name: string;
  version: string;
  /** Key used for the worker and the runtime's model URL. */
  key: string;
  file: string;
  config: ModelConfig;
  labels: string[];
  isDefault: boolean;
}

export interface StoredModel {
  name: string;
  defaultVersion: string;
  versions: Map<string, ModelVersion>;
}

export class ModelStoreError extends Error {}

export class ModelStore {
  private constructor(
    readonly root: string,
    private readonly models: Map<string, StoredModel>,
  ) {}

  /** `only`: the model names to load (TorchServe's load_models); null for all. */
  static async open(root: string, only: readonly string[] | null = null): Promise<ModelStore> {
    const abs = path.resolve(root);
    const entries = await readdir(abs, { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
      throw new ModelStoreError(`cannot read the model store ${abs}: ${e.code ?? e.message}`);
    });
    const models = new Map<string, StoredModel>();
    for (const entry of entries) {
      if (!entry.isDirectory() || !SAFE_NAME.test(entry.name)) continue;
      const model = await readModel(abs, entry.name);
      if (model) models.set(model.name, model);
    }
    if (only) {
      const missing = only.filter((n) => !models.has(n));
      if (missing.length) throw new ModelStoreError(`load_models names ${missing.map((n) => `"${n}"`).join(', ')}, not in the model store ${abs}`);
      for (const name of [...models.keys()]) if (!only.includes(name)) models.delete(name);
    }
    if (models.size === 0) throw new ModelStoreError(`no model in ${abs} (expected <name>/config.json and <name>/<version>/model.onnx)`);
    return new ModelStore(abs, models);
  }

  list(): StoredModel[] {
    return [...this.models.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  allVersions(): ModelVersion[] {
    return this.list().flatMap((m) => [...m.versions.values()]);
  }

  /** Throws the TorchServe 404 for an unknown model or version. */
  resolve(name: string, version?: string): ModelVersion {
    const model = this.models.get(name);
    if (!model) throw modelNotFound(name);
    const found = model.versions.get(version ?? model.defaultVersion);
    if (!found) throw versionNotFound(name, version ?? model.defaultVersion);
    return found;
  }

  byKey(key: string): ModelVersion | undefined {
    return this.allVersions().find((v) => v.key === key);
  }
}

async function readModel(root: string, name: string): Promise<StoredModel | null> {
  const dir = path.join(root, name);
  let config: ModelConfig;
  try {
    config = parseModelConfig(JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ModelStoreError(`${name}/config.json: ${(e as Error).message}`);
  }
  const labels = config.labels ? await readLabels(dir, name, config.labels) : [];
  const versionNames: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || !SAFE_NAME.test(entry.name)) continue;
    const isFile = await stat(path.join(dir, entry.name, 'model.onnx')).then((s) => s.isFile(), () => false);
    if (isFile) versionNames.push(entry.name);
  }
  if (versionNames.length === 0) throw new ModelStoreError(`${name}: no <version>/model.onnx`);
  versionNames.sort(compareVersions);
  const defaultVersion = config.defaultVersion ?? versionNames[versionNames.length - 1]!;
  if (!versionNames.includes(defaultVersion)) {
    throw new ModelStoreError(`${name}: default_version "${defaultVersion}" has no model.onnx (found ${versionNames.join(', ')})`);
  }
  const versions = new Map<string, ModelVersion>();
  for (const version of versionNames) {
    versions.set(version, {
      name,
      version,
      key: `${name}/${version}`,
      file: path.join(dir, version, 'model.onnx'),
      config,
      labels,
      isDefault: version === defaultVersion,
    });
  }
  return { name, defaultVersion, versions };
}

async function readLabels(dir: string, name: string, file: string): Promise<string[]> {
  const full = path.resolve(dir, file);
  if (path.dirname(full) !== dir) throw new ModelStoreError(`${name}: "labels" must name a file in the model's folder`);
  const text = await readFile(full, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new ModelStoreError(`${name}: cannot read labels ${file}: ${e.code ?? e.message}`);
  });
  return text.split(/\r?\n/).filter((l) => l.trim().length > 0);
}
