import type { Response } from 'express';
import { Type } from '@sinclair/typebox';
import { error, json, modelName, modelVersion, Nullable, query } from '../api-schemas.js';
import type { InferenceEngine } from '../../page/inference-engine.js';
import { RANGES } from '../../config/limits.js';
import { modelManagement, type ManagementAnswer } from '../../store/model-management.js';
import type { ModelStore } from '../../store/model-store.js';
import type { WorkerLimit } from '../../page/worker-budget.js';
import type { Operation } from '../operation.js';
import { listQuery, querySpelling, registerQuery, scaleQuery } from '../management-query.js';

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
      sandbox: Nullable(
        Type.Object(
          {
            enabled: Type.Boolean({ description: 'Chromium runs with its sandbox (chromium_sandbox)' }),
            setting: Type.String({ description: 'require, prefer or off' }),
            reason: Nullable(Type.String({ description: 'Why it is off' })),
            user: Nullable(Type.String({ description: 'The user Chromium runs as, where the server runs as root' })),
            uid: Nullable(Type.Integer({ description: "The page's renderer process's uid (/proc)" })),
            seccomp: Nullable(Type.Integer({ description: "Its seccomp mode: 2 is Chromium's filter, 0 none" })),
            noNewPrivs: Nullable(Type.Boolean()),
          },
          { description: "Chromium's sandbox for this worker's page; null where no browser runs it" },
        ),
      ),
    }),
  ),
  backend: Nullable(Type.String({ description: 'webgpu or wasm: where the model runs' })),
  adapter: Nullable(Type.Object({}, { description: 'The WebGPU adapter the page got' })),
  fallbackReason: Nullable(Type.String({ description: 'Why the model does not run on WebGPU' })),
  parity: Nullable(Type.Object({}, { description: 'The WebGPU-vs-WASM check made at load' })),
});

const send = (res: Response, answer: ManagementAnswer) => {
  res.status(answer.status).json(answer.body);
};

type ModelParams = { model_name: string; model_version?: string };

export function modelOperations(store: ModelStore, engine: InferenceEngine, workerLimit: WorkerLimit, defaultResponseTimeout: number): Operation[] {
  const manage = modelManagement(store, engine, workerLimit, defaultResponseTimeout);
  const list: Operation['handler'] = (req, res) => send(res, manage.list(listQuery(req.query)));
  const register: Operation['handler'] = async (req, res) => send(res, await manage.register(registerQuery(req.query), querySpelling(req.query)));
  const describeOne: Operation['handler'] = (req, res) => {
    const p = req.params as ModelParams;
    send(res, manage.describe(p.model_name, p.model_version));
  };
  const scale: Operation['handler'] = async (req, res) => {
    const p = req.params as ModelParams;
    send(res, await manage.scale(p.model_name, p.model_version, scaleQuery(req.query)));
  };
  const unregister: Operation['handler'] = async (req, res) => {
    const p = req.params as ModelParams;
    send(res, await manage.unregister(p.model_name, p.model_version));
  };
  const setDefault: Operation['handler'] = (req, res) => {
    const p = req.params as Required<ModelParams>;
    send(res, manage.setDefault(p.model_name, p.model_version));
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
          query('min_worker', `Workers to run (default 1; 0 stops the model); ${pages}. A negative one answers 500, as in TorchServe`, Type.Integer({ minimum: 0 })),
          query('max_worker', `Used when min_worker is absent; not less than min_worker, nor negative (400); ${pages}`, Type.Integer({ minimum: 0 })),
          synchronous,
        ],
        responses: { 200: json('Scaled', Status), 202: json('Scaling', Status), ...errors, 500: error('A negative min_worker, or new workers that failed to load (synchronous)') },
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
      summary: 'Register a model folder or model archive (.mar) of the model store (never a remote URL)',
      params: [
        { ...query('url', 'A model folder or model archive (.mar, an ONNX model inside) of the store'), required: true },
        query('model_name', "The name to register under; default the folder's name, or the archive manifest's modelName"),
        query('batch_size', 'Largest batch', Type.Integer({ minimum: RANGES.batchSize.min, maximum: RANGES.batchSize.max })),
        query('max_batch_delay', 'ms to wait for a batch to fill', Type.Number({ minimum: RANGES.maxBatchDelayMs.min, maximum: RANGES.maxBatchDelayMs.max })),
        query('initial_workers', `Workers to start for each version (default: the server's workers setting, else 0); 0 or less starts none, as in TorchServe; ${pages}`, Type.Integer()),
        query(
          'response_timeout',
          "Seconds a prediction may take, instead of the server's default_response_timeout",
          Type.Number({ minimum: RANGES.responseTimeoutS.min, maximum: RANGES.responseTimeoutS.max }),
        ),
        query(
          'startup_timeout',
          "Seconds each worker has to open its page and load the model (TorchServe's startup_timeout); -1 or absent: the model's config.json, else the server's load deadline. 0 or less leaves no time: the registration fails (500) and nothing stays registered",
          Type.Integer({ maximum: RANGES.startupTimeoutS.max }),
        ),
        synchronous,
      ],
      responses: {
        200: json('Registered', Status),
        202: json('Registered, workers loading', Status),
        ...errors,
        500: error('The workers did not load, or not within startup_timeout (synchronous): nothing stays registered'),
      },
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
