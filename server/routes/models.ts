import type { Router, Request, Response } from 'express';
import { badRequest } from '../errors.js';
import type { InferenceEngine } from '../bridge/inference-engine.js';
import { describeRange, inRange, RANGES, type Range } from '../limits.js';
import type { ModelStore, ModelVersion } from '../model-store.js';
import { initialWorkers, tooManyPages, type WorkerLimit } from '../worker-budget.js';
import { rejectOtherMethods } from './method-guard.js';
import { strictRouter } from '../express-app.js';

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

// Worker counts are only checked for form here: their bound is the total of pages, below.
const positiveInt = (q: unknown, name: string): number | undefined => {
  if (q === undefined) return undefined;
  if (typeof q !== 'string' || !/^\d{1,15}$/.test(q) || Number(q) < 1) throw badRequest(`${name} must be a positive integer.`);
  return Number(q);
};

const within = (q: unknown, name: string, range: Range): number | undefined => {
  if (q === undefined) return undefined;
  const n = typeof q === 'string' && /^\d{1,15}(\.\d{1,6})?$/.test(q) ? Number(q) : NaN;
  if (!inRange(n, range)) throw badRequest(`${name} must be ${describeRange(range)}; got "${String(q).slice(0, 24)}".`);
  return n;
};

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

// As in TorchServe, registration answers at once (202) unless synchronous=true.
const wait = (q: unknown) => q === 'true';

export function modelsRouter(store: ModelStore, engine: InferenceEngine, workerLimit: WorkerLimit): Router {
  const router = strictRouter();
  // Counted in the same turn as the engine call that opens the pages, so no request slips between.
  const pagesOf = (v: ModelVersion) => engine.status(v)?.workers.length ?? 0;
  const pagesInUse = () => sum(store.allVersions().map(pagesOf));
  const refuseBeyondLimit = (asked: string, total: number) => {
    const problem = tooManyPages(asked, total, workerLimit);
    if (problem) throw badRequest(`${problem}.`);
  };
  router.get('/models', (req, res) => {
    const all = store.list();
    const limit = positiveInt(req.query['limit'], 'limit') ?? 100;
    const token = req.query['next_page_token'];
    const start = token === undefined ? 0 : positiveInt(token, 'next_page_token') ?? 0;
    const page = all.slice(start, start + limit).map((m) => ({ modelName: m.name, modelUrl: `${m.name}/${m.defaultVersion}/model.onnx` }));
    res.json(start + limit < all.length ? { nextPageToken: String(start + limit), models: page } : { models: page });
  });
  // Register a model from the store: only store folders, never a remote URL.
  router.post('/models', async (req, res) => {
    const url = req.query['url'];
    if (typeof url !== 'string' || !url) throw badRequest('Parameter url is required: the name of a model folder in the model store.');
    const name = req.query['model_name'];
    if (name !== undefined && name !== url.replace(/\/+$/, '').split('/').pop()) throw badRequest('model_name must be the name of the model folder in the store.');
    const overrides = {
      batchSize: within(req.query['batch_size'], 'batch_size', RANGES.batchSize),
      maxBatchDelayMs: within(req.query['max_batch_delay'], 'max_batch_delay', RANGES.maxBatchDelayMs),
      workers: positiveInt(req.query['initial_workers'], 'initial_workers'),
    };
    const added = await store.register(url, (versions) => {
      const counts = versions.map((v) => initialWorkers(v, workerLimit.workers, overrides.workers));
      const asked =
        overrides.workers !== undefined
          ? `initial_workers=${overrides.workers}${versions.length > 1 ? ` for each of ${versions.length} versions` : ''}`
          : `registering ${versions[0]!.name} with ${sum(counts)} worker${sum(counts) === 1 ? '' : 's'}`;
      refuseBeyondLimit(asked, pagesInUse() + sum(counts));
    });
    const clean = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
    const loading = Promise.all(added.map((v) => engine.addModel(v, clean)));
    const what = added.map((v) => `Model "${v.name}" Version: ${v.version}`).join(', ');
    if (wait(req.query['synchronous'])) {
      await loading;
      res.json({ status: `${what} registered with ${overrides.workers ?? engine.status(added[0]!)?.workers.length ?? 1} initial workers` });
    } else {
      loading.catch(() => undefined);
      res.status(202).json({ status: `${what} registered; its workers are loading` });
    }
  });
  router.get('/models/:model_name', (req, res) => {
    res.json([describe(store.resolve(req.params.model_name), engine)]);
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
  const scale = async (req: Request, res: Response) => {
    const p = req.params as { model_name: string; model_version?: string };
    const v = store.resolve(p.model_name, p.model_version);
    const min = positiveInt(req.query['min_worker'], 'min_worker');
    const max = positiveInt(req.query['max_worker'], 'max_worker');
    if (min !== undefined && max !== undefined && max < min) throw badRequest(`max_worker (${max}) cannot be less than min_worker (${min}).`);
    // Without autoscaling the model runs min_worker pages; a max_worker past the limit is a promise it cannot keep.
    const workers = min ?? max ?? 1;
    const others = pagesInUse() - pagesOf(v);
    refuseBeyondLimit(min === undefined && max !== undefined ? `max_worker=${max}` : `min_worker=${workers}`, others + workers);
    if (max !== undefined) refuseBeyondLimit(`max_worker=${max}`, others + max);
    const work = engine.scale(v, workers);
    if (req.query['synchronous'] === 'true') {
      await work;
      res.json({ status: `Workers scaled to ${workers} for model: ${v.name}` });
    } else {
      work.catch(() => undefined);
      res.status(202).json({ status: 'Processing worker updates...' });
    }
  };
  const unregister = async (req: Request, res: Response) => {
    const p = req.params as { model_name: string; model_version?: string };
    const v = store.unregister(p.model_name, p.model_version);
    await engine.removeModel(v);
    res.json({ status: `Model "${v.name}" Version: ${v.version} unregistered` });
  };
  router.put('/models/:model_name/:model_version/set-default', (req, res) => {
    store.setDefault(req.params.model_name, req.params.model_version);
    res.json({ status: `Default version successfully updated for model "${req.params.model_name}" to "${req.params.model_version}"` });
  });
  for (const path of ['/models/:model_name', '/models/:model_name/:model_version']) {
    router.put(path, scale);
    router.delete(path, unregister);
  }
  rejectOtherMethods(router, '/models', ['GET', 'POST']);
  rejectOtherMethods(router, '/models/:model_name/:model_version/set-default', ['PUT']);
  for (const path of ['/models/:model_name', '/models/:model_name/:model_version']) rejectOtherMethods(router, path, ['GET', 'PUT', 'DELETE']);
  return router;
}
