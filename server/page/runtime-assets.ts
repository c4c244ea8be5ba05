// The loopback-only HTTP server that feeds the runtime pages: the page, its compiled scripts,
// onnxruntime-web's files and the store's model files (and a model's own handler.js), each from a
// list fixed at start-up or the store's real paths.
// Nothing else on disk is reachable, whatever the path asked for.
//
// Every file is under a path that holds a secret made at each start, which only the pages are
// told (they navigate there and load the rest by relative URLs): any other process on the machine
// can reach a loopback port, and model files are not its to read. Anything else answers 404.

import express, { type NextFunction, type Request, type Response } from 'express';
import { strictApp } from '../http/express-app.js';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { libraryClientError } from '../errors.js';
import { log } from '../ops/log.js';
import type { ModelStore } from '../store/model-store.js';
import { PROJECT_ROOT } from '../ops/paths.js';
import { runtimeFiles, serveHandlerFile, serveListed, serveModelFile } from '../http/static-files.js';
import { RUNTIME_CONTENT_SECURITY_POLICY } from './runtime-policy.js';

export interface RuntimeAssetServer {
  origin: string;
  /** Where the runtime page is, secret included; every other file is relative to it. */
  pageUrl: string;
  close(): Promise<void>;
}

export async function startRuntimeAssets(store: ModelStore): Promise<RuntimeAssetServer> {
  const { scripts, handlers, ort } = await runtimeFiles();
  const page = path.join(PROJECT_ROOT, 'browser-runtime', 'index.html');

  const app = strictApp();
  // Cross-origin isolation lets the page use WASM threads (SharedArrayBuffer). The policy keeps
  // every page, and any model's own handler.js in it, to this origin (runtime-policy.ts).
  app.use((_req, res, next) => {
    res.set({
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Content-Security-Policy': RUNTIME_CONTENT_SECURITY_POLICY,
      'Cache-Control': 'no-store',
    });
    next();
  });
  const secret = randomBytes(24).toString('base64url');
  const files = express.Router({ caseSensitive: true, strict: true });
  files.get('/', (_req, res) => res.sendFile(page));
  files.get('/browser-runtime/:file', serveListed(scripts));
  files.get('/browser-runtime/handlers/:file', serveListed(handlers));
  files.get('/ort/:file', serveListed(ort));
  files.get('/models/:name/:version/model.onnx', serveModelFile(store));
  files.get('/models/:name/:version/handler.js', serveHandlerFile(store));
  app.get('/favicon.ico', (_req, res) => res.sendStatus(204));
  app.use(`/${secret}`, files);
  app.use((_req, res) => res.sendStatus(404));
  // Only the runtime pages call here: an error is answered by its bare status, never Express's
  // page, which holds the stack and the server's paths.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const raised = libraryClientError(err);
    if (raised) log.warn(`runtime assets: ${req.method} ${req.originalUrl}: answered ${raised.status} for ${raised.message}`);
    else log.error(`runtime assets: ${req.method} ${req.originalUrl} failed`, err);
    if (res.headersSent) res.destroy();
    else res.sendStatus(raised?.status ?? 500);
  });

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s)).on('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    pageUrl: `${origin}/${secret}/`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
