// A TorchServe model archive (.mar) of the store unpacked into a model folder of this server's
// layout, inside the store: `.unpacked/<archive>-<size>-<mtime>/` holds config.json, labels.txt
// (from index_to_name.json), handler.js (a JavaScript handler), `<version>/model.onnx`, the
// archive's other files, and MAR-INF/MANIFEST.json. The folder is named after the archive's
// size and time, so a changed archive unpacks afresh while a model still served from the old
// one keeps its files; an unchanged one is unpacked once. `.unpacked` is hidden from the store's
// scan of model folders (a folder name starts with a letter or digit).
//
// Order: everything the archive says is read and checked first (entries, manifest, configs,
// labels); then it is unpacked into a fresh temporary folder beside the others, every file
// created new (never through a link); the ONNX graph gives the input and output names where no
// config does; and only a whole folder is renamed into place. Any failure removes the
// temporary folder: nothing else is written.

import { chmod, lstat, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { log } from '../../ops/log.js';
import { isMissing, realPathInside } from '../store-paths.js';
import { archiveConfig, checkedConfig, needsIoNames } from './archive-config.js';
import { type ArchiveEntry, ArchiveReader, MAX_ENTRIES } from './archive-reader.js';
import { ArchiveRefused } from './archive-refused.js';
import { labelsOf, type ArchiveLabels } from './index-to-name.js';
import { type MarManifest, parseManifest } from './mar-manifest.js';
import { onnxIoNames } from './onnx-io-names.js';

/** The store's folder of unpacked archives. */
export const UNPACKED = '.unpacked';
const MANIFEST = 'MAR-INF/MANIFEST.json';
const LABELS = 'labels.txt';
const KiB = 1024;
const MiB = 1024 * KiB;
/** The small files the server reads whole; index_to_name.json of a million classes still fits. */
const READ_LIMITS = { manifest: MiB, labels: 64 * MiB, config: MiB };

export interface UnpackedArchive {
  /** The model folder, relative to the store: `.unpacked/<archive>-<size>-<mtime>`. */
  folder: string;
  manifest: MarManifest;
}

export const isArchiveName = (name: string): boolean => /\.mar$/i.test(name) && name.length > 4;

function jsonOf(name: string, bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new ArchiveRefused(`${name} is not JSON: ${(e as Error).message}`);
  }
}

/** Reads a JSON entry, if the archive has it; a syntax error is the archive's. */
async function readJson(reader: ArchiveReader, entry: ArchiveEntry | undefined, maxBytes: number): Promise<unknown> {
  return entry ? jsonOf(entry.name, await reader.read(entry, maxBytes)) : null;
}

/** `.unpacked`, made if need be; refused where it is anything but a folder of the store. */
async function unpackedFolder(realRoot: string): Promise<string> {
  const dir = path.join(realRoot, UNPACKED);
  await mkdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
  if (!(await lstat(dir)).isDirectory()) throw new ArchiveRefused(`the model store's ${UNPACKED} is not a folder (a link or a file): move it away`);
  return dir;
}

function logLabels(archive: string, labels: ArchiveLabels): void {
  if (labels.ignoredKeys.length > 0) log.info(`${archive}: index_to_name.json keys that are not class indices, ignored: ${labels.ignoredKeys.slice(0, 10).join(', ')}`);
  if (labels.missing.length > 0)
    log.info(`${archive}: index_to_name.json names no class ${labels.missing.slice(0, 10).join(', ')}${labels.missing.length > 10 ? ', ...' : ''}; answers name them by index`);
  const first = labels.altered[0];
  if (first) {
    log.warn(
      `${archive}: ${labels.altered.length} class name(s) of index_to_name.json read differently in answers in TorchServe's format, e.g. "${first.answer}" for "${first.name}" (spaces become '_', a comma ends the name)`,
    );
  }
}

/** A Hugging Face tokenizer among the archive's extra files: what a text_classifier reads its texts with. */
const TOKENIZER = 'tokenizer.json';

/** Everything the archive says, checked, before a byte is written. */
async function readArchive(reader: ArchiveReader, archive: string) {
  const manifestEntry = reader.files.get(MANIFEST);
  if (!manifestEntry) throw new ArchiveRefused(`it has no ${MANIFEST}: it is not a TorchServe model archive`);
  const manifestBytes = await reader.read(manifestEntry, READ_LIMITS.manifest);
  const manifest = parseManifest(jsonOf(manifestEntry.name, manifestBytes));
  const model = reader.files.get(manifest.serializedFile);
  if (!model) throw new ArchiveRefused(`its manifest names the model file "${manifest.serializedFile.slice(0, 200)}", which it does not hold`);
  const handler = manifest.handler.kind === 'javascript' ? reader.files.get(manifest.handler.file) : undefined;
  if (manifest.handler.kind === 'javascript' && !handler) throw new ArchiveRefused(`its manifest names the handler "${manifest.handler.file.slice(0, 200)}", which it does not hold`);

  const configJson = await readJson(reader, reader.files.get('config.json'), READ_LIMITS.config);
  const setupConfig = await readJson(reader, reader.files.get('setup_config.json'), READ_LIMITS.config);
  const yamlEntry = manifest.configFile === null ? undefined : reader.files.get(manifest.configFile);
  if (manifest.configFile !== null && !yamlEntry) log.info(`${archive}: its manifest names the config file ${manifest.configFile.slice(0, 200)}, which it does not hold; ignored`);
  const modelConfigYaml = yamlEntry ? (await reader.read(yamlEntry, READ_LIMITS.config)).toString('utf8') : null;
  const indexToName = await readJson(reader, reader.files.get('index_to_name.json'), READ_LIMITS.labels);
  // The archive's own config.json may name its labels file; else index_to_name.json gives them.
  const ownLabels = typeof configJson === 'object' && configJson !== null && 'labels' in configJson;
  const labels = indexToName !== null && !ownLabels ? labelsOf(indexToName) : null;
  const { config, notes } = archiveConfig({
    archive,
    handler: manifest.handler,
    description: manifest.description,
    configJson,
    setupConfig,
    modelConfigYaml,
    labelsFile: labels ? LABELS : null,
    tokenizerFile: reader.files.has(TOKENIZER) ? TOKENIZER : null,
  });
  for (const note of notes) log.info(`${archive}: ${note}`);
  if (labels) logLabels(archive, labels);
  return { manifest, manifestBytes, model, handler, config, labels };
}

/** Writes the model folder into `temp`, which is new and empty. */
async function writeFolder(reader: ArchiveReader, temp: string, archive: string, read: Awaited<ReturnType<typeof readArchive>>): Promise<void> {
  const { manifest, model, handler, config, labels } = read;
  const version = manifest.modelVersion;
  await mkdir(path.join(temp, version));
  await reader.extract(model, path.join(temp, version, 'model.onnx'));
  if (handler) await reader.extract(handler, path.join(temp, 'handler.js'));
  // The archive's other files (a tokenizer, a vocabulary) beside them, where the server's own
  // files do not go; config.json and the manifest were read, and are written below.
  const under = (name: string, part: string) => name === part || name.startsWith(`${part}/`);
  const consumed = (name: string) => name === 'config.json' || under(name, 'MAR-INF');
  const ours = (name: string) => ['config.json', 'handler.js', version, ...(labels ? [LABELS] : [])].some((p) => under(name, p));
  const skipped: string[] = [];
  for (const entry of reader.files.values()) {
    if (entry === model || entry === handler || consumed(entry.name)) continue;
    if (ours(entry.name)) {
      skipped.push(entry.name);
      continue;
    }
    await mkdir(path.join(temp, path.dirname(entry.name)), { recursive: true });
    await reader.extract(entry, path.join(temp, entry.name));
  }
  if (skipped.length > 0) log.info(`${archive}: files where the unpacked model's own go, not unpacked: ${skipped.slice(0, 10).join(', ')}`);
  if (needsIoNames(config)) {
    const names = await onnxIoNames(path.join(temp, version, 'model.onnx'));
    config['input_name'] ??= names.input;
    config['output_name'] ??= names.output;
  }
  checkedConfig(config);
  await writeFile(path.join(temp, 'config.json'), `${JSON.stringify(config, null, 2)}\n`, { flag: 'wx' });
  if (labels) await writeFile(path.join(temp, LABELS), `${labels.lines.join('\n')}\n`, { flag: 'wx' });
  await mkdir(path.join(temp, 'MAR-INF'));
  await writeFile(path.join(temp, MANIFEST), read.manifestBytes, { flag: 'wx' });
}

/**
 * Unpacks `archive`, a file name in the store (a link to a file inside the store will do), or
 * finds it already unpacked. Refusals are ArchiveRefused; a missing file is ENOENT; a link out of
 * the store is OutsideStoreError.
 */
export async function unpackArchive(realRoot: string, archive: string, opts: { maxBytes: number }): Promise<UnpackedArchive> {
  const file = await realPathInside(realRoot, path.join(realRoot, archive), archive);
  const info = await stat(file);
  if (!info.isFile()) throw new ArchiveRefused('it is not a file');
  const folder = path.join(UNPACKED, `${archive}-${info.size}-${Math.trunc(info.mtimeMs)}`);
  const target = path.join(realRoot, folder);
  const done = await realPathInside(realRoot, path.join(target, MANIFEST), `${folder}/${MANIFEST}`)
    .then((real) => readFile(real))
    .catch((e: unknown) => {
      if (isMissing(e)) return null;
      throw e;
    });
  if (done) return { folder, manifest: parseManifest(jsonOf(MANIFEST, done)) };

  const reader = await ArchiveReader.open(file, { entries: MAX_ENTRIES, bytes: opts.maxBytes });
  try {
    const read = await readArchive(reader, archive);
    const temp = await mkdtemp(path.join(await unpackedFolder(realRoot), '.tmp-'));
    try {
      await writeFolder(reader, temp, archive, read);
      await chmod(temp, 0o755);
      await rename(temp, target).catch(async (e: NodeJS.ErrnoException) => {
        // Unpacked meanwhile by another registration of the same archive: theirs is as good.
        if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
        await rm(temp, { recursive: true, force: true });
      });
    } catch (e) {
      await rm(temp, { recursive: true, force: true });
      throw e;
    }
    log.info(`${archive}: unpacked into ${folder}`);
    return { folder, manifest: read.manifest };
  } finally {
    reader.close();
  }
}
