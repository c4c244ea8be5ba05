// gRPC clients built from the same .proto files the server serves (protos/), as a stock client
// would build them, with promise helpers for unary calls.

import { credentials as channelCredentials, type ChannelCredentials, type Client, loadPackageDefinition, Metadata, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProto } from 'grpc-health-check';
import { type ClientConstructor, clientConstructors, LOADER_OPTIONS } from '../../server/grpc/definitions.js';

const health = loadPackageDefinition(loadSync(healthProto, LOADER_OPTIONS)) as unknown as { grpc: { health: { v1: { Health: ClientConstructor } } } };

export type AnyClient = Client & Record<string, (...args: unknown[]) => unknown>;

export interface GrpcClients {
  torchserve: AnyClient;
  kserve: AnyClient;
  management: AnyClient;
  health: AnyClient;
  managementHealth: AnyClient;
  close(): void;
}

export function grpcClients(addresses: { inference: string; management: string }, credentials: ChannelCredentials = channelCredentials.createInsecure(), options: object = {}): GrpcClients {
  const made = (C: ClientConstructor, target: string) => new C(target, credentials, { 'grpc.max_receive_message_length': -1, ...options }) as AnyClient;
  const services = clientConstructors();
  const clients = {
    torchserve: made(services.torchserveInference, addresses.inference),
    kserve: made(services.kserve, addresses.inference),
    management: made(services.torchserveManagement, addresses.management),
    health: made(health.grpc.health.v1.Health, addresses.inference),
    managementHealth: made(health.grpc.health.v1.Health, addresses.management),
  };
  return { ...clients, close: () => Object.values(clients).forEach((c) => c.close()) };
}

/** Metadata with `authorization: Bearer <key>`, as TorchServe's clients send it. */
export function bearer(key: string): Metadata {
  const m = new Metadata();
  m.set('authorization', `Bearer ${key}`);
  return m;
}

/** A unary call as a promise: its answer, or the ServiceError it ended with. */
export function callUnary<T = any>(client: AnyClient, method: string, request: object, metadata = new Metadata(), options: object = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    client[method]!(request, metadata, options, (err: ServiceError | null, reply: T) => (err ? reject(err) : resolve(reply)));
  });
}

/** The error a call ended with; fails when it succeeded. */
export async function callFails(client: AnyClient, method: string, request: object, metadata = new Metadata(), options: object = {}): Promise<ServiceError> {
  try {
    await callUnary(client, method, request, metadata, options);
  } catch (e) {
    return e as ServiceError;
  }
  throw new Error(`${method} succeeded where it should have failed`);
}
