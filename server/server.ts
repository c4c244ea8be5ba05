// Assembles the server. Start-up order matters:
//   1. the TLS key and certificate are read, the model store is read, its initial workers
//      counted and the key file written (a bad config, a bad PEM file, more pages than max_workers
//      or a bad key_file fails here, before anything listens or a browser is launched);
//   2. the loopback asset server starts, so pages have somewhere to load from;
//   3. the HTTP (or HTTPS) listeners open at once (/ping says unhealthy until every model is ready);
//   4. Chromium launches and every model version loads in its own page.
// How it stops: lifecycle/shutdown.ts; when it is ready: lifecycle/readiness.ts.

import type { RequestListener } from 'node:http';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ChromiumEngine } from './page/chromium-engine.js';
import { findChromium } from './chromium/find-chromium.js';
import type { InferenceEngine } from './page/inference-engine.js';
import type { ServerConfig } from './config/config.js';
import { readTls } from './config/tls-files.js';
import { Admission } from './pipeline/admission.js';
import { Uploads } from './http/uploads/uploads.js';
import { fullCollection, IdleCollector } from './ops/idle-collector.js';
import { requireKey, type ApiKeys } from './auth/auth.js';
import { startTokenAuthorization } from './auth/token-authorization.js';
import { corsHandler } from './http/cors.js';
import { DecodePool } from './image/decode-pool.js';
import { DecodeProcess } from './image/decode-process.js';
import { startGrpcListeners, type GrpcListeners } from './grpc/grpc-listeners.js';
import { kserveInferenceService } from './grpc/kserve-inference.js';
import { torchserveInferenceService } from './grpc/torchserve-inference.js';
import { torchserveManagementService } from './grpc/torchserve-management.js';
import type { InferenceGuards } from './pipeline/inference-core.js';
import { createInferenceApp } from './http/inference-app.js';
import { appOf, listen, urlOf } from './http/listen.js';
import { log } from './ops/log.js';
import { createManagementApp } from './http/management-app.js';
import { Metrics } from './ops/metrics.js';
import { createMetricsApp } from './http/metrics-app.js';
import { ModelStore } from './store/model-store.js';
import { PROJECT_ROOT } from './ops/paths.js';
import { startRuntimeAssets } from './page/runtime-assets.js';
import { demoFiles } from './http/routes/demo.js';
import { checkStartWorkers, workerLimitOf } from './page/worker-budget.js';
import { chromiumEngineOptions, engineEvents } from './lifecycle/engine-options.js';
import { readinessCheck } from './lifecycle/readiness.js';
import { Shutdown } from './lifecycle/shutdown.js';

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

export async function startServer(config: ServerConfig, engineOverride?: InferenceEngine): Promise<RunningServer> {
  const { timeouts } = config;
  const tls = config.tls && readTls(config.tls);
  const store = await ModelStore.open(config.models.store, config.models.load, { archiveBytes: config.models.archiveBytes });
  log.info(
    `model store ${store.root}: ${store
      .allVersions()
      .map((v) => v.key + (v.isDefault ? ' (default)' : ''))
      .join(', ')}`,
  );
  checkStartWorkers(store.allVersions(), workerLimitOf(config));
  const keys = startTokenAuthorization(config);
  const chromePath = engineOverride ? '' : findChromium(config.chromium.path);
  let metrics: Metrics | null = null;
  const assets = engineOverride ? null : await startRuntimeAssets(store);
  const engine =
    engineOverride ??
    new ChromiumEngine(
      chromiumEngineOptions(
        config,
        chromePath,
        { origin: assets!.origin, pageUrl: assets!.pageUrl },
        engineEvents(() => metrics),
      ),
    );
  const shutdown = new Shutdown(timeouts);
  const guards = requestGuards(config, shutdown);
  const { admission, uploads, decodes } = guards;
  metrics = new Metrics(store, engine, (key) => admission.inProgress(key));
  const readiness = readinessCheck({ leaving: () => shutdown.leaving, engine, admission, uploads, decodes });
  const parts: Parts = { config, tls, store, engine, metrics, keys, guards, readiness, shutdown };
  const http = await startHttpListeners(parts);
  const grpc = config.grpc ? await startGrpc(parts, config.grpc) : null;
  decodes.start();
  log.info(
    `Inference API on ${urlOf(http.inference)}, Management API on ${urlOf(http.management)}, metrics on ${urlOf(http.metrics)}/metrics${config.web.demoPage ? `; demo page at ${urlOf(http.inference)}/` : ''}`,
  );

  const t0 = performance.now();
  const ready = engine.start(store.allVersions()).then(() => {
    const state = engine.healthy() ? 'healthy' : 'UNHEALTHY (see the errors above)';
    log.info(`${store.allVersions().length} model version(s) loaded in ${Math.round(performance.now() - t0)} ms; server ${state}`);
  });

  return {
    inferenceUrl: urlOf(http.inference),
    managementUrl: urlOf(http.management),
    metricsUrl: urlOf(http.metrics),
    grpc: grpc && { inference: grpc.inference, management: grpc.management },
    store,
    engine,
    decodes,
    ready,
    keys,
    runtimeOrigin: assets?.origin ?? null,
    admission,
    uploads,
    apps: { inference: appOf(http.inference), management: appOf(http.management), metrics: appOf(http.metrics) },
    close: () => shutdown.close({ listeners: [http.inference, http.management, http.metrics], grpc, engine, decodes, assets }),
  };
}

/** What the listeners are built from, once start-up has made it. */
interface Parts {
  config: ServerConfig;
  tls: ReturnType<typeof readTls> | null;
  store: ModelStore;
  engine: InferenceEngine;
  metrics: Metrics;
  keys: ApiKeys | null;
  guards: InferenceGuards;
  readiness: () => boolean;
  shutdown: Shutdown;
}

/** The bounds every inference request meets, whichever protocol carried it. */
function requestGuards({ limits, timeouts }: ServerConfig, shutdown: Shutdown): InferenceGuards {
  // Once a burst is over, what its bodies took goes back to the system (idle-collector.ts).
  const collector = new IdleCollector(64 * 2 ** 20, 1000, fullCollection());
  return {
    admission: new Admission(limits.jobQueueSize, limits.maxInflightBytes, limits.maxRequestSize, (bytes, held) => collector.given(bytes, held)),
    // One decode process per slot, started once the listeners are up (a failed start leaves none behind).
    decodes: new DecodePool(
      Array.from({ length: limits.decodeSlots }, () => new DecodeProcess()),
      64 * limits.decodeSlots,
    ),
    uploads: new Uploads(limits.uploads),
    maxRequestSize: limits.maxRequestSize,
    maxImagePixels: limits.maxImagePixels,
    maxJpegScans: limits.maxJpegScans,
    defaultResponseTimeoutMs: timeouts.defaultResponseTimeout * 1000,
    isClosing: () => shutdown.closing,
    track: shutdown.inFlight.track,
  };
}

/** The inference, management and metrics listeners, each on its own address. */
async function startHttpListeners({ config, tls, store, engine, metrics, keys, guards, readiness }: Parts) {
  const { listeners: addresses, timeouts } = config;
  const cors = config.web.cors ? corsHandler(config.web.cors) : undefined;
  const requestTimeoutMs = timeouts.defaultResponseTimeout * 1000;
  const { ortBuild, parityTolerance } = config.runtime;
  const inference = await listen(
    createInferenceApp({
      ...(cors ? { cors } : {}),
      store,
      engine,
      version: VERSION,
      ...(config.web.demoPage ? { demo: { files: await demoFiles(), settings: { ortBuild, parityTolerance } } } : {}),
      ...(keys ? { auth: requireKey(keys.inference) } : {}),
      metrics,
      isHealthy: readiness,
      guards,
    }),
    addresses.inference,
    { requestTimeoutMs, maxConnections: addresses.maxConnections, tls },
  );
  const small = { requestTimeoutMs, maxConnections: addresses.smallListenerConnections, tls };
  const management = await listen(
    createManagementApp(store, engine, VERSION, workerLimitOf(config), timeouts.defaultResponseTimeout, keys ? requireKey(keys.management) : undefined, cors),
    addresses.management,
    small,
  );
  const metricsServer = await listen(createMetricsApp(metrics, VERSION, keys ? requireKey(keys.management) : undefined), addresses.metrics, small);
  return { inference, management, metrics: metricsServer };
}

/** The gRPC inference and management listeners. */
async function startGrpc({ config, tls, store, engine, metrics, keys, guards, readiness, shutdown }: Parts, grpcConfig: NonNullable<ServerConfig['grpc']>): Promise<GrpcListeners> {
  const env = { metrics };
  const deps = { store, engine, guards, isHealthy: readiness, onClosing: shutdown.onClosing };
  const defaultResponseTimeout = config.timeouts.defaultResponseTimeout;
  const grpc = await startGrpcListeners({
    inference: grpcConfig.inference,
    management: grpcConfig.management,
    tls: grpcConfig.tls ? tls : null,
    maxMessageBytes: config.limits.maxRequestSize,
    // As the HTTP management and metrics listeners: a gRPC client multiplexes its calls over one connection.
    limits: grpcConfig.limits,
    keepalive: grpcConfig.keepalive,
    keys: { inference: keys?.inference ?? null, management: keys?.management ?? null },
    admission: guards.admission,
    metrics,
    readiness,
    services: {
      torchserveInference: torchserveInferenceService(env, deps),
      kserve: kserveInferenceService(env, { ...deps, version: VERSION }),
      torchserveManagement: torchserveManagementService(env, store, engine, workerLimitOf(config), defaultResponseTimeout),
    },
  });
  log.info(`gRPC inference (TorchServe, KServe v2) on ${grpc.inference}, gRPC management on ${grpc.management}${grpcConfig.tls ? ', over TLS' : ''}`);
  return grpc;
}
