// A TorchServe model archive's MAR-INF/MANIFEST.json, as torch-model-archiver writes it:
//   {"createdOn", "runtime": "python", "model": {"modelName", "serializedFile", "handler",
//    "modelVersion", "modelFile"?, "extensions"?, "requirementsFile"?, "configFile"?},
//    "archiverVersion"}
// and what this server makes of it (modelFile, a Python model definition, is unused beside an
// ONNX model in TorchServe too; requirementsFile is pip's): the name and version, the model file, and the handler,
// refused where it is Python or a PyTorch model. Pure: tested without an archive.

import { SAFE_NAME } from '../model-config.js';
import { ArchiveRefused } from './archive-refused.js';
import { isJsonObject } from '../../ops/json-object.js';

/** TorchServe's own handlers that this server has counterparts of; the first is TorchServe's usual choice for images. */
export const BUILT_IN_HANDLERS = ['image_classifier', 'object_detector', 'image_segmenter', 'text_classifier'] as const;
export type BuiltInHandler = (typeof BUILT_IN_HANDLERS)[number];

/** The handler a model runs with: a built-in name, or a JavaScript file of the archive. */
export type Handler = { kind: 'built-in'; name: BuiltInHandler } | { kind: 'javascript'; file: string };

export interface MarManifest {
  /** null where the manifest names none: the archive's file name gives it at start (TorchServe's default name). */
  modelName: string | null;
  /** TorchServe's default where the manifest has none. */
  modelVersion: string;
  /** Where the ONNX model lies in the archive. */
  serializedFile: string;
  handler: Handler;
  /** The archive's model-config.yaml (TorchServe's `--config-file`), if it names one. */
  configFile: string | null;
  description: string | null;
}

/** TorchServe's runtimes: the manifest's says how TorchServe would run the handler; this server runs none of them. */
const RUNTIMES = ['python', 'python2', 'python3'];

/** What this server runs, and how to get there: said wherever an archive is refused for holding PyTorch or Python. */
export const WHAT_RUNS =
  `This server runs ONNX models, with a built-in handler (${BUILT_IN_HANDLERS.join(', ')}) or a JavaScript handler.js in the archive. ` +
  'Export the model with torch.onnx.export(model, example_input, "model.onnx", input_names=["input"], output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}) ' +
  'and archive it with torch-model-archiver --serialized-file model.onnx --handler image_classifier (or the built-in handler that fits).';

type Json = Record<string, unknown>;

function optionalString(obj: Json, key: string, where: string): string | null {
  const v = obj[key];
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string') throw new ArchiveRefused(`${where} "${key}" must be a string`);
  return v;
}

/** A PyTorch model file, by the extensions torch.save, torch.jit.save and torch-model-archiver's examples use. */
const PYTORCH_FILE = /\.(pt|pth|pt2|ptl|torchscript|tar|bin|safetensors|ckpt)$/i;

/**
 * The handler the manifest names: a built-in name, a `.js` file, or Python. torch-model-archiver
 * writes a handler file's base name ("handler.py"), a module and function ("handler:handle"), or
 * a built-in name; an absent one is TorchServe's default for images.
 */
export function handlerOf(named: string | null): Handler | { kind: 'python'; name: string } {
  const name = named ?? 'image_classifier';
  if ((BUILT_IN_HANDLERS as readonly string[]).includes(name)) return { kind: 'built-in', name: name as BuiltInHandler };
  if (/\.js$/i.test(name) && !name.includes(':')) return { kind: 'javascript', file: name };
  return { kind: 'python', name };
}

/** Checks a parsed MANIFEST.json; refuses, naming everything it found wrong, what cannot run here. */
export function parseManifest(json: unknown): MarManifest {
  if (!isJsonObject(json)) throw new ArchiveRefused('MAR-INF/MANIFEST.json must hold an object');
  if (!isJsonObject(json['model'])) throw new ArchiveRefused('MAR-INF/MANIFEST.json has no "model" object (missing Model entry in manifest file)');
  const model = json['model'];
  const where = 'MAR-INF/MANIFEST.json model';
  const runtime = optionalString(json, 'runtime', 'MAR-INF/MANIFEST.json') ?? 'python';
  if (!RUNTIMES.includes(runtime)) throw new ArchiveRefused(`MAR-INF/MANIFEST.json runtime "${runtime.slice(0, 40)}" is not one of TorchServe's (${RUNTIMES.join(', ')})`);

  const modelName = optionalString(model, 'modelName', where);
  if (modelName !== null && !SAFE_NAME.test(modelName))
    throw new ArchiveRefused(`modelName "${modelName.slice(0, 140)}" may hold letters, digits, '.', '_' and '-' only, starting with a letter or digit`);
  const modelVersion = optionalString(model, 'modelVersion', where) ?? '1.0';
  if (!SAFE_NAME.test(modelVersion)) throw new ArchiveRefused(`modelVersion "${modelVersion.slice(0, 140)}" may hold letters, digits, '.', '_' and '-' only`);

  const serialized = optionalString(model, 'serializedFile', where);
  const handler = handlerOf(optionalString(model, 'handler', where));
  const problems: string[] = [];
  if (serialized === null) problems.push('it names no serializedFile (the model file)');
  else if (PYTORCH_FILE.test(serialized)) problems.push(`its serialized file "${serialized.slice(0, 200)}" is a PyTorch model`);
  else if (!/\.onnx$/i.test(serialized)) problems.push(`its serialized file "${serialized.slice(0, 200)}" is not an ONNX model (.onnx)`);
  if (handler.kind === 'python') problems.push(`its handler "${handler.name.slice(0, 200)}" is Python, which this server does not run`);
  if (problems.length > 0) throw new ArchiveRefused(`${problems.join('; ')}. ${WHAT_RUNS}`);

  return {
    modelName,
    modelVersion,
    serializedFile: serialized!,
    handler: handler as Handler,
    configFile: optionalString(model, 'configFile', where),
    description: optionalString(model, 'description', where) ?? optionalString(json, 'description', 'MAR-INF/MANIFEST.json'),
  };
}

/**
 * TorchServe's default model name for an archive that names none: the file's name without its
 * extension, every character other than a letter, digit or '_' made '_' (ModelServer.getDefaultModelName).
 */
export function defaultModelName(archive: string): string {
  const base = archive.slice(archive.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return (dot > 0 ? base.slice(0, dot) : base).replace(/\W/g, '_');
}
