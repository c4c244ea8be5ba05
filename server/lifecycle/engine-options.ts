// What the Chromium engine is started with, from the server's settings, and the events it reports.

import type { ServerConfig } from '../config/server-config.js';
import type { ChromiumEngineOptions, EngineEvents } from '../page/chromium-engine.js';
import type { Metrics } from '../ops/metrics.js';

/**
 * The engine reports restarts before the metrics exist (it is made first, and the metrics read
 * it): these hooks look the metrics up when an event comes.
 */
export function engineEvents(metrics: () => Metrics | null): EngineEvents {
  return {
    browserRelaunched: () => metrics()?.browserRestarts.inc(),
    workerReplaced: (m) => metrics()?.pageRestarts.inc({ model_name: m.name, model_version: m.version }),
    parityFailed: (m) => metrics()?.parityFailures.inc({ model_name: m.name, model_version: m.version }),
  };
}

export function chromiumEngineOptions(config: ServerConfig, chromePath: string, runtime: ChromiumEngineOptions['runtime'], events: EngineEvents): ChromiumEngineOptions {
  const { models, runtime: ort, chromium } = config;
  return {
    chromePath,
    runtime,
    sandbox: chromium.sandbox,
    chromiumUser: chromium.user,
    backend: ort.backend,
    batchSize: models.batchSize,
    maxBatchDelayMs: models.maxBatchDelayMs,
    maxBatchDecodeWaitMs: models.maxBatchDecodeWaitMs,
    workers: models.workers,
    maxWorkers: models.maxWorkers,
    jobQueueSize: config.limits.jobQueueSize,
    chromiumArgs: chromium.args,
    ortBuild: ort.ortBuild,
    wasmThreads: ort.wasmThreads,
    wasmThreadsChosen: ort.wasmThreadsChosen,
    sharePages: ort.sharePages,
    gpuPreprocess: ort.gpuPreprocess,
    graphCapture: ort.graphCapture,
    parityTolerance: ort.parityTolerance,
    // A model's load is never cut shorter than two minutes, however short the response timeout.
    loadTimeoutMs: Math.max(config.timeouts.defaultResponseTimeout * 1000, 120_000),
    events,
  };
}
