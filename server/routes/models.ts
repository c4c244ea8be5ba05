import { Router } from 'express';
import type { InferenceEngine } from '../bridge/inference-engine.js';
import type { ModelStore, ModelVersion } from '../model-store.js';
import { rejectOtherMethods } from './method-guard.js';

/** TorchServe's describe-model answer, with where and how the model actually runs. */
function describe(v: ModelVersion, engine: InferenceEngine) {
  const status = engine.status(v);
  const first = status?.workers[0];
  const runtime = first?.runtime ?? null;
  return {
    modelName: v.name,
    modelVersion: v.version,
    modelUrl: `${v.name}/${v.version}/model.onnx`,
    runtime: 'onnxruntime-web',
    isDefault: v.isDefault,
    description: v.config.description,
    status: status?.state ?? 'unknown',
    error: status?.workers.find((w) => w.error)?.error ?? null,
    startTime: first?.startedAt.toISOString() ?? null,
    batchSize: status?.batchSize ?? null,
    maxBatchDelay: status?.maxBatchDelayMs ?? null,
    jobQueueSize: status?.queueSize ?? null,
    queued: status?.queued ?? null,
    workers: (status?.workers ?? []).map((w) => ({
      id: w.id,
      status: w.state,
      startTime: w.startedAt.toISOString(),
      backend: w.runtime?.backend ?? null,
      error: w.error,
    })),
    backend: runtime?.backend ?? null,
    ortBuild: runtime?.ortBuild ?? null,
    adapter: runtime?.adapter ?? null,
    fallbackReason: runtime?.fallbackReason ?? null,
    parity: runtime?.parity ?? null,
    wasmThreads: runtime?.wasmThreads ?? null,
    batchSizes: runtime?.batchSizes ?? null,
    loadMs: runtime ? Math.round(runtime.loadMs) : null,
    loadSteps: runtime?.loadSteps ?? null,
    input: { name: v.config.inputName, preprocessing: { resize: v.config.resize, ...v.config.normalisation } },
    output: { name: v.config.outputName, kind: v.config.output, format: v.config.outputFormat, topk: v.config.topk, classes: v.labels.length },
  };
}

export function modelsRouter(store: ModelStore, engine: InferenceEngine): Router {
  const router = Router();
  router.get('/models', (_req, res) => {
    res.json({ models: store.list().map((m) => ({ modelName: m.name, modelUrl: `${m.name}/${m.defaultVersion}/model.onnx` })) });
  });
  router.get('/models/:model_name', (req, res) => {
    res.json([describe(store.resolve(req.params.model_name), engine)]);
  });
  router.get('/models/:model_name/:model_version', (req, res) => {
    const { model_name: name, model_version: version } = req.params;
    if (version === 'all') {
      store.resolve(name); // 404 for an unknown model
      res.json(Array.from(store.list().find((m) => m.name === name)!.versions.values(), (v) => describe(v, engine)));
    } else {
      res.json([describe(store.resolve(name, version), engine)]);
    }
  });
  for (const path of ['/models', '/models/:model_name', '/models/:model_name/:model_version']) rejectOtherMethods(router, path, ['GET']);
  return router;
}
