// What the server runs with, once every setting is read (config.ts resolveConfig), grouped by
// the part of the server that reads it. Each group's fields are documented here; the settings
// behind them, their defaults and ranges are in settings.ts.

import type { ConnectionLimits } from '../grpc/connection-guard.js';
import type { CorsSettings } from '../http/cors.js';
import type { UploadRules } from '../http/uploads/uploads.js';
import type { SettingValue } from './settings.js';

/** The three HTTP listeners: where each binds, and the connections each may hold. */
export interface ListenerSettings {
  inference: URL;
  management: URL;
  metrics: URL;
  /** Connections the inference listener holds at once; the other two hold fewer. */
  maxConnections: number;
  /** Connections the management and metrics listeners (and each gRPC listener) hold at once. */
  smallListenerConnections: number;
}

/** The PEM files of the https:// listeners, as set: both, since some address is https. */
export type TlsFiles = { privateKeyFile: string; certificateFile: string };

/** Where a gRPC listener binds, and how long its connections live (TorchServe's settings). */
export interface GrpcAddress {
  host: string;
  port: number;
  /** A connection is told to go (GOAWAY) this long after it opened... */
  maxConnectionAgeMs?: number;
  /** ...and closed this long after that. */
  maxConnectionAgeGraceMs?: number;
}

export interface GrpcSettings {
  inference: GrpcAddress;
  management: GrpcAddress;
  /** They serve with the key and certificate of the config's `tls`. */
  tls: boolean;
  limits: ConnectionLimits;
  keepalive: { timeMs: number; timeoutMs: number };
}

/** What one request, and all of them together, may hold. */
export interface RequestLimits {
  maxRequestSize: number;
  maxImagePixels: number;
  /** Most scans a JPEG may have: each is a pass over the whole image. */
  maxJpegScans: number;
  /** Request bodies held in memory at once, across all requests. */
  maxInflightBytes: number;
  jobQueueSize: number;
  /** sharp decodes at once. */
  decodeSlots: number;
  /** Request bodies one client may have still arriving, and the pace each must keep. */
  uploads: UploadRules;
}

export interface Timeouts {
  /** Seconds a prediction may take before the client gets 504. */
  defaultResponseTimeout: number;
  /** Seconds between a SIGTERM (readiness fails) and the drain (new requests refused). */
  shutdownDelay: number;
}

/** The model store, which of its models load, and the workers they get. */
export interface ModelSettings {
  store: string;
  /** Model names and archives (`x.mar`, `name=x.mar`) to load, or null for every model and archive in the store. */
  load: string[] | null;
  /** Bytes a model archive may unpack to, all its files together. */
  archiveBytes: number;
  /** Each null where not set: the model's config decides, else MODEL_DEFAULTS. */
  batchSize: number | null;
  maxBatchDelayMs: number | null;
  /** How long a batch that is not full may wait for images of its model still decoding (batch-scheduler.ts). */
  maxBatchDecodeWaitMs: number;
  workers: number | null;
  /** Worker pages across every model version. */
  maxWorkers: number;
  /** Where maxWorkers comes from, for the messages that refuse more pages. */
  maxWorkersWhy: string;
}

/** How the pages run models (onnxruntime-web). */
export interface RuntimeSettings {
  /** null: not set, each model's config decides. */
  backend: SettingValue<'backend'>;
  ortBuild: SettingValue<'ort_build'>;
  wasmThreads: number;
  /** wasm_threads was 0: `wasmThreads` (one a core) is where each model starts, and its pages may take one thread (wasm-thread-choice.ts). */
  wasmThreadsChosen: boolean;
  /** share_pages: worker i of every model in page i (server/page/runtime-page.ts). */
  sharePages: boolean;
  /** gpu_preprocess: WebGPU pages normalise an image classifier's pixels on the GPU. */
  gpuPreprocess: boolean;
  /** graph_capture: WebGPU pages replay an image classifier's captured GPU commands. */
  graphCapture: boolean;
  parityTolerance: number;
}

export interface ChromiumSettings {
  /** null: looked for in the usual places (find-chromium.ts). */
  path: string | null;
  /** Extra Chromium switches, after the built-in ones. */
  args: string[];
  sandbox: SettingValue<'chromium_sandbox'>;
  user: string | null;
}

export interface AuthSettings {
  /** null: on exactly when an API is bound to an address other than loopback. */
  tokenAuthorization: boolean | null;
  keyFile: string;
  /** Keys an operator gave (shared by replicas); null: a random one at each start. */
  givenKeys: { inference: string | null; management: string | null };
}

/** What the HTTP listeners serve besides the APIs. */
export interface WebSettings {
  cors: CorsSettings | null;
  /** The demo page at GET / and the model files it downloads for a local run. */
  demoPage: boolean;
}

export interface ServerConfig {
  listeners: ListenerSettings;
  /** null: no address is https:// and gRPC has no TLS, and the files (set or not) are not read. */
  tls: TlsFiles | null;
  /** The gRPC listeners; null: none (disable_grpc). */
  grpc: GrpcSettings | null;
  limits: RequestLimits;
  timeouts: Timeouts;
  models: ModelSettings;
  runtime: RuntimeSettings;
  chromium: ChromiumSettings;
  auth: AuthSettings;
  web: WebSettings;
}
