// The two gRPC listeners, configured as TorchServe configures its own: inference (TorchServe's
// InferenceAPIsService and KServe v2's GRPCInferenceService, on one port, as TorchServe serves
// its Open Inference Protocol) and management, each with grpc.health.v1.Health so that
// Kubernetes' native gRPC probes work. Messages are bounded by max_request_size; TLS, where
// enable_grpc_ssl is set, uses the same key and certificate as the https:// listeners. What a
// hostile client can do is bounded per connection (connection-guard.ts) and per call, before its
// handler (call-guard.ts: the key, and the bytes of messages still arriving).

import {
  type handleServerStreamingCall,
  type handleUnaryCall,
  type sendUnaryData,
  type ServerWritableStream,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import type net from 'node:net';
import type { Admission } from '../pipeline/admission.js';
import { type GrpcAddress, grpcTarget } from '../config/config.js';
import type { Metrics } from '../ops/metrics.js';
import { callGuard } from './call-guard.js';
import { type ConnectionLimits, guardedServer } from './connection-guard.js';
import { OPEN_METHODS, serviceDefinition, SERVICE_NAMES } from './definitions.js';
import { injectorWithHttp2 } from './grpc-js-internals.js';

export interface GrpcListenerOptions {
  inference: GrpcAddress;
  management: GrpcAddress;
  /** PEM key and certificate: served over TLS when given. */
  tls: { key: string; cert: string } | null;
  maxMessageBytes: number;
  /** Connections each listener holds at once, and each client address; resets a connection's client may make. */
  limits: ConnectionLimits;
  /** ms between keepalive pings on each connection, and ms an answer may take before it is closed. */
  keepalive: { timeMs: number; timeoutMs: number };
  /** The key each listener's calls must carry; null when authorization is off. */
  keys: { inference: string | null; management: string | null };
  /** The request-byte budget, which messages still arriving count against. */
  admission: Admission;
  metrics?: Metrics | undefined;
  services: { torchserveInference: UntypedServiceImplementation; kserve: UntypedServiceImplementation; torchserveManagement: UntypedServiceImplementation };
  /** Whether a new request would be served now: the health services follow it. */
  readiness: () => boolean;
}

export interface GrpcListeners {
  /** host:port each listener is bound to. */
  inference: string;
  management: string;
  /** Marks both listeners NOT_SERVING at once (shutdown has begun). */
  leave(): void;
  /** Waits up to `graceMs` for calls still open, then ends them. */
  close(graceMs: number): Promise<void>;
}

/** How often health follows readiness: probes poll every few seconds, and shutdown says so at once. */
const HEALTH_POLL_MS = 500;

/**
 * Listens on `address` with Node's own TCP server and hands each connection to grpc-js: so that,
 * as on the HTTP listeners, past `maxConnections` a new connection is closed at once, below the
 * open-file limit (grpc-js's own listener has no such bound), and so that connections are guarded.
 */
async function listen(name: string, server: Server, address: GrpcAddress, credentials: ServerCredentials, opts: GrpcListenerOptions): Promise<{ address: string; close(): void }> {
  const { injector, http2 } = injectorWithHttp2(server, credentials);
  const tcp: net.Server = guardedServer(name, injector, http2, opts.limits, opts.metrics);
  return new Promise((resolve, reject) => {
    tcp.once('error', (err) => reject(new Error(`gRPC cannot listen on ${grpcTarget(address)}: ${err.message}`)));
    tcp.listen(address.port, address.host, () => {
      const port = (tcp.address() as net.AddressInfo).port;
      resolve({
        address: grpcTarget({ ...address, port }),
        close: () => {
          tcp.close();
          injector.destroy();
        },
      });
    });
  });
}

export async function startGrpcListeners(opts: GrpcListenerOptions): Promise<GrpcListeners> {
  const options = {
    'grpc.max_receive_message_length': opts.maxMessageBytes,
    // Besides a client that has gone quiet, this finds a session HTTP/2 stopped reading (connection-guard.ts).
    'grpc.keepalive_time_ms': opts.keepalive.timeMs,
    'grpc.keepalive_timeout_ms': opts.keepalive.timeoutMs,
    // A connection that says nothing for long is dropped, as the HTTP listeners drop idle ones.
    'grpc.max_connection_idle_ms': 5 * 60_000,
    // Calls open at once on one connection: a client's further calls wait for a free stream; one
    // that opens more anyway loses the connection (nghttp2 takes it for a protocol error).
    'grpc.max_concurrent_streams': 256,
  };
  const credentials = () =>
    opts.tls ? ServerCredentials.createSsl(null, [{ private_key: Buffer.from(opts.tls.key), cert_chain: Buffer.from(opts.tls.cert) }], false) : ServerCredentials.createInsecure();

  // A client holds one connection for good, so behind a Kubernetes Service it would never reach a
  // replica added later: connections are told to go after a while (5 minutes by default), and
  // their calls get the grace to finish. This also bounds a message that trickles in forever.
  const aged = (a: GrpcAddress, key: string | null) => ({
    ...options,
    interceptors: [callGuard({ key, open: OPEN_METHODS, admission: opts.admission, metrics: opts.metrics })],
    ...(a.maxConnectionAgeMs !== undefined ? { 'grpc.max_connection_age_ms': a.maxConnectionAgeMs } : {}),
    ...(a.maxConnectionAgeGraceMs !== undefined ? { 'grpc.max_connection_age_grace_ms': a.maxConnectionAgeGraceMs } : {}),
  });
  const inference = new Server(aged(opts.inference, opts.keys.inference));
  inference.addService(serviceDefinition(SERVICE_NAMES.torchserveInference), opts.services.torchserveInference);
  inference.addService(serviceDefinition(SERVICE_NAMES.kserve), opts.services.kserve);
  const management = new Server(aged(opts.management, opts.keys.management));
  management.addService(serviceDefinition(SERVICE_NAMES.torchserveManagement), opts.services.torchserveManagement);

  // Check, and Watch's first answer, read readiness when asked; Watch then follows the poll below.
  const healthOf = (server: Server, services: string[]) => {
    const health = new HealthImplementation();
    const current = {
      addService: (definition: ServiceDefinition, impl: UntypedServiceImplementation) =>
        server.addService(definition, {
          ...impl,
          check: (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
            follow();
            (impl['check'] as handleUnaryCall<unknown, unknown>)(call, callback);
          },
          watch: (call: ServerWritableStream<unknown, unknown>) => {
            follow();
            (impl['watch'] as handleServerStreamingCall<unknown, unknown>)(call);
          },
        }),
    };
    health.addToServer(current as unknown as Server);
    return { health, names: ['', ...services] };
  };
  const healths = [healthOf(inference, [SERVICE_NAMES.torchserveInference, SERVICE_NAMES.kserve]), healthOf(management, [SERVICE_NAMES.torchserveManagement])];
  let shown: ServingStatus | null = null;
  let leaving = false;
  const show = (status: ServingStatus) => {
    if (status === shown) return;
    shown = status;
    for (const { health, names } of healths) for (const name of names) health.setStatus(name, status);
  };
  const follow = () => show(!leaving && opts.readiness() ? 'SERVING' : 'NOT_SERVING');
  follow();
  const poll = setInterval(follow, HEALTH_POLL_MS);
  poll.unref();

  const bound = await Promise.allSettled([listen('inference', inference, opts.inference, credentials(), opts), listen('management', management, opts.management, credentials(), opts)]);
  const [inferenceListener, managementListener] = bound.map((b) => (b.status === 'fulfilled' ? b.value : null));
  const failed = bound.find((b) => b.status === 'rejected');
  if (failed) {
    clearInterval(poll);
    inferenceListener?.close();
    managementListener?.close();
    inference.forceShutdown();
    management.forceShutdown();
    throw failed.reason;
  }
  return {
    inference: inferenceListener!.address,
    management: managementListener!.address,
    leave() {
      leaving = true;
      follow();
    },
    async close(graceMs) {
      clearInterval(poll);
      inferenceListener!.close();
      managementListener!.close();
      await Promise.all(
        [inference, management].map(
          (server) =>
            new Promise<void>((resolve) => {
              const force = setTimeout(() => {
                server.forceShutdown();
                resolve();
              }, graceMs);
              server.tryShutdown(() => {
                clearTimeout(force);
                resolve();
              });
            }),
        ),
      );
    },
  };
}
