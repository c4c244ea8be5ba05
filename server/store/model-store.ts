// The model store on disk: models/<name>/config.json, models/<name>/<version>/model.onnx, and
// TorchServe model archives, models/<file>.mar, each unpacked into a folder of that layout
// (archive/unpack-archive.ts). Read once at start; requests look models up here and never touch
// the file system by name. Every file is read, and every model file served, from its real path
// inside the store.

import { readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { compareVersions, type ModelConfig, SAFE_NAME } from './model-config.js';
import { isFolderLike, ModelStoreError, readModel } from './model-folder.js';
import { ApiError, badRequest, modelNotFound, versionNotFound } from '../errors.js';
import { log } from '../ops/log.js';
import { isMissing, OutsideStoreError } from './store-paths.js';
import type { TextTokenizer } from '../text/text-tokenizer.js';
import { ArchiveRefused } from './archive/archive-refused.js';
import { archiveSpec, readArchiveModel } from './archive/archive-model.js';
import { isArchiveName } from './archive/unpack-archive.js';

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
  /** A text classifier's tokenizer, read with its config. */
  tokenizer?: TextTokenizer;
  isDefault: boolean;
  /** The .mar file of the store it was unpacked from; absent for a model folder. */
  archive?: string;
}

export interface StoredModel {
  name: string;
  defaultVersion: string;
  versions: Map<string, ModelVersion>;
}

export { ModelStoreError };

export interface StoreOptions {
  /** Bytes a model archive may unpack to, all its files together. */
  archiveBytes: number;
}

/** A model's ONNX file is one protobuf, which cannot pass 2 GiB; an archive's other files fit beside it. */
export const DEFAULT_ARCHIVE_BYTES = 2 * 1024 ** 3;

export class ModelStore {
  private constructor(
    readonly root: string,
    /** `root` with its links resolved: every part of every model must lie inside it. */
    private readonly realRoot: string,
    private readonly models: Map<string, StoredModel>,
    private readonly options: StoreOptions,
  ) {}

  /**
   * `only`: the model names to load (TorchServe's load_models), and archives (`x.mar`,
   * `name=x.mar`); null for all, archives included. A model or version that leads outside the
   * store is skipped, with a warning saying which part and where to; so is an archive that cannot
   * be used, unless `only` names it.
   */
  static async open(root: string, only: readonly string[] | null = null, options: StoreOptions = { archiveBytes: DEFAULT_ARCHIVE_BYTES }): Promise<ModelStore> {
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
      const names = only.filter((n) => archiveSpec(n) === null);
      const missing = names.filter((n) => !models.has(n));
      if (missing.length) throw new ModelStoreError(`load_models names ${missing.map((n) => `"${n}"`).join(', ')}, not in the model store ${abs}`);
      for (const name of [...models.keys()]) if (!names.includes(name)) models.delete(name);
    }
    // In name order, so that of two archives of one model the same one gives the default version at every start.
    const archives =
      only === null
        ? entries
            .filter((e) => isArchiveName(e.name) && SAFE_NAME.test(e.name) && !e.isDirectory())
            .map((e) => ({ file: e.name, as: null }))
            .sort((a, b) => a.file.localeCompare(b.file))
        : only.flatMap((n) => archiveSpec(n) ?? []);
    for (const { file, as } of archives) {
      try {
        if (!SAFE_NAME.test(file)) throw new ArchiveRefused('an archive is named by its file name in the model store, without a folder');
        addVersions(models, await readArchiveModel(realRoot, file, { as, maxBytes: options.archiveBytes, atStart: true }, readFolder));
      } catch (e) {
        const why = isMissing(e) ? 'not in the model store' : archiveProblem(e, file);
        // As a folder load_models names: a start without it is not the start asked for.
        if (only) throw new ModelStoreError(`load_models names ${file}, which cannot be loaded: ${why}`);
        log.warn(`model store: ${file} skipped: ${why}`, { archive: file });
      }
    }
    // An empty start is normal (TorchServe starts with none unless told): models are registered later.
    if (models.size === 0) log.info(`no model loaded from ${abs}: register one with POST /models?url=<folder or .mar>&initial_workers=1`);
    return new ModelStore(abs, realRoot, models, options);
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
   * store), or a model archive (`x.mar`), registered under its manifest's model name or `as`;
   * anything remote is refused without being read, anything else not a folder or archive of the
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
    if (opts.as !== undefined && !SAFE_NAME.test(opts.as)) throw badRequest(`model_name "${opts.as}" may hold letters, digits, '.', '_' and '-' only.`);
    if (isArchiveName(folder)) {
      const model = await readArchiveModel(this.realRoot, folder, { as: opts.as ?? null, maxBytes: this.options.archiveBytes, atStart: false }, readFolder).catch((e: unknown) => {
        if (isMissing(e)) throw notFound();
        throw badRequest(`${folder} cannot be registered: ${archiveProblem(e, folder)}`);
      });
      return this.add(renamed(model, model.name, opts.config ?? {}), opts.admit);
    }
    const name = opts.as ?? folder;
    const read = await readModel(this.realRoot, folder, (e) => {
      throw e;
    }).catch((e: Error) => {
      if (e instanceof OutsideStoreError) log.warn(`model store: ${name} not registered: ${e.message} (to ${e.target})`, { part: e.part, target: e.target });
      // Our own messages name parts of the store only; a system error's holds an absolute path.
      const why = e instanceof ModelStoreError || e instanceof OutsideStoreError ? e.message : ((e as NodeJS.ErrnoException).code ?? 'unreadable');
      throw badRequest(`${folder} cannot be registered: ${why}`);
    });
    if (!read) throw notFound();
    return this.add(renamed(read, name, opts.config ?? {}), opts.admit);
  }

  /** Adds a model's versions that are not registered yet; 409 when none is new. */
  private add(found: StoredModel, admit: (versions: readonly ModelVersion[]) => void = () => {}): ModelVersion[] {
    const { name } = found;
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
  badRequest(
    `Only models in the model store can be registered: remote URLs are not fetched ("${url.slice(0, 200)}"). Put the model folder or .mar archive in the model store and register it by name.`,
  );

/** A folder's model under the name it is registered as, with the registration's config overrides. */
function renamed(model: StoredModel, name: string, config: Partial<ModelConfig>): StoredModel {
  const versions = new Map([...model.versions].map(([v, mv]) => [v, { ...mv, name, key: `${name}/${v}`, config: { ...mv.config, ...config } }]));
  return { ...model, name, versions };
}

/** A folder's model under another name: what an archive's unpacked folder is read as. */
const readFolder = async (realRoot: string, folder: string, name: string): Promise<StoredModel | null> => {
  const read = await readModel(realRoot, folder, (e) => {
    throw e;
  });
  return read && renamed(read, name, {});
};

/** At start: an archive's versions beside those already read; the first read keeps the default. */
function addVersions(models: Map<string, StoredModel>, model: StoredModel): void {
  const existing = models.get(model.name);
  if (!existing) {
    models.set(model.name, model);
    return;
  }
  for (const version of model.versions.keys()) if (existing.versions.has(version)) throw new ArchiveRefused(`model ${model.name} version ${version} is in the store already`);
  for (const [version, v] of model.versions) existing.versions.set(version, { ...v, isDefault: false });
}

/** What a client or the log is told of an archive that cannot be used; anything unforeseen is thrown on. */
function archiveProblem(e: unknown, file: string): string {
  if (e instanceof OutsideStoreError) {
    log.warn(`model store: ${file}: ${e.message} (to ${e.target})`, { part: e.part, target: e.target });
    return e.message;
  }
  if (e instanceof ArchiveRefused || e instanceof ModelStoreError) return e.message;
  // A system error's own message holds an absolute path: its code alone.
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EROFS' || code === 'EACCES') return `the model store cannot be written, and an archive is unpacked into it (${code})`;
  if (code) return code;
  throw e;
}
