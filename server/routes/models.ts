import type { Request, Response } from 'express';
import { Type } from '@sinclair/typebox';
import { error, json, modelName, modelVersion, Nullable, query } from '../api-schemas.js';
import { badRequest } from '../errors.js';
import type { InferenceEngine } from '../bridge/inference-engine.js';
import { describeRange, inRange, RANGES, type Range } from '../limits.js';
import type { ModelStore, ModelVersion } from '../model-store.js';
import { initialWorkers, tooManyPages, type WorkerLimit } from '../worker-budget.js';
import type { Operation } from '../operation.js';

const Status = Type.Object({ status: Type.String() });
const ModelList = Type.Object({ nextPageToken: Type.Optional(Type.String()), models: Type.Array(Type.Object({ modelName: Type.String(), modelUrl: Type.String() })) });
const ModelDescription = Type.Object({
  modelName: Type.String(),
  modelVersion: Type.String(),
  modelUrl: Type.String(),
  runtime: Type.String(),
  isDefault: Type.Boolean(),
  status: Type.String(),
  error: Nullable(Type.String()),
  batchSize: Nullable(Type.Integer()),
  maxBatchDelay: Nullable(Type.Number()),
  workers: Type.Array(Type.Object({ id: Type.Integer(), status: Type.String(), startTime: Type.String(), backend: Nullable(Type.String()), error: Nullable(Type.String()) })),
  backend: Nullable(Type.String({ description: 'webgpu or wasm: where the model runs' })),
  adapter: Nullable(Type.Object({}, { description: 'The WebGPU adapter the page got' })),
  fallbackReason: Nullable(Type.String({ description: 'Why the model does not run on WebGPU' })),
  parity: Nullable(Type.Object({}, { description: 'The WebGPU-vs-WASM check made at load' })),
});

/** TorchServe's describe-model answer, with where and how the model actually runs. */
function descriptionOf(v: ModelVersion, engine: InferenceEngine) {
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

export function modelOperations(store: ModelStore, engine: InferenceEngine, workerLimit: WorkerLimit): Operation[] {
  // Counted in the same turn as the engine call that opens the pages, so no request slips between.
  const pagesOf = (v: ModelVersion) => engine.status(v)?.workers.length ?? 0;
  const pagesInUse = () => sum(store.allVersions().map(pagesOf));
  const refuseBeyondLimit = (asked: string, total: number) => {
    const problem = tooManyPages(asked, total, workerLimit);
    if (problem) throw badRequest(`${problem}.`);
  };
  const list: Operation['handler'] = (req, res) => {
    const all = store.list();
    const limit = positiveInt(req.query['limit'], 'limit') ?? 100;
    const token = req.query['next_page_token'];
    const start = token === undefined ? 0 : (positiveInt(token, 'next_page_token') ?? 0);
    const page = all.slice(start, start + limit).map((m) => ({ modelName: m.name, modelUrl: `${m.name}/${m.defaultVersion}/model.onnx` }));
    res.json(start + limit < all.length ? { nextPageToken: String(start + limit), models: page } : { models: page });
  };
  // Only store folders, never a remote URL.
  const register: Operation['handler'] = async (req, res) => {
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
  };
  const describeOne: Operation['handler'] = (req, res) => {
    const { model_name: name, model_version: version } = req.params as { model_name: string; model_version?: string };
    if (version === undefined) {
      res.json([descriptionOf(store.resolve(name), engine)]);
    } else if (version === 'all') {
      store.resolve(name); // 404 for an unknown model
      res.json(
        Array.from(
          store
            .list()
            .find((m) => m.name === name)!
            .versions.values(),
          (v) => descriptionOf(v, engine),
        ),
      );
    } else {
      res.json([descriptionOf(store.resolve(name, version), engine)]);
    }
  };
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
  const setDefault: Operation['handler'] = (req, res) => {
    const { model_name: name, model_version: version } = req.params as { model_name: string; model_version: string };
    store.setDefault(name, version);
    res.json({ status: `Default version successfully updated for model "${name}" to "${version}"` });
  };

  const pages = "every model version's workers together at most the server's max_workers (400 past it)";
  const errors = {
    400: error('Bad parameters, a remote URL, or a path outside the model store'),
    404: error('Unknown model or version'),
    409: error('Already registered, or the default version while others remain'),
  };
  const described = { 200: json('Model description', Type.Array(ModelDescription)), 404: error('Unknown model or version') };
  const synchronous = query('synchronous', 'true: answer when the workers are ready');
  const perModel = (versioned: boolean): Operation[] => {
    const at = versioned ? '/models/{model_name}/{model_version}' : '/models/{model_name}';
    const params = versioned ? [modelName, { ...modelVersion, description: 'Version, or "all" to describe every version' }] : [modelName];
    const suffix = versioned ? 'Version' : '';
    return [
      {
        id: `describeModel${suffix}`,
        method: 'get',
        path: at,
        summary: versioned ? 'Describe one version, or every version with "all"' : "Describe a model's default version",
        params,
        responses: described,
        handler: describeOne,
      },
      {
        id: `scaleModel${suffix}`,
        method: 'put',
        path: at,
        summary: 'Set the number of workers (pages)',
        params: [
          ...params,
          query('min_worker', `Workers to run; ${pages}`, Type.Integer({ minimum: 1 })),
          query('max_worker', `Used when min_worker is absent; not less than min_worker; ${pages}`, Type.Integer({ minimum: 1 })),
          synchronous,
        ],
        responses: { 200: json('Scaled', Status), 202: json('Scaling', Status), ...errors },
        handler: scale,
      },
      {
        id: `unregisterModel${suffix}`,
        method: 'delete',
        path: at,
        summary: 'Unregister a version (the default when none is named); in-flight requests finish first',
        params,
        responses: { 200: json('Unregistered', Status), ...errors },
        handler: unregister,
      },
    ];
  };
  return [
    {
      id: 'registerModel',
      method: 'post',
      path: '/models',
      summary: 'Register a model folder of the model store (never a remote URL)',
      params: [
        { ...query('url', 'A model folder of the store'), required: true },
        query('model_name', 'Must match the folder name'),
        query('batch_size', 'Largest batch', Type.Integer({ minimum: RANGES.batchSize.min, maximum: RANGES.batchSize.max })),
        query('max_batch_delay', 'ms to wait for a batch to fill', Type.Number({ minimum: RANGES.maxBatchDelayMs.min, maximum: RANGES.maxBatchDelayMs.max })),
        query('initial_workers', `Workers to start for each version; ${pages}`, Type.Integer({ minimum: 1 })),
        synchronous,
      ],
      responses: { 200: json('Registered', Status), 202: json('Registered, workers loading', Status), ...errors },
      handler: register,
    },
    {
      id: 'listModels',
      method: 'get',
      path: '/models',
      summary: 'The models in the store',
      params: [query('limit', 'Page size (default 100)', Type.Integer({ minimum: 1 })), query('next_page_token', 'From a previous page')],
      responses: { 200: json('Model list', ModelList), 400: errors[400] },
      handler: list,
    },
    ...perModel(false),
    ...perModel(true),
    {
      id: 'setDefaultVersion',
      method: 'put',
      path: '/models/{model_name}/{model_version}/set-default',
      summary: 'Make this version the default',
      params: [modelName, modelVersion],
      responses: { 200: json('Updated', Status), ...errors },
      handler: setDefault,
    },
  ];
}
