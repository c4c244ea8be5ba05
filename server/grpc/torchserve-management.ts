// TorchServe's gRPC ManagementAPIsService, answered by the same operations as the HTTP Management
// API (model-management.ts): each request's fields become the query parameters HTTP would carry
// (proto3's 0, '' and false read as absent, as TorchServe reads them: so `synchronous` is false
// unless set, as in TorchServe's gRPC), and `msg` is what TorchServe puts there: the status
// sentence, or the JSON of a description or a list.

import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { InferenceEngine } from '../page/inference-engine.js';
import { badRequest } from '../errors.js';
import { type ManagementAnswer, modelManagement } from '../store/model-management.js';
import type { ModelStore } from '../store/model-store.js';
import type { WorkerLimit } from '../page/worker-budget.js';
import { type CallEnv, unary } from './calls.js';
import { type DescribeModelRequest, type ListModelsRequest, type ModelRef, type RegisterModelRequest, type ScaleWorkerRequest, SERVICE_NAMES } from './definitions.js';

const SERVICE = SERVICE_NAMES.torchserveManagement;

/** A request's fields as HTTP query parameters: unset ones (0, '') left out, booleans spelled. */
export function asQuery(fields: Record<string, string | number | boolean>): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (typeof v === 'boolean') query[k] = String(v);
    else if (v !== 0 && v !== '') query[k] = String(v);
  }
  return query;
}

/** TorchServe's msg: a status sentence as it is, anything else as pretty JSON. */
export function messageOf(answer: ManagementAnswer): { msg: string } {
  const body = answer.body as { status?: unknown };
  const sentence = typeof body === 'object' && body !== null && !Array.isArray(body) && Object.keys(body).length === 1 && typeof body.status === 'string';
  return { msg: sentence ? (body.status as string) : JSON.stringify(answer.body, null, 2) };
}

const named = (name: string): string => {
  if (!name) throw badRequest('Parameter model_name is required.');
  return name;
};

export function torchserveManagementService(env: CallEnv, store: ModelStore, engine: InferenceEngine, workerLimit: WorkerLimit, defaultResponseTimeout: number): UntypedServiceImplementation {
  const manage = modelManagement(store, engine, workerLimit, defaultResponseTimeout);
  const op = <Req>(method: string, work: (r: Req) => ManagementAnswer | Promise<ManagementAnswer>) =>
    unary<Req, { msg: string }>(env, { service: SERVICE, method, work: async (r) => ({ reply: messageOf(await work(r)) }) });
  return {
    DescribeModel: op<DescribeModelRequest>('DescribeModel', (r) => manage.describe(named(r.model_name), r.model_version || undefined)),
    ListModels: op<ListModelsRequest>('ListModels', (r) => manage.list(asQuery({ limit: r.limit, next_page_token: r.next_page_token }))),
    RegisterModel: op<RegisterModelRequest>('RegisterModel', (r) =>
      manage.register(
        asQuery({
          url: r.url,
          model_name: r.model_name,
          batch_size: r.batch_size,
          max_batch_delay: r.max_batch_delay,
          initial_workers: r.initial_workers,
          response_timeout: r.response_timeout,
          runtime: r.runtime,
          synchronous: r.synchronous,
        }),
      ),
    ),
    ScaleWorker: op<ScaleWorkerRequest>('ScaleWorker', (r) =>
      manage.scale(named(r.model_name), r.model_version || undefined, asQuery({ min_worker: r.min_worker, max_worker: r.max_worker, synchronous: r.synchronous })),
    ),
    SetDefault: op<ModelRef>('SetDefault', (r) => {
      if (!r.model_version) throw badRequest('Parameter model_version is required.');
      return manage.setDefault(named(r.model_name), r.model_version);
    }),
    UnregisterModel: op<ModelRef>('UnregisterModel', (r) => manage.unregister(named(r.model_name), r.model_version || undefined)),
  };
}
