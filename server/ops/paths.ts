import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The project root: this file compiles to <root>/dist/server/ops/paths.js. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** onnxruntime-web's dist folder, where its builds and .wasm files are. */
export const ORT_DIST = path.dirname(fileURLToPath(import.meta.resolve('onnxruntime-web')));
