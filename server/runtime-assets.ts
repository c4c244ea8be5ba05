// The loopback-only HTTP server that feeds the runtime pages: the page, its compiled scripts,
// onnxruntime-web's files and the store's model files, each from a list fixed at start-up.
// Nothing else on disk is reachable, whatever the path asked for.

import express from 'express';
import { readdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import path from 'node:path';
import type { ModelStore } from './model-store.js';
import { ORT_DIST, PROJECT_ROOT } from './paths.js';

export interface RuntimeAssetServer {
  origin: string;
  close(): Promise<void>;
}

async function listFiles(dir: string, pattern: RegExp): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const name of await readdir(dir)) if (pattern.test(name)) files.set(name, path.join(dir, name));
  return files;
}

export async function startRuntimeAssets(store: ModelStore): Promise<RuntimeAssetServer> {
  const scripts = await listFiles(path.join(PROJECT_ROOT, 'dist', 'browser-runtime'), /^[a-z0-9-]+\.js(\.map)?$/);
  const ort = await listFiles(ORT_DIST, /^ort[a-z0-9.-]*\.(mjs|wasm)$/);
  const page = path.join(PROJECT_ROOT, 'browser-runtime', 'index.html');

  const app = express();
  app.disable('x-powered-by');
  // Cross-origin isolation lets the page use WASM threads (SharedArrayBuffer).
  app.use((_req, res, next) => {
    res.set({ 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cache-Control': 'no-store' });
    next();
  });
  const serve = (files: Map<string, string>, key: (p: Record<string, string>) => string): express.RequestHandler => (req, res) => {
    const file = files.get(key(req.params as Record<string, string>));
    if (file) res.sendFile(file);
    else res.sendStatus(404);
  };
  app.get('/', (_req, res) => res.sendFile(page));
  app.get('/favicon.ico', (_req, res) => res.sendStatus(204));
  app.get('/js/browser-runtime/:file', serve(scripts, (p) => p['file']!));
  app.get('/ort/:file', serve(ort, (p) => p['file']!));
  // Looked up per request: models registered after start are served too, and nothing else.
  app.get('/models/:name/:version/model.onnx', (req, res) => {
    const file = store.modelFile(req.params.name, req.params.version);
    if (file) res.sendFile(file);
    else res.sendStatus(404);
  });
  app.use((_req, res) => res.sendStatus(404));

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s)).on('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
