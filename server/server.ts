// Assembles the server. Start-up order matters:
//   1. the TLS key and certificate are read, the model store is read, its initial workers
//      counted and the key file written (a bad config, a bad PEM file, more pages than max_workers
//      or a bad key_file fails here, before anything listens or a browser is launched);
//   2. the loopback asset server starts, so pages have somewhere to load from;
//   3. the HTTP (or HTTPS) listeners open at once (/ping says unhealthy until every model is ready);
//   4. Chromium launches and every model version loads in its own page.

import { createServer, type RequestListener, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ChromiumEngine } from './page/chromium-engine.js';
import { findChromium } from './chromium/find-chromium.js';
import type { InferenceEngine } from './page/inference-engine.js';
import { readTls, type ServerConfig } from './config/config.js';
import { Admission } from './pipeline/admission.js';
import { Uploads } from './http/uploads/uploads.js';
import { fullCollection, IdleCollector } from './ops/idle-collector.js';
import { isLoopback, isLoopbackHost, makeKeys, requireKey, type ApiKeys } from './auth/auth.js';
import { corsHandler } from './http/cors.js';
import { DecodePool } from './image/decode-pool.js';
import { DecodeProcess } from './image/decode-process.js';
import { startGrpcListeners, type GrpcListeners } from './grpc/grpc-listeners.js';
import { kserveInferenceService } from './grpc/kserve-inference.js';
import { torchserveInferenceService } from './grpc/torchserve-inference.js';
import { torchserveManagementService } from './grpc/torchserve-management.js';
import type { InferenceGuards } from './pipeline/inference-core.js';
import { createInferenceApp } from './http/inference-app.js';
import { writeKeyFile } from './auth/key-file.js';
import { log } from './ops/log.js';
import { createManagementApp } from './http/management-app.js';
import { Metrics } from './ops/metrics.js';
import { createMetricsApp } from './http/metrics-app.js';
import { ModelStore } from './store/model-store.js';
import { PROJECT_ROOT } from './ops/paths.js';
import { startRuntimeAssets } from './page/runtime-assets.js';
import { demoFiles } from './http/routes/demo.js';
import { checkStartWorkers, workerLimitOf } from './page/worker-budget.js';

export const VERSION: string = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')).version;

export interface RunningServer {
  inferenceUrl: string;
  managementUrl: string;
  metricsUrl: string;
  /** host:port of the gRPC listeners; null when gRPC is off. */
  grpc: { inference: string; management: string } | null;
  store: ModelStore;
  engine: InferenceEngine;
  /** The image decode slots and their processes. */
  decodes: DecodePool;
  /** Resolves when every model has loaded or failed. */
  ready: Promise<void>;
  /** The API keys, when token authorization is on. */
  keys: ApiKeys | null;
  /** The loopback listener that feeds the runtime pages (its files are under a secret path); null with an engine given. */
  runtimeOrigin: string | null;
  /** The request byte budget, and the bodies still arriving by client: what readiness reads. */
  admission: Admission;
  uploads: Uploads;
  /** Each listener's application: what it serves (the contract suite compares it with the table). */
  apps: { inference: RequestListener; management: RequestListener; metrics: RequestListener };
  close(): Promise<void>;
}

type Server = HttpServer | HttpsServer;

/**
 * Slow or idle clients may not hold connections forever: headers within 10 s (checked every
 * second, not Node's default 30), the whole request within the response timeout. Past
 * `maxConnections` new connections are closed at once, below the open-file limit, so that files,
 * model loads and Chromium's pipes always have descriptors left. An https:// address is served
 * with the key and certificate of `tls`, under the same limits, its TLS handshake within the 10 s
 * given to headers (Node's default is 120).
 */
function listen(app: import('express').Express, address: URL, opts: { requestTimeoutMs: number; maxConnections: number; tls: ReturnType<typeof readTls> | null }): Promise<Server> {
  return new Promise((resolve, reject) => {
    const host = address.hostname.replace(/^\[(.*)\]$/, '$1');
    // Node refuses a headers timeout longer than the request timeout (default_response_timeout may be under 10 s).
    const limits = { headersTimeout: Math.min(10_000, opts.requestTimeoutMs), requestTimeout: opts.requestTimeoutMs, connectionsCheckingInterval: 1000 };
    const secure = address.protocol === 'https:';
    const server: Server = secure ? createHttpsServer({ ...limits, handshakeTimeout: limits.headersTimeout, ...opts.tls! }, app) : createServer(limits, app);
    server.maxConnections = opts.maxConnections;
    server.on('error', reject);
    server.listen(Number(address.port || (secure ? 443 : 80)), host, () => resolve(server));
  });
}

const appOf = (server: Server) => server.listeners('request')[0] as RequestListener;

const urlOf = (server: Server) => {
  const a = server.address() as AddressInfo;
  return `${server instanceof HttpsServer ? 'https' : 'http'}://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
};

export async function startServer(config: ServerConfig, engineOverride?: InferenceEngine): Promise<RunningServer> {
  const tls = config.tls && readTls(config.tls);
  const store = await ModelStore.open(config.modelStore, config.loadModels);
  log.info(
    `model store ${store.root}: ${store
      .allVersions()
      .map((v) => v.key + (v.isDefault ? ' (default)' : ''))
      .join(', ')}`,
  );
  checkStartWorkers(store.allVersions(), workerLimitOf(config));
  const authOn =
    config.tokenAuthorization ??
    !([config.inferenceAddress, config.managementAddress, config.metricsAddress].every(isLoopback) && [config.grpc?.inference, config.grpc?.management].every((a) => !a || isLoopbackHost(a.host)));
  const keys = authOn ? makeKeys(config.givenKeys) : null;
  if (keys) writeKeyFile(config.keyFile, keys);
  const chromePath = engineOverride ? '' : findChromium(config.chromePath);
  // The engine reports restarts before the metrics exist; these late-bound hooks bridge that.
  let metrics: Metrics | null = null;
  const events = {
    browserRelaunched: () => metrics?.browserRestarts.inc(),
    workerReplaced: (m: { name: string; version: string }) => metrics?.pageRestarts.inc({ model_name: m.name, model_version: m.version }),
    parityFailed: (m: { name: string; version: string }) => metrics?.parityFailures.inc({ model_name: m.name, model_version: m.version }),
  };
  const assets = engineOverride ? null : await startRuntimeAssets(store);
  const engine =
    engineOverride ??
    new ChromiumEngine({
      chromePath,
      runtime: { origin: assets!.origin, pageUrl: assets!.pageUrl },
      sandbox: config.chromiumSandbox,
      chromiumUser: config.chromiumUser,
      backend: config.backend,
      batchSize: config.batchSize,
      maxBatchDelayMs: config.maxBatchDelayMs,
      workers: config.workers,
      maxWorkers: config.maxWorkers,
      jobQueueSize: config.jobQueueSize,
      chromiumArgs: config.chromiumArgs,
      ortBuild: config.ortBuild,
      wasmThreads: config.wasmThreads,
      parityTolerance: config.parityTolerance,
      loadTimeoutMs: Math.max(config.defaultResponseTimeout * 1000, 120_000),
      events,
    });
  metrics = new Metrics(store, engine);

  // Shutdown is two steps: `leaving` fails readiness at once; `closing`, shutdown_delay later, refuses new requests.
  let leaving = false;
  let closing = false;
  let inFlight = 0;
  let drained: (() => void) | null = null;
  // Once a burst is over, what its bodies took goes back to the system (idle-collector.ts).
  const collector = new IdleCollector(64 * 2 ** 20, 1000, fullCollection());
  const admission = new Admission(config.jobQueueSize, config.maxInflightBytes, config.maxRequestSize, (bytes, held) => collector.given(bytes, held));
  const uploads = new Uploads(config.uploads);
  // One decode process per slot, started once the listeners are up (a failed start leaves none behind).
  const decodes = new DecodePool(
    Array.from({ length: config.decodeSlots }, () => new DecodeProcess()),
    64 * config.decodeSlots,
  );
  // Ready means a new request would be served: not while shutting down, loading, or while the
  // request budget or the decode slots are exhausted by work taken in (a balancer should send
  // work elsewhere). Bodies still arriving do not count: a client that stalls its uploads would
  // otherwise take the replica out of rotation for everyone; it meets its own bound instead.
  // Overload comes and goes on its own, so its start and end are logged.
  let overload: string | null = null;
  const readiness = () => {
    if (leaving || !engine.healthy()) return false;
    const now = admission.blocked(uploads.bytesArriving) ?? decodes.blocked();
    if (now !== overload) {
      if (now) log.warn(`not ready: ${now}`);
      else log.info('ready again');
      overload = now;
    }
    return now === null;
  };
  const cors = config.cors ? corsHandler(config.cors) : undefined;
  const requestTimeoutMs = config.defaultResponseTimeout * 1000;
  const guards: InferenceGuards = {
    admission,
    decodes,
    uploads,
    maxRequestSize: config.maxRequestSize,
    maxImagePixels: config.maxImagePixels,
    maxJpegScans: config.maxJpegScans,
    defaultResponseTimeoutMs: requestTimeoutMs,
    isClosing: () => closing,
    track: () => {
      inFlight++;
      return () => {
        if (--inFlight === 0) drained?.();
      };
    },
  };
  // Told when shutdown starts refusing requests: open gRPC streams end once their answers are sent.
  const closingListeners = new Set<() => void>();
  const onClosing = (listener: () => void) => {
    closingListeners.add(listener);
    return () => closingListeners.delete(listener);
  };
  const inference = await listen(
    createInferenceApp({
      ...(cors ? { cors } : {}),
      store,
      engine,
      version: VERSION,
      ...(config.demoPage ? { demo: { files: await demoFiles(), settings: { ortBuild: config.ortBuild, parityTolerance: config.parityTolerance } } } : {}),
      ...(keys ? { auth: requireKey(keys.inference) } : {}),
      metrics,
      isHealthy: readiness,
      guards,
    }),
    config.inferenceAddress,
    { requestTimeoutMs, maxConnections: config.maxConnections, tls },
  );
  const small = { requestTimeoutMs, maxConnections: config.smallListenerConnections, tls };
  const management = await listen(
    createManagementApp(store, engine, VERSION, workerLimitOf(config), config.defaultResponseTimeout, keys ? requireKey(keys.management) : undefined, cors),
    config.managementAddress,
    small,
  );
  const metricsServer = await listen(createMetricsApp(metrics, VERSION, keys ? requireKey(keys.management) : undefined), config.metricsAddress, small);
  let grpc: GrpcListeners | null = null;
  if (config.grpc) {
    const env = { metrics };
    const deps = { store, engine, guards, isHealthy: readiness, onClosing };
    grpc = await startGrpcListeners({
      inference: config.grpc.inference,
      management: config.grpc.management,
      tls: config.grpc.tls ? tls : null,
      maxMessageBytes: config.maxRequestSize,
      // As the HTTP management and metrics listeners: a gRPC client multiplexes its calls over one connection.
      limits: config.grpc.limits,
      keepalive: config.grpc.keepalive,
      keys: { inference: keys?.inference ?? null, management: keys?.management ?? null },
      admission,
      metrics,
      readiness,
      services: {
        torchserveInference: torchserveInferenceService(env, deps),
        kserve: kserveInferenceService(env, { ...deps, version: VERSION }),
        torchserveManagement: torchserveManagementService(env, store, engine, workerLimitOf(config), config.defaultResponseTimeout),
      },
    });
    log.info(`gRPC inference (TorchServe, KServe v2) on ${grpc.inference}, gRPC management on ${grpc.management}${config.grpc.tls ? ', over TLS' : ''}`);
  }
  decodes.start();
  log.info(`Inference API on ${urlOf(inference)}, Management API on ${urlOf(management)}, metrics on ${urlOf(metricsServer)}/metrics${config.demoPage ? `; demo page at ${urlOf(inference)}/` : ''}`);

  const t0 = performance.now();
  const ready = engine.start(store.allVersions()).then(() => {
    const state = engine.healthy() ? 'healthy' : 'UNHEALTHY (see the errors above)';
    log.info(`${store.allVersions().length} model version(s) loaded in ${Math.round(performance.now() - t0)} ms; server ${state}`);
  });

  return {
    inferenceUrl: urlOf(inference),
    managementUrl: urlOf(management),
    metricsUrl: urlOf(metricsServer),
    grpc: grpc && { inference: grpc.inference, management: grpc.management },
    store,
    engine,
    decodes,
    ready,
    keys,
    runtimeOrigin: assets?.origin ?? null,
    admission,
    uploads,
    apps: { inference: appOf(inference), management: appOf(management), metrics: appOf(metricsServer) },
    // Graceful: /ping says unhealthy at once; new predictions are still served for shutdown_delay
    // (a balancer needs that long to notice), then get 503; the predictions in flight finish (up
    // to the response timeout); then the listeners and Chromium close.
    async close() {
      leaving = true;
      grpc?.leave();
      if (config.shutdownDelay > 0) {
        log.info(`not ready; serving on for shutdown_delay (${config.shutdownDelay} s) before the drain`);
        await new Promise((r) => setTimeout(r, config.shutdownDelay * 1000));
      }
      closing = true;
      for (const listener of closingListeners) listener();
      if (inFlight > 0) {
        log.info(`waiting for ${inFlight} prediction(s) in flight`);
        await new Promise<void>((resolve) => {
          drained = resolve;
          setTimeout(resolve, config.defaultResponseTimeout * 1000).unref();
        });
      }
      const listeners = [inference, management, metricsServer];
      const stopped = listeners.map((s) => new Promise<void>((r) => s.close(() => r())));
      for (const s of listeners) s.closeAllConnections();
      await Promise.all([...stopped, grpc?.close(1000), engine.close(), decodes.close()]);
      await assets?.close();
    },
  };
}
