// What the scripts that build the test models (scripts/null-model/, segmenter-model/, text-model/)
// share around their own model: its store folder's files, writing them, and the verdict of its
// check against onnxruntime-node.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../server/ops/paths.js';

/**
 * The files of one model's folder in a store, by path relative to the store: config.json as
 * JSON.stringify writes it (2 spaces, a final newline), labels.txt and any other text files as
 * given, then <version>/model.onnx.
 */
export function modelFolderFiles(
  name: string,
  version: string,
  files: { config: Record<string, unknown>; labels: string; texts?: Record<string, string>; model: Uint8Array },
): Map<string, Uint8Array> {
  const utf8 = (s: string) => new TextEncoder().encode(s);
  return new Map<string, Uint8Array>([
    [`${name}/config.json`, utf8(`${JSON.stringify(files.config, null, 2)}\n`)],
    [`${name}/labels.txt`, utf8(files.labels)],
    ...Object.entries(files.texts ?? {}).map(([file, text]): [string, Uint8Array] => [`${name}/${file}`, utf8(text)]),
    [`${name}/${version}/model.onnx`, files.model],
  ]);
}

/** Writes `files` (paths relative to the store) under `store`, a folder of the repository; answers the store's absolute path. */
export function writeStoreFiles(store: string, files: ReadonlyMap<string, Uint8Array>): string {
  const root = path.join(PROJECT_ROOT, store);
  for (const [rel, bytes] of files) {
    const file = path.join(root, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, bytes);
    console.log(`wrote ${path.relative(PROJECT_ROOT, file)} (${bytes.length} bytes)`);
  }
  return root;
}

/** Ends the check: exit 1 naming each problem, else says it passed. */
export function reportCheck(what: string, problems: readonly string[]): void {
  if (problems.length) {
    console.error(`${what} check FAILED:\n- ${problems.join('\n- ')}`);
    process.exit(1);
  }
  console.log(`${what} check passed`);
}
