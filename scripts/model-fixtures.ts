// What the scripts that build the test models (scripts/null-model/, segmenter-model/, text-model/)
// share around their own model: writing its store folder, and the verdict of its check against
// onnxruntime-node.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../server/ops/paths.js';

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
