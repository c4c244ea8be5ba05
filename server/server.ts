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
  const { listeners: addresses, limits, timeouts } = config;
  const tls = config.tls && readTls(config.tls);
  const store = await ModelStore.open(config.models.store, config.models.load);
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
  metrics = new Metrics(store, engine);

  const shutdown = new Shutdown(timeouts);
  // Once a burst is over, what its bodies took goes back to the system (idle-collector.ts).
  const collector = new IdleCollector(64 * 2 ** 20, 1000, fullCollection());
  const admission = new Admission(limits.jobQueueSize, limits.maxInflightBytes, limits.maxRequestSize, (bytes, held) => collector.given(bytes, held));
  const uploads = new Uploads(limits.uploads);
  // One decode process per slot, started once the listeners are up (a failed start leaves none behind).
  const decodes = new DecodePool(
    Array.from({ length: limits.decodeSlots }, () => new DecodeProcess()),
    64 * limits.decodeSlots,
  );
  const readiness = readinessCheck({ leaving: () => shutdown.leaving, engine, admission, uploads, decodes });
  const cors = config.web.cors ? corsHandler(config.web.cors) : undefined;
  const requestTimeoutMs = timeouts.defaultResponseTimeout * 1000;
  const guards: InferenceGuards = {
    admission,
    decodes,
    uploads,
    maxRequestSize: limits.maxRequestSize,
    maxImagePixels: limits.maxImagePixels,
    maxJpegScans: limits.maxJpegScans,
    defaultResponseTimeoutMs: requestTimeoutMs,
    isClosing: () => shutdown.closing,
    track: shutdown.inFlight.track,
  };
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
  let grpc: GrpcListeners | null = null;
  if (config.grpc) {
    const env = { metrics };
    const deps = { store, engine, guards, isHealthy: readiness, onClosing: shutdown.onClosing };
    grpc = await startGrpcListeners({
      inference: config.grpc.inference,
      management: config.grpc.management,
      tls: config.grpc.tls ? tls : null,
      maxMessageBytes: limits.maxRequestSize,
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
        torchserveManagement: torchserveManagementService(env, store, engine, workerLimitOf(config), timeouts.defaultResponseTimeout),
      },
    });
    log.info(`gRPC inference (TorchServe, KServe v2) on ${grpc.inference}, gRPC management on ${grpc.management}${config.grpc.tls ? ', over TLS' : ''}`);
  }
  decodes.start();
  log.info(
    `Inference API on ${urlOf(inference)}, Management API on ${urlOf(management)}, metrics on ${urlOf(metricsServer)}/metrics${config.web.demoPage ? `; demo page at ${urlOf(inference)}/` : ''}`,
  );

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
    close: () => shutdown.close({ listeners: [inference, management, metricsServer], grpc, engine, decodes, assets }),
  };
}
