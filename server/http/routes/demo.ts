// The demo page on the inference port: the page, its compiled scripts, the runtime scripts and
// onnxruntime-web (the same files the gateway's own pages load), a few sample images, and what
// a visitor's browser needs to run a model itself: the list of models, their files and labels.
// Every file comes from a list fixed at start-up; model files are looked up in the store.

import type { Response, Router } from 'express';
import { Type } from '@sinclair/typebox';
import { binary, error, json } from '../api-schemas.js';
import path from 'node:path';
import type { DemoModel, WebgpuBuild } from '../../../browser-runtime/protocol.js';
import type { InferenceEngine } from '../../page/inference-engine.js';
import { loadRequestFor } from '../../page/load-request.js';
import { shortLabel } from '../../store/model-config.js';
import type { ModelStore, ModelVersion } from '../../store/model-store.js';
import { PROJECT_ROOT } from '../../ops/paths.js';
import { listFiles, runtimeFiles, serveListed, serveModelFile, type FileList } from '../static-files.js';
import { strictRouter } from '../express-app.js';
import type { Operation } from '../operation.js';

export interface DemoFiles {
  page: string;
  /** public/'s styles and icon, and its compiled scripts. */
  files: FileList;
  samples: FileList;
  scripts: FileList;
  handlers: FileList;
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
  ortBuild: WebgpuBuild;
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

function descriptionOf(v: ModelVersion, engine: InferenceEngine, settings: DemoSettings): DemoModel {
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
    fit: v.config.fit,
    fill: v.config.fill,
    align: v.config.align,
    labelsUrl: `${modelPath(v)}/labels.json`,
    load: loadRequestFor(v, { modelUrl: `${modelPath(v)}/model.onnx`, backend: 'auto', ortBuild: settings.ortBuild, wasmThreads: 1, parityTolerance: settings.parityTolerance, maxBatch: 1 }),
  };
}

/** Every demo file is cross-origin isolated, and its own (served from a list, so never guessed at). */
export function demoIsolation(): Router {
  return strictRouter().use(['/demo', '/browser-runtime', '/ort'], (_req, res, next) => {
    isolate(res);
    next();
  });
}

const file = (content: string): Operation['responses'] => ({ 200: { description: 'The file', content: { [content]: binary } }, 404: error('Not a listed file') });
const listed = (id: string, path: string, summary: string, files: FileList, content: string): Operation => ({
  id,
  method: 'get',
  path,
  summary,
  responses: file(content),
  handler: serveListed(files),
});

/** The page and the files it is made of: open to anyone, key or not (it asks for the key itself). */
export function demoPageOperations(files: DemoFiles): Operation[] {
  return [
    {
      id: 'demoPage',
      method: 'get',
      path: '/',
      summary: 'The demo page',
      responses: file('text/html'),
      handler: (_req, res) => {
        isolate(res);
        res.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
        res.sendFile(files.page);
      },
    },
    {
      id: 'favicon',
      method: 'get',
      path: '/favicon.ico',
      summary: "The demo page's icon",
      responses: { 301: { description: 'To /demo/icon.svg' } },
      handler: (_req, res) => res.redirect(301, '/demo/icon.svg'),
    },
    listed('demoSample', '/demo/samples/{file}', 'A sample image', files.samples, 'image/*'),
    listed('demoFile', '/demo/{file}', "The demo page's scripts and styles", files.files, '*/*'),
    listed('runtimeScript', '/browser-runtime/{file}', "The runtime scripts the gateway's pages run too", files.scripts, 'text/javascript'),
    listed('runtimeHandlerScript', '/browser-runtime/handlers/{file}', "The handlers' runtime scripts", files.handlers, 'text/javascript'),
    listed('ortFile', '/ort/{file}', 'onnxruntime-web', files.ort, '*/*'),
  ];
}

/** What a local run downloads: the model list, model files and labels. Behind the inference key when keys are on. */
export function demoModelOperations(store: ModelStore, engine: InferenceEngine, settings: DemoSettings): Operation[] {
  const params = [
    { name: 'name', in: 'path' as const, schema: Type.String(), description: 'Name of the model' },
    { name: 'version', in: 'path' as const, schema: Type.String(), description: 'Version' },
  ];
  return [
    {
      id: 'demoModels',
      method: 'get',
      path: '/demo/models',
      summary: 'Every model version, with what a browser needs to run it',
      responses: { 200: json('The models', Type.Object({ models: Type.Array(Type.Object({ modelName: Type.String(), modelVersion: Type.String(), load: Type.Object({}) })) })) },
      handler: (_req, res) => {
        res.json({ models: store.allVersions().map((v) => descriptionOf(v, engine, settings)) });
      },
    },
    {
      id: 'demoModelFile',
      method: 'get',
      path: '/demo/models/{name}/{version}/model.onnx',
      summary: "A model version's ONNX file",
      params,
      responses: file('application/octet-stream'),
      handler: serveModelFile(store),
    },
    {
      id: 'demoLabels',
      method: 'get',
      path: '/demo/models/{name}/{version}/labels.json',
      summary: "A model version's class labels",
      params,
      responses: { 200: json('The labels, named as the answers name them', Type.Array(Type.String())), 404: error('No such version') },
      handler: (req, res, next) => {
        const v = store.find(req.params['name'] as string, req.params['version'] as string);
        // Named as the server's answers name them, so the page can compare a local run with them.
        if (v) res.json(v.config.outputFormat === 'torchserve' ? v.labels.map(shortLabel) : v.labels);
        else next();
      },
    },
  ];
}
