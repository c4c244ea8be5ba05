// The model store on disk: models/<name>/config.json, models/<name>/<version>/model.onnx.
// Read once at start; requests look models up here and never touch the file system by name.
// Every file is read, and every model file served, from its real path inside the store.

import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import path from 'node:path';
import { compareVersions, CUSTOM_HANDLER_FILE, parseModelConfig, SAFE_NAME, type ModelConfig } from './model-config.js';
import { ApiError, badRequest, modelNotFound, versionNotFound } from '../errors.js';
import { log } from '../ops/log.js';
import { isMissing, OutsideStoreError, realPathInside } from './store-paths.js';

export interface ModelVersion {
  name: string;
  version: string;
  /** Key used for the worker and the runtime's model URL. */
  key: string;
  /** The real path of model.onnx, inside the store. */
  file: string;
  /** Size of the .onnx file, read when the store was. */
  bytes: number;
  /** The real path of the model's own handler.js, inside the store, where its config names one. */
  handlerFile?: string;
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
    /** `root` with its links resolved: every part of every model must lie inside it. */
    private readonly realRoot: string,
    private readonly models: Map<string, StoredModel>,
  ) {}

  /**
   * `only`: the model names to load (TorchServe's load_models); null for all. A model or version
   * that leads outside the store is skipped, with a warning saying which part and where to.
   */
  static async open(root: string, only: readonly string[] | null = null): Promise<ModelStore> {
    const abs = path.resolve(root);
    const unreadable = (e: NodeJS.ErrnoException): never => {
      throw new ModelStoreError(`cannot read the model store ${abs}: ${e.code ?? e.message}`);
    };
    // The root itself may be a link (a mounted volume): it is resolved once, here.
    const realRoot = await realpath(abs).catch(unreadable);
    const entries = await readdir(realRoot, { withFileTypes: true }).catch(unreadable);
    const skip = (e: OutsideStoreError, what: string) => log.warn(`model store: ${what} skipped: ${e.message} (to ${e.target})`, { part: e.part, target: e.target });
    const models = new Map<string, StoredModel>();
    for (const entry of entries) {
      if (!isFolderLike(entry)) continue;
      const model = await readModel(realRoot, entry.name, (e, version) => skip(e, `${entry.name} version ${version}`)).catch((e: unknown) => {
        if (!(e instanceof OutsideStoreError)) throw e;
        skip(e, `model ${entry.name}`);
        return null;
      });
      if (model) models.set(model.name, model);
    }
    if (only) {
      const missing = only.filter((n) => !models.has(n));
      if (missing.length) throw new ModelStoreError(`load_models names ${missing.map((n) => `"${n}"`).join(', ')}, not in the model store ${abs}`);
      for (const name of [...models.keys()]) if (!only.includes(name)) models.delete(name);
    }
    // An empty start is normal (TorchServe starts with none unless told): models are registered later.
    if (models.size === 0) log.info(`no model loaded from ${abs}: register one with POST /models?url=<folder>&initial_workers=1`);
    return new ModelStore(abs, realRoot, models);
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

  /** A registered version, or undefined: for routes that answer a plain 404 rather than TorchServe's. */
  find(name: string, version: string): ModelVersion | undefined {
    return this.models.get(name)?.versions.get(version);
  }

  /**
   * Registers what a store folder holds that is not registered yet (TorchServe's POST /models),
   * under the folder's name or `as` (an alias: the same files registered again are a separate
   * model, as in TorchServe). `url` names a folder of the store (or a path to it inside the
   * store); anything remote is refused without being read, anything else not a folder of the
   * store is 404, and so is refused a folder any part of which (a version included) leads outside
   * the store. A new version does not become the default. `config` overrides the folder's
   * config.json. `admit` sees the versions about to be added; what it throws leaves the store as it was.
   */
  async register(url: string, opts: { as?: string | undefined; config?: Partial<ModelConfig>; admit?: (versions: readonly ModelVersion[]) => void } = {}): Promise<ModelVersion[]> {
    if (isRemote(url)) throw remoteRefused(url);
    const full = path.resolve(this.root, url);
    const folder = path.basename(full);
    const notFound = () => new ApiError(404, 'ModelNotFoundException', `Model not found in model store: ${url}`);
    if (!url || path.dirname(full) !== this.root || !SAFE_NAME.test(folder)) throw notFound();
    const name = opts.as ?? folder;
    if (!SAFE_NAME.test(name)) throw badRequest(`model_name "${name}" may hold letters, digits, '.', '_' and '-' only.`);
    const read = await readModel(this.realRoot, folder, (e) => {
      throw e;
    }).catch((e: Error) => {
      if (e instanceof OutsideStoreError) log.warn(`model store: ${name} not registered: ${e.message} (to ${e.target})`, { part: e.part, target: e.target });
      // Our own messages name parts of the store only; a system error's holds an absolute path.
      const why = e instanceof ModelStoreError || e instanceof OutsideStoreError ? e.message : ((e as NodeJS.ErrnoException).code ?? 'unreadable');
      throw badRequest(`${folder} cannot be registered: ${why}`);
    });
    if (!read) throw notFound();
    const found = renamed(read, name, opts.config ?? {});
    const admit = opts.admit ?? (() => {});
    const existing = this.models.get(name);
    if (!existing) {
      admit([...found.versions.values()]);
      this.models.set(name, found);
      return [...found.versions.values()];
    }
    const added = [...found.versions.values()].filter((v) => !existing.versions.has(v.version));
    if (added.length === 0) throw new ApiError(409, 'ConflictStatusException', `Model version ${[...existing.versions.keys()].join(', ')} is already registered for model ${name}`);
    admit(added);
    for (const v of added) existing.versions.set(v.version, { ...v, isDefault: false });
    return added.map((v) => existing.versions.get(v.version)!);
  }

  /** Removes one version (the default when none is named); the default goes last, unless `evenDefault` (taking back a registration). */
  unregister(name: string, version?: string, opts: { evenDefault?: boolean } = {}): ModelVersion {
    const v = this.resolve(name, version);
    const model = this.models.get(name)!;
    if (v.isDefault && model.versions.size > 1 && !opts.evenDefault) {
      throw new ApiError(409, 'ConflictStatusException', `${name} ${v.version} is the default version; set another default before unregistering it.`);
    }
    model.versions.delete(v.version);
    if (model.versions.size === 0) this.models.delete(name);
    else if (v.isDefault) this.setDefault(name, [...model.versions.keys()].sort(compareVersions).at(-1)!);
    return v;
  }

  setDefault(name: string, version: string): void {
    const target = this.resolve(name, version);
    const model = this.models.get(name)!;
    for (const [key, v] of model.versions) model.versions.set(key, { ...v, isDefault: v === target });
    model.defaultVersion = version;
  }
}

export const isRemote = (url: string) => /^[a-z][a-z0-9+.-]*:/i.test(url);

/** Refused whatever else the request says: the server never downloads a model. */
export const remoteRefused = (url: string) =>
  badRequest(`Only models in the model store can be registered: remote URLs are not fetched ("${url.slice(0, 200)}"). Put the model folder in the model store and register it by name.`);

/** A folder's model under the name it is registered as, with the registration's config overrides. */
function renamed(model: StoredModel, name: string, config: Partial<ModelConfig>): StoredModel {
  const versions = new Map([...model.versions].map(([v, mv]) => [v, { ...mv, name, key: `${name}/${v}`, config: { ...mv.config, ...config } }]));
  return { ...model, name, versions };
}

const isFolderLike = (entry: Dirent) => SAFE_NAME.test(entry.name) && (entry.isDirectory() || entry.isSymbolicLink());

/** `refuse` is told of each version that leads outside the store; if it returns, the version is skipped. */
async function readModel(realRoot: string, name: string, refuse: (e: OutsideStoreError, version: string) => void): Promise<StoredModel | null> {
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
