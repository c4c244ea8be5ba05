import type { Request, Response } from 'express';
import { Type } from '@sinclair/typebox';
import { error, json, modelName, modelVersion, Nullable, query } from '../api-schemas.js';
import { ApiError, badRequest } from '../errors.js';
import type { InferenceEngine } from '../bridge/inference-engine.js';
import { describeRange, inRange, RANGES, type Range } from '../limits.js';
import { isRemote, remoteRefused, type ModelStore, type ModelVersion } from '../model-store.js';
import { processMemory } from '../bridge/renderer-process.js';
import { tooManyPages, type WorkerLimit } from '../worker-budget.js';
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
  minWorkers: Type.Integer(),
  maxWorkers: Type.Integer(),
  loadedAtStartup: Type.Boolean(),
  responseTimeout: Type.Number({ description: 'seconds' }),
  jobQueueStatus: Type.Object({ remainingCapacity: Type.Integer(), pendingRequests: Type.Integer() }),
  workers: Type.Array(
    Type.Object({
      id: Type.Integer(),
      status: Type.String({ description: 'READY, LOADING, FAILED or CLOSED' }),
      startTime: Type.String(),
      memoryUsage: Nullable(Type.Integer()),
      pid: Nullable(Type.Integer()),
      gpu: Type.Boolean({ description: 'runs on WebGPU' }),
      backend: Nullable(Type.String()),
      error: Nullable(Type.String()),
    }),
  ),
  backend: Nullable(Type.String({ description: 'webgpu or wasm: where the model runs' })),
  adapter: Nullable(Type.Object({}, { description: 'The WebGPU adapter the page got' })),
  fallbackReason: Nullable(Type.String({ description: 'Why the model does not run on WebGPU' })),
  parity: Nullable(Type.Object({}, { description: 'The WebGPU-vs-WASM check made at load' })),
});

/** TorchServe's describe-model answer, with where and how the model actually runs. */
function descriptionOf(v: ModelVersion, engine: InferenceEngine, defaultResponseTimeout: number) {
  const status = engine.status(v);
  const first = status?.workers[0];
  const runtime = first?.runtime ?? null;
  const workers = status?.workers.length ?? 0;
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
    // No autoscaling: a model runs the workers it was given.
    minWorkers: workers,
    maxWorkers: workers,
    loadedAtStartup: status?.loadedAtStartup ?? false,
    responseTimeout: v.config.responseTimeout ?? defaultResponseTimeout,
    jobQueueStatus: { remainingCapacity: Math.max(0, (status?.queueSize ?? 0) - (status?.queued ?? 0)), pendingRequests: status?.queued ?? 0 },
    workers: (status?.workers ?? []).map((w) => ({
      id: w.id,
      status: w.state.toUpperCase(),
      startTime: w.startedAt.toISOString(),
      // The page's renderer process (a page shares it with no one): its proportional set size, in bytes.
      memoryUsage: w.pid === null ? null : processMemory(w.pid),
      pid: w.pid,
      gpu: w.runtime?.backend === 'webgpu',
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

// TorchServe reads its query parameters leniently: one that is empty or not an integer (or, for
// synchronous, not true or false) counts as absent. An integer out of this server's bounds is
// still refused: those bounds protect the machine.
const integer = (q: unknown): number | undefined => (typeof q === 'string' && /^-?\d{1,400}$/.test(q) ? Number(q) : undefined);

const within = (q: unknown, name: string, range: Range): number | undefined => {
  const n = range.integer ? integer(q) : typeof q === 'string' && /^-?\d{1,400}(\.\d{1,400})?$/.test(q) ? Number(q) : undefined;
  if (n !== undefined && !inRange(n, range)) throw badRequest(`${name} must be ${describeRange(range)}; got "${String(q).slice(0, 24)}".`);
  return n;
};

const workerCount = (q: unknown, name: string): number | undefined => {
  const n = integer(q);
  if (n !== undefined && n < 0) throw badRequest(`${name} cannot be negative; got ${n}.`);
  return n;
};

const flag = (q: unknown, fallback: boolean): boolean => (typeof q === 'string' && /^(true|false)$/i.test(q) ? q.toLowerCase() === 'true' : fallback);

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** TorchServe's runtimes, accepted so that scripts passing them keep working; the model runs in onnxruntime-web either way. */
const RUNTIMES = ['python', 'python3', 'onnxruntime-web'];

export function modelOperations(store: ModelStore, engine: InferenceEngine, workerLimit: WorkerLimit, defaultResponseTimeout: number): Operation[] {
  // Counted in the same turn as the engine call that opens the pages, so no request slips between.
  const pagesOf = (v: ModelVersion) => engine.status(v)?.workers.length ?? 0;
  const pagesInUse = () => sum(store.allVersions().map(pagesOf));
  const refuseBeyondLimit = (asked: string, total: number) => {
    const problem = tooManyPages(asked, total, workerLimit);
    if (problem) throw badRequest(`${problem}.`);
  };
  const list: Operation['handler'] = (req, res) => {
    const all = store.list();
    // As TorchServe: a limit past 100, or below 1, is 100; a bad token is the first page.
    const asked = integer(req.query['limit']) ?? 100;
    const limit = asked < 1 || asked > 100 ? 100 : asked;
    const start = Math.max(0, integer(req.query['next_page_token']) ?? 0);
    const page = all.slice(start, start + limit).map((m) => ({ modelName: m.name, modelUrl: `${m.name}/${m.defaultVersion}/model.onnx` }));
    res.json(start + limit < all.length ? { nextPageToken: String(start + limit), models: page } : { models: page });
  };
  // Only store folders, never a remote URL. As in TorchServe: no worker unless initial_workers
  // (or the server's workers setting) says, and synchronous unless told otherwise.
  const register: Operation['handler'] = async (req, res) => {
    const url = req.query['url'];
    if (typeof url !== 'string') throw badRequest('Parameter url is required: the name of a model folder in the model store.');
    if (isRemote(url)) throw remoteRefused(url);
    const runtime = req.query['runtime'];
    if (typeof runtime === 'string' && runtime && !RUNTIMES.includes(runtime.toLowerCase()))
      throw badRequest(`runtime "${runtime.slice(0, 40)}" is not one this server has; it runs ONNX models in onnxruntime-web (${RUNTIMES.join(', ')} are accepted).`);
    const overrides = {
      batchSize: within(req.query['batch_size'], 'batch_size', RANGES.batchSize),
      maxBatchDelayMs: within(req.query['max_batch_delay'], 'max_batch_delay', RANGES.maxBatchDelayMs),
    };
    const workers = workerCount(req.query['initial_workers'], 'initial_workers') ?? workerLimit.workers ?? 0;
    const timeout = within(req.query['response_timeout'], 'response_timeout', RANGES.responseTimeoutS);
    const alias = req.query['model_name'];
    const added = await store.register(url, {
      as: typeof alias === 'string' && alias ? alias : undefined,
      ...(timeout !== undefined && timeout > 0 ? { config: { responseTimeout: timeout } } : {}),
      admit: (versions) => refuseBeyondLimit(`initial_workers=${workers}${versions.length > 1 ? ` for each of ${versions.length} versions` : ''}`, pagesInUse() + workers * versions.length),
    });
    const clean = { ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)), workers };
    const what = added.map((v) => `Model "${v.name}" Version: ${v.version}`).join(', ');
    const loading = Promise.all(added.map((v) => engine.addModel(v, clean)));
    if (workers === 0) {
      await loading;
      res.json({ status: `${what} registered with 0 initial workers. Use scale workers API to add workers for the model.` });
    } else if (flag(req.query['synchronous'], true)) {
      await loading;
      // A model that does not load is not left registered: the answer says why, and nothing else changes.
      const failed = added.map((v) => ({ v, error: engine.status(v)?.workers.find((w) => w.state === 'failed')?.error })).filter((f) => f.error);
      if (failed.length > 0) {
        for (const v of added) {
          await engine.removeModel(v);
          store.unregister(v.name, v.version, { evenDefault: true });
        }
        throw new ApiError(500, 'InternalServerException', `Failed to load ${failed.map((f) => `model "${f.v.name}" version ${f.v.version}: ${f.error}`).join('; ')}. Nothing was registered.`);
      }
      res.json({ status: `${what} registered with ${workers} initial workers` });
    } else {
      loading.catch(() => undefined);
      res.status(202).json({ status: 'Processing worker updates...' });
    }
  };
  const describeOne: Operation['handler'] = (req, res) => {
    const { model_name: name, model_version: version } = req.params as { model_name: string; model_version?: string };
    if (version === undefined) {
      res.json([descriptionOf(store.resolve(name), engine, defaultResponseTimeout)]);
    } else if (version === 'all') {
      store.resolve(name); // 404 for an unknown model
      res.json(
        Array.from(
          store
            .list()
            .find((m) => m.name === name)!
            .versions.values(),
          (v) => descriptionOf(v, engine, defaultResponseTimeout),
        ),
      );
    } else {
      res.json([descriptionOf(store.resolve(name, version), engine, defaultResponseTimeout)]);
    }
  };
  const scale = async (req: Request, res: Response) => {
    const p = req.params as { model_name: string; model_version?: string };
    const v = store.resolve(p.model_name, p.model_version);
    const min = workerCount(req.query['min_worker'], 'min_worker');
    const max = workerCount(req.query['max_worker'], 'max_worker');
    if (min !== undefined && max !== undefined && max < min) throw badRequest(`max_worker (${max}) cannot be less than min_worker (${min}).`);
    // Without autoscaling the model runs min_worker pages; a max_worker past the limit is a promise it cannot keep.
    const workers = min ?? max ?? 1;
    const others = pagesInUse() - pagesOf(v);
    refuseBeyondLimit(min === undefined && max !== undefined ? `max_worker=${max}` : `min_worker=${workers}`, others + workers);
    if (max !== undefined) refuseBeyondLimit(`max_worker=${max}`, others + max);
    const work = engine.scale(v, workers);
    // TorchServe scales asynchronously unless told otherwise.
    if (flag(req.query['synchronous'], false)) {
      await work;
      const failed = engine.status(v)?.workers.find((w) => w.state === 'failed');
      if (failed) throw new ApiError(500, 'InternalServerException', `Failed to start workers for model "${v.name}" version ${v.version}: ${failed.error}`);
      res.json({ status: `Workers scaled to ${workers} for model: ${v.name}${p.model_version ? `, version: ${v.version}` : ''}` });
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
