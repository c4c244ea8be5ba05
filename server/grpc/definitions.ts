// The gRPC services, loaded from the .proto files in protos/ as their owners publish them (names
// unchanged, so stock clients work), and the shapes of the messages this server reads and writes.
// Loaded with the field names as the .proto spells them and int64 as JS numbers: a shape never
// needs more than 2^53.

import path from 'node:path';
import { type ChannelCredentials, type Client, loadPackageDefinition, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type Options, type PackageDefinition } from '@grpc/proto-loader';
import { PROJECT_ROOT } from '../ops/paths.js';

export const PROTO_ROOT = path.join(PROJECT_ROOT, 'protos');

export const PROTO_FILES = ['torchserve/inference.proto', 'torchserve/management.proto', 'kserve/grpc_predict_v2.proto'];

export const LOADER_OPTIONS: Options = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true, includeDirs: [PROTO_ROOT] };

export const SERVICE_NAMES = {
  torchserveInference: 'org.pytorch.serve.grpc.inference.InferenceAPIsService',
  torchserveManagement: 'org.pytorch.serve.grpc.management.ManagementAPIsService',
  kserve: 'inference.GRPCInferenceService',
} as const;

/** Calls open to anyone, like /ping, with token authorization on: liveness, readiness and health. */
export const OPEN_METHODS: ReadonlySet<string> = new Set([
  `/${SERVICE_NAMES.torchserveInference}/Ping`,
  `/${SERVICE_NAMES.kserve}/ServerLive`,
  `/${SERVICE_NAMES.kserve}/ServerReady`,
  ...['Check', 'Watch', 'List'].map((m) => `/grpc.health.v1.Health/${m}`),
]);

export const packageDefinition: PackageDefinition = loadSync(PROTO_FILES, LOADER_OPTIONS);

export const serviceDefinition = (name: string): ServiceDefinition => packageDefinition[name] as ServiceDefinition;

export type ClientConstructor = new (target: string, credentials: ChannelCredentials, options?: object) => Client;

/** Client classes of the three services, as a stock client builds them from the same files: for the tests and the bench, not the server. */
export function clientConstructors(): Record<keyof typeof SERVICE_NAMES, ClientConstructor> {
  const loaded = loadPackageDefinition(packageDefinition);
  const at = (name: string) => name.split('.').reduce((o: unknown, part) => (o as Record<string, unknown>)[part], loaded) as ClientConstructor;
  return { torchserveInference: at(SERVICE_NAMES.torchserveInference), torchserveManagement: at(SERVICE_NAMES.torchserveManagement), kserve: at(SERVICE_NAMES.kserve) };
}

// TorchServe's inference.proto

export interface PredictionsRequest {
  model_name: string;
  model_version: string;
  input: Record<string, Buffer>;
  sequenceId?: string;
}

export interface RpcStatus {
  code: number;
  message: string;
  details: unknown[];
}

export interface PredictionResponse {
  prediction: Buffer;
  sequenceId?: string;
  status?: RpcStatus;
}

// TorchServe's management.proto: every field, as proto3 gives it (0, '' or false when unset).

export interface DescribeModelRequest {
  model_name: string;
  model_version: string;
  customized: boolean;
}

export interface ListModelsRequest {
  limit: number;
  next_page_token: number;
}

export interface RegisterModelRequest {
  batch_size: number;
  handler: string;
  initial_workers: number;
  max_batch_delay: number;
  model_name: string;
  response_timeout: number;
  runtime: string;
  synchronous: boolean;
  url: string;
  s3_sse_kms: boolean;
  startup_timeout: number;
}

export interface ScaleWorkerRequest {
  model_name: string;
  model_version: string;
  max_worker: number;
  min_worker: number;
  number_gpu: number;
  synchronous: boolean;
  timeout: number;
}

export interface ModelRef {
  model_name: string;
  model_version: string;
}

// KServe's grpc_predict_v2.proto

export interface NameVersion {
  name: string;
  version: string;
}

export interface TensorContents {
  fp32_contents?: number[];
  [other: string]: unknown;
}

export interface InferInputTensor {
  name: string;
  datatype: string;
  shape: number[];
  parameters: Record<string, unknown>;
  contents: TensorContents | null;
}

export interface ModelInferRequest {
  model_name: string;
  model_version: string;
  id: string;
  parameters: Record<string, unknown>;
  inputs: InferInputTensor[];
  outputs: Array<{ name: string }>;
  raw_input_contents: Buffer[];
}

export interface ModelInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  outputs: Array<{ name: string; datatype: string; shape: number[]; contents?: { fp32_contents: number[] } }>;
  raw_output_contents: Buffer[];
}
