// TorchServe's management operations (list, register from the store, describe, scale,
// unregister, set-default), free of any transport: the HTTP Management API (routes/models.ts)
// and the gRPC ManagementAPIsService (grpc/torchserve-management.ts) fill the same typed
// parameters (management-params.ts) and call these, so one operation answers alike over both.

import { ApiError, badRequest } from '../errors.js';
import type { InferenceEngine } from '../page/inference-engine.js';
import { describeRange, inRange, RANGES, type Range } from '../config/limits.js';
import { isRemote, remoteRefused, type ModelStore, type ModelVersion } from './model-store.js';
import type { ModelConfig } from './model-config.js';
import { processMemory } from '../chromium/renderer-process.js';
import { confinementOf, type SandboxState } from '../chromium/chromium-sandbox.js';
import { tooManyPages, type WorkerLimit } from '../page/worker-budget.js';
import { asWritten, type ListParams, type RegisterParams, type ScaleParams, type Spelling } from './management-params.js';

/** Chromium's sandbox for one worker: the launch's choice, and how its renderer is confined now. */
function sandboxOf(state: SandboxState, pid: number | null) {
  const renderer = pid === null ? null : confinementOf(pid);
  return { enabled: state.enabled, setting: state.setting, reason: state.reason, user: state.user, ...(renderer ?? { uid: null, seccomp: null, noNewPrivs: null }) };
}

/** What the model was registered from, as TorchServe says it: the archive's file name, or the model file of a folder. */
const modelUrlOf = (v: ModelVersion): string => v.archive ?? `${v.name}/${v.version}/model.onnx`;

/** TorchServe's describe-model answer, with where and how the model actually runs. */
function descriptionOf(v: ModelVersion, engine: InferenceEngine, defaultResponseTimeout: number) {
  const status = engine.status(v);
  const first = status?.workers[0];
  const runtime = first?.runtime ?? null;
  const workers = status?.workers.length ?? 0;
  return {
    modelName: v.name,
    modelVersion: v.version,
    modelUrl: modelUrlOf(v),
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
      // The page's renderer process: its proportional set size, in bytes (with share_pages, every model of the page reports the same).
      memoryUsage: w.pid === null ? null : processMemory(w.pid),
      pid: w.pid,
      gpu: w.runtime?.backend === 'webgpu',
      backend: w.runtime?.backend ?? null,
      error: w.error,
      sandbox: w.sandbox && sandboxOf(w.sandbox, w.pid),
    })),
    backend: runtime?.backend ?? null,
    ortBuild: runtime?.ortBuild ?? null,
    adapter: runtime?.adapter ?? null,
    fallbackReason: runtime?.fallbackReason ?? null,
    parity: runtime?.parity ?? null,
    wasmThreads: runtime?.wasmThreads ?? null,
    gpuPreprocess: runtime?.gpuPreprocess ?? null,
    graphCapture: runtime?.graphCapture ?? null,
    batchSizes: runtime?.batchSizes ?? null,
    loadMs: runtime ? Math.round(runtime.loadMs) : null,
    loadSteps: runtime?.loadSteps ?? null,
    handler: v.config.handler,
    input: { name: v.config.inputName, preprocessing: preprocessingOf(v.config) },
    output:
      v.config.handler === 'image_classifier'
        ? { name: v.config.outputName, kind: v.config.output, format: v.config.outputFormat, topk: v.config.topk, classes: v.labels.length }
        : { name: v.config.outputName, classes: v.labels.length, ...(v.config.detector ? { detector: v.config.detector } : {}) },
  };
}

/** How images are fitted to the input: only the fields that apply to its fit. */
function preprocessingOf(c: ModelConfig): Record<string, unknown> {
  const fit = c.fit === 'crop' ? { fit: c.fit, resize: c.resize } : c.fit === 'letterbox' ? { fit: c.fit, fill: c.fill, align: c.align } : { fit: c.fit };
  return { ...fit, ...c.normalisation };
}

/** A number within one of this server's bounds, which protect the machine; else 400. */
const within = (n: number | undefined, name: string, range: Range, spelled: Spelling): number | undefined => {
  if (n !== undefined && !inRange(n, range)) throw badRequest(`${name} must be ${describeRange(range)}; got "${spelled(name, n).slice(0, 24)}".`);
  return n;
};

const workerCount = (n: number | undefined, name: string): number | undefined => {
  if (n !== undefined && n < 0) throw badRequest(`${name} cannot be negative; got ${n}.`);
  return n;
};

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** TorchServe's runtimes, accepted so that scripts passing them keep working; the model runs in onnxruntime-web either way. */
const RUNTIMES = ['python', 'python3', 'onnxruntime-web'];

/** What a management call answers: an HTTP status and its JSON body (gRPC maps both, grpc/torchserve-management.ts). */
export interface ManagementAnswer {
  status: number;
  body: unknown;
}

const ok = (body: unknown, status = 200): ManagementAnswer => ({ status, body });

/**
 * TorchServe's management operations, whatever carries them: the HTTP Management API
 * (routes/models.ts) and the gRPC ManagementAPIsService fill the same typed parameters
 * (management-params.ts) and call these, so both answer alike.
 */
export function modelManagement(store: ModelStore, engine: InferenceEngine, workerLimit: WorkerLimit, defaultResponseTimeout: number) {
  // Counted in the same turn as the engine call that opens the pages, so no request slips between.
  const pagesOf = (v: ModelVersion) => engine.status(v)?.workers.length ?? 0;
  const pagesInUse = () => sum(store.allVersions().map(pagesOf));
  const refuseBeyondLimit = (asked: string, total: number) => {
    const problem = tooManyPages(asked, total, workerLimit);
    if (problem) throw badRequest(`${problem}.`);
  };
  const list = (p: ListParams): ManagementAnswer => {
    const all = store.list();
    // As TorchServe: a limit past 100, or below 1, is 100; a bad token is the first page.
    const asked = p.limit ?? 100;
    const limit = asked < 1 || asked > 100 ? 100 : asked;
    const start = Math.max(0, p.nextPageToken ?? 0);
    const page = all.slice(start, start + limit).map((m) => ({ modelName: m.name, modelUrl: modelUrlOf(m.versions.get(m.defaultVersion)!) }));
    return ok(start + limit < all.length ? { nextPageToken: String(start + limit), models: page } : { models: page });
  };
  // Only store folders and archives, never a remote URL. As in TorchServe: no worker unless initial_workers
  // (or the server's workers setting) says, and synchronous unless told otherwise.
  const register = async (p: RegisterParams, spelled: Spelling = asWritten): Promise<ManagementAnswer> => {
    const { url, runtime } = p;
    if (url === undefined) throw badRequest('Parameter url is required: the name of a model folder or model archive (.mar) in the model store.');
    if (isRemote(url)) throw remoteRefused(url);
    if (runtime && !RUNTIMES.includes(runtime.toLowerCase()))
      throw badRequest(`runtime "${runtime.slice(0, 40)}" is not one this server has; it runs ONNX models in onnxruntime-web (${RUNTIMES.join(', ')} are accepted).`);
    const overrides = {
      batchSize: within(p.batchSize, 'batch_size', RANGES.batchSize, spelled),
      maxBatchDelayMs: within(p.maxBatchDelayMs, 'max_batch_delay', RANGES.maxBatchDelayMs, spelled),
    };
    // As TorchServe: an initial_workers of 0 or less starts no worker.
    const workers = p.initialWorkers === undefined ? (workerLimit.workers ?? 0) : Math.max(0, p.initialWorkers);
    const timeout = within(p.responseTimeout, 'response_timeout', RANGES.responseTimeoutS, spelled);
    // As TorchServe: 0 or less gives each worker no time to load, and the registration fails.
    const startup = within(p.startupTimeout === undefined ? undefined : Math.max(0, p.startupTimeout), 'startup_timeout', RANGES.startupTimeoutS, spelled);
    const config = { ...(timeout !== undefined && timeout > 0 ? { responseTimeout: timeout } : {}), ...(startup !== undefined ? { startupTimeout: startup } : {}) };
    const added = await store.register(url, {
      as: p.modelName || undefined,
      config,
      admit: (versions) => refuseBeyondLimit(`initial_workers=${workers}${versions.length > 1 ? ` for each of ${versions.length} versions` : ''}`, pagesInUse() + workers * versions.length),
    });
    const clean = { ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)), workers };
    const what = added.map((v) => `Model "${v.name}" Version: ${v.version}`).join(', ');
    const loading = Promise.all(added.map((v) => engine.addModel(v, clean)));
    if (workers === 0) {
      await loading;
      return ok({ status: `${what} registered with 0 initial workers. Use scale workers API to add workers for the model.` });
    } else if (p.synchronous ?? true) {
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
      return ok({ status: `${what} registered with ${workers} initial workers` });
    } else {
      loading.catch(() => undefined);
      return ok({ status: 'Processing worker updates...' }, 202);
    }
  };
  const describe = (name: string, version?: string): ManagementAnswer => {
    if (version === undefined) {
      return ok([descriptionOf(store.resolve(name), engine, defaultResponseTimeout)]);
    } else if (version === 'all') {
      store.resolve(name); // 404 for an unknown model
      return ok(
        Array.from(
          store
            .list()
            .find((m) => m.name === name)!
            .versions.values(),
          (v) => descriptionOf(v, engine, defaultResponseTimeout),
        ),
      );
    } else {
      return ok([descriptionOf(store.resolve(name, version), engine, defaultResponseTimeout)]);
    }
  };
  const scale = async (name: string, version: string | undefined, p: ScaleParams): Promise<ManagementAnswer> => {
    const v = store.resolve(name, version);
    const { minWorker: min, maxWorker } = p;
    if (min !== undefined && maxWorker !== undefined && maxWorker < min) throw badRequest(`max_worker (${maxWorker}) cannot be less than min_worker (${min}).`);
    // TorchServe answers 500 to a negative min_worker (after stopping every worker of the model);
    // scripts check that status. Here the workers are left as they were.
    if (min !== undefined && min < 0) throw new ApiError(500, 'InternalServerException', `min_worker cannot be negative; got ${min}. The workers are as they were.`);
    const max = workerCount(maxWorker, 'max_worker');
    // Without autoscaling the model runs min_worker pages; a max_worker past the limit is a promise it cannot keep.
    const workers = min ?? max ?? 1;
    const others = pagesInUse() - pagesOf(v);
    refuseBeyondLimit(min === undefined && max !== undefined ? `max_worker=${max}` : `min_worker=${workers}`, others + workers);
    if (max !== undefined) refuseBeyondLimit(`max_worker=${max}`, others + max);
    const work = engine.scale(v, workers);
    // TorchServe scales asynchronously unless told otherwise.
    if (p.synchronous ?? false) {
      await work;
      const failed = engine.status(v)?.workers.find((w) => w.state === 'failed');
      if (failed) throw new ApiError(500, 'InternalServerException', `Failed to start workers for model "${v.name}" version ${v.version}: ${failed.error}`);
      return ok({ status: `Workers scaled to ${workers} for model: ${v.name}${version ? `, version: ${v.version}` : ''}` });
    } else {
      work.catch(() => undefined);
      return ok({ status: 'Processing worker updates...' }, 202);
    }
  };
  const unregister = async (name: string, version?: string): Promise<ManagementAnswer> => {
    const v = store.unregister(name, version);
    await engine.removeModel(v);
    return ok({ status: `Model "${v.name}" Version: ${v.version} unregistered` });
  };
  const setDefault = (name: string, version: string): ManagementAnswer => {
    store.setDefault(name, version);
    return ok({ status: `Default version successfully updated for model "${name}" to "${version}"` });
  };
  return { list, register, describe, scale, unregister, setDefault };
}
