// The demo page on the inference port: the page, its compiled scripts, the runtime scripts and
// onnxruntime-web (the same files the gateway's own pages load), a few sample images, and what
// a visitor's browser needs to run a model itself: the list of models, their files and labels.
// Every file comes from a list fixed at start-up; model files are looked up in the store.

import type { Router, Response } from 'express';
import path from 'node:path';
import type { DemoModel, OrtBuild } from '../../browser-runtime/protocol.js';
import type { InferenceEngine } from '../bridge/inference-engine.js';
import { loadRequestFor } from '../bridge/load-request.js';
import { shortLabel } from '../model-config.js';
import type { ModelStore, ModelVersion } from '../model-store.js';
import { PROJECT_ROOT } from '../paths.js';
import { listFiles, runtimeFiles, serveListed, serveModelFile, type FileList } from '../static-files.js';
import { strictRouter } from '../express-app.js';

export interface DemoFiles {
  page: string;
  /** public/'s styles and icon, and its compiled scripts. */
  files: FileList;
  samples: FileList;
  scripts: FileList;
  ort: FileList;
}

export async function demoFiles(): Promise<DemoFiles> {
  const publicDir = path.join(PROJECT_ROOT, 'public');
  const own = await listFiles(publicDir, /^[a-z0-9-]+\.(css|svg)$/);
  const compiled = await listFiles(path.join(PROJECT_ROOT, 'dist', 'public'), /^[a-z0-9-]+\.js(\.map)?$/);
  return {
    page: path.join(publicDir, 'index.html'),
    files: new Map([...own, ...compiled]),
    samples: await listFiles(path.join(publicDir, 'samples'), /^[a-z0-9_-]+\.(jpg|png|webp)$/),
    ...(await runtimeFiles()),
  };
}

export interface DemoSettings {
  ortBuild: OrtBuild;
  parityTolerance: number;
}

// Nothing on the page comes from elsewhere; WASM compiles need 'wasm-unsafe-eval', and the
// image the visitor picks is shown from a blob: URL.
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function isolate(res: Response): void {
  // Cross-origin isolation gives the page SharedArrayBuffer, so a local WASM run uses threads.
  res.set({
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-cache',
  });
}

const modelPath = (v: ModelVersion) => `/demo/models/${encodeURIComponent(v.name)}/${encodeURIComponent(v.version)}`;

function describe(v: ModelVersion, engine: InferenceEngine, settings: DemoSettings): DemoModel {
  const status = engine.status(v);
  const runtime = status?.workers.find((w) => w.runtime)?.runtime ?? null;
  return {
    modelName: v.name,
    modelVersion: v.version,
    isDefault: v.isDefault,
    description: v.config.description,
    status: status?.state ?? 'unknown',
    backend: runtime?.backend ?? null,
    adapter: runtime?.adapter ?? null,
    fallbackReason: runtime?.fallbackReason ?? null,
    modelBytes: v.bytes,
    resize: v.config.resize,
    labelsUrl: `${modelPath(v)}/labels.json`,
    load: loadRequestFor(v, { modelUrl: `${modelPath(v)}/model.onnx`, backend: 'auto', ortBuild: settings.ortBuild, wasmThreads: 1, parityTolerance: settings.parityTolerance, maxBatch: 1 }),
  };
}

/** The page and the files it is made of: open to anyone, key or not (it asks for the key itself). */
export function demoPageRouter(files: DemoFiles): Router {
  const router = strictRouter();
  router.use(['/demo', '/browser-runtime', '/ort'], (_req, res, next) => {
    isolate(res);
    next();
  });
  router.get('/', (_req, res) => {
    isolate(res);
    res.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    res.sendFile(files.page);
  });
  router.get('/favicon.ico', (_req, res) => res.redirect(301, '/demo/icon.svg'));
  router.get('/demo/samples/:file', serveListed(files.samples));
  router.get('/demo/:file', serveListed(files.files));
  router.get('/browser-runtime/:file', serveListed(files.scripts));
  router.get('/ort/:file', serveListed(files.ort));
  return router;
}

/** What a local run downloads: the model list, model files and labels. Behind the inference key when keys are on. */
export function demoModelsRouter(store: ModelStore, engine: InferenceEngine, settings: DemoSettings): Router {
  const router = strictRouter();
  router.get('/demo/models', (_req, res) => {
    res.json({ models: store.allVersions().map((v) => describe(v, engine, settings)) });
  });
  router.get('/demo/models/:name/:version/model.onnx', serveModelFile(store));
  router.get('/demo/models/:name/:version/labels.json', (req, res, next) => {
    const v = store.find(req.params.name, req.params.version);
    // Named as the server's answers name them, so the page can compare a local run with them.
    if (v) res.json(v.config.outputFormat === 'torchserve' ? v.labels.map(shortLabel) : v.labels);
    else next();
  });
  return router;
}
