// TorchServe's gRPC ManagementAPIsService, answered by the same operations as the HTTP Management
// API (model-management.ts): each request's fields fill the operation's typed parameters
// (proto3's '' and any number not above 0 read as absent, as TorchServe's GRPCUtils reads them;
// `synchronous` is false unless set, as in TorchServe's gRPC), and `msg` is what TorchServe puts
// there: the status sentence, or the JSON of a description or a list.

import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { InferenceEngine } from '../page/inference-engine.js';
import { badRequest } from '../errors.js';
import { type ManagementAnswer, modelManagement } from '../store/model-management.js';
import type { ModelStore } from '../store/model-store.js';
import type { ListParams, RegisterParams, ScaleParams } from '../store/management-params.js';
import type { WorkerLimit } from '../page/worker-budget.js';
import { type CallEnv, unary } from './calls.js';
import { type DescribeModelRequest, type ListModelsRequest, type ModelRef, type RegisterModelRequest, type ScaleWorkerRequest, SERVICE_NAMES } from './definitions.js';

const SERVICE = SERVICE_NAMES.torchserveManagement;

/** proto3's unset: '' is absent, as TorchServe reads it. */
const given = (v: string): string | undefined => v || undefined;

/**
 * A number is absent unless above 0, as TorchServe's GRPCUtils.getRegisterParam reads every one:
 * proto3 cannot tell 0 from unset, and a negative count or timeout means its default there.
 */
const positive = (v: number): number | undefined => (v > 0 ? v : undefined);

export const listParamsOf = (r: ListModelsRequest): ListParams => ({ limit: positive(r.limit), nextPageToken: positive(r.next_page_token) });

export const registerParamsOf = (r: RegisterModelRequest): RegisterParams => ({
  url: given(r.url),
  modelName: given(r.model_name),
  runtime: given(r.runtime),
  batchSize: positive(r.batch_size),
  maxBatchDelayMs: positive(r.max_batch_delay),
  initialWorkers: positive(r.initial_workers),
  responseTimeout: positive(r.response_timeout),
  startupTimeout: positive(r.startup_timeout),
  // false unless set, as in TorchServe's gRPC.
  synchronous: r.synchronous,
});

export const scaleParamsOf = (r: ScaleWorkerRequest): ScaleParams => ({ minWorker: positive(r.min_worker), maxWorker: positive(r.max_worker), synchronous: r.synchronous });

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
    DescribeModel: op<DescribeModelRequest>('DescribeModel', (r) => manage.describe(named(r.model_name), given(r.model_version))),
    ListModels: op<ListModelsRequest>('ListModels', (r) => manage.list(listParamsOf(r))),
    RegisterModel: op<RegisterModelRequest>('RegisterModel', (r) => manage.register(registerParamsOf(r))),
    ScaleWorker: op<ScaleWorkerRequest>('ScaleWorker', (r) => manage.scale(named(r.model_name), given(r.model_version), scaleParamsOf(r))),
    SetDefault: op<ModelRef>('SetDefault', (r) => {
      if (!r.model_version) throw badRequest('Parameter model_version is required.');
      return manage.setDefault(named(r.model_name), r.model_version);
    }),
    UnregisterModel: op<ModelRef>('UnregisterModel', (r) => manage.unregister(named(r.model_name), given(r.model_version))),
  };
}
