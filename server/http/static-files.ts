// Fixed lists of files the gateway may send, built once at start-up from a folder and a name
// pattern. A request names a file; it is looked up in the list, never joined to a path, so no
// spelling of a path reaches anything else on disk.

import type { RequestHandler } from 'express';
import type { ModelStore } from '../store/model-store.js';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { ORT_DIST, PROJECT_ROOT } from '../ops/paths.js';

export type FileList = ReadonlyMap<string, string>;

export async function listFiles(dir: string, pattern: RegExp): Promise<FileList> {
  const files = new Map<string, string>();
  const names = await readdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [] as string[];
    throw e;
  });
  for (const name of names) if (pattern.test(name)) files.set(name, path.join(dir, name));
  return files;
}

/** The compiled runtime page scripts and onnxruntime-web's builds, as both kinds of page load them. */
export async function runtimeFiles(): Promise<{ scripts: FileList; handlers: FileList; ort: FileList }> {
  const scripts = path.join(PROJECT_ROOT, 'dist', 'browser-runtime');
  return {
    scripts: await listFiles(scripts, /^[a-z0-9-]+\.js(\.map)?$/),
    handlers: await listFiles(path.join(scripts, 'handlers'), /^[a-z0-9-]+\.js(\.map)?$/),
    ort: await listFiles(ORT_DIST, /^ort[a-z0-9.-]*\.(mjs|wasm)$/),
  };
}

/** Sends `files[req.params.file]`, or passes the request on (to the 404) when it is not listed. */
export function serveListed(files: FileList): RequestHandler {
  return (req, res, next) => {
    const name = req.params['file'];
    const file = typeof name === 'string' ? files.get(name) : undefined;
    if (file) res.sendFile(file);
    else next();
  };
}

/**
 * `/:name/:version/model.onnx` of a registered version, looked up per request: models registered
 * after start are served too, and nothing else. Passes the request on when there is none.
 */
export function serveModelFile(store: ModelStore): RequestHandler {
  return (req, res, next) => {
    const { name, version } = req.params as Record<string, string>;
    const model = name && version ? store.find(name, version) : undefined;
    // The path is the store's real path, never the request's; a Kubernetes volume's real paths
    // pass through hidden `..2024_…` folders, which sendFile refuses unless told otherwise.
    if (model) res.sendFile(model.file, { dotfiles: 'allow' });
    else next();
  };
}

/**
 * `/:name/:version/handler.js`: a registered version's own handler module, from the store's real
 * path (model-store.ts found it inside the store); the request passes on where there is none.
 */
export function serveHandlerFile(store: ModelStore): RequestHandler {
  return (req, res, next) => {
    const { name, version } = req.params as Record<string, string>;
    const file = name && version ? store.find(name, version)?.handlerFile : undefined;
    if (file) res.sendFile(file, { dotfiles: 'allow', headers: { 'Content-Type': 'text/javascript; charset=utf-8' } });
    else next();
  };
}
