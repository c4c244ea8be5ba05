// A model archive of the store as a model: unpacked (or found unpacked), read as the model
// folder it became, and named as TorchServe names it.

import { SAFE_NAME } from '../model-config.js';
import type { StoredModel } from '../model-store.js';
import { ArchiveRefused } from './archive-refused.js';
import { defaultModelName } from './mar-manifest.js';
import { isArchiveName, unpackArchive } from './unpack-archive.js';

/** Reads the model folder `folder` (relative to the store) under `name`; null where it holds no config.json. */
export type ReadFolder = (realRoot: string, folder: string, name: string) => Promise<StoredModel | null>;

/** A load_models entry naming an archive: `x.mar`, or `name=x.mar` to load it under another name, as TorchServe's --models. */
export function archiveSpec(entry: string): { file: string; as: string | null } | null {
  const eq = entry.indexOf('=');
  const file = eq < 0 ? entry : entry.slice(eq + 1);
  return isArchiveName(file) ? { file, as: eq < 0 ? null : entry.slice(0, eq) } : null;
}

/**
 * The model of the store's archive `file`. Named `as` (the registration's model_name, or
 * load_models' `name=`), else by the manifest's modelName, else, at start only, by the file's
 * name, as TorchServe names it. Every version remembers the archive it came from.
 */
export async function readArchiveModel(realRoot: string, file: string, opts: { as: string | null; maxBytes: number; atStart: boolean }, readFolder: ReadFolder): Promise<StoredModel> {
  const { folder, manifest } = await unpackArchive(realRoot, file, { maxBytes: opts.maxBytes });
  const name = opts.as ?? manifest.modelName ?? (opts.atStart ? defaultModelName(file) : null);
  if (name === null) throw new ArchiveRefused('its manifest names no modelName (model name is not defined): give one with model_name');
  if (!SAFE_NAME.test(name)) throw new ArchiveRefused(`the model name "${name.slice(0, 140)}" may hold letters, digits, '.', '_' and '-' only`);
  const model = await readFolder(realRoot, folder, name);
  if (!model) throw new ArchiveRefused('its unpacked folder has no config.json');
  for (const [version, v] of model.versions) model.versions.set(version, { ...v, archive: file });
  return model;
}
