// Server configuration: defaults, then a TorchServe-style properties file, then TS_* environment
// variables, then command-line flags, each overriding the one before. Pure: tested without I/O.

import type { BackendPreference, OrtBuild } from '../browser-runtime/protocol.js';
import { FIXED_BOUNDS, machineLimits, type Machine } from './limits.js';

export interface ServerConfig {
  inferenceAddress: URL;
  managementAddress: URL;
  metricsAddress: URL;
  modelStore: string;
  /** null: not set, each model's config decides. */
  backend: BackendPreference | null;
  ortBuild: OrtBuild;
  wasmThreads: number;
  parityTolerance: number;
  /** Seconds a prediction may take before the client gets 504. */
  defaultResponseTimeout: number;
  maxRequestSize: number;
  maxImagePixels: number;
  chromePath: string | null;
  /** Each null where not set: the model's config decides, else the defaults below. */
  batchSize: number | null;
  maxBatchDelayMs: number | null;
  workers: number | null;
  jobQueueSize: number;
  /** Extra Chromium switches, after the built-in ones. */
  chromiumArgs: string[];
  /** Model names to load, or null for every model in the store. */
  loadModels: string[] | null;
  cors: { origin: string; methods: string; headers: string } | null;
  /** null: on exactly when an API is bound to an address other than loopback. */
  tokenAuthorization: boolean | null;
  keyFile: string;
  /** The demo page at GET / and the model files it downloads for a local run. */
  demoPage: boolean;
  /** Worker pages across every model version. */
  maxWorkers: number;
  /** Where maxWorkers comes from, for the messages that refuse more pages. */
  maxWorkersWhy: string;
  /** Request bodies held in memory at once, across all requests. */
  maxInflightBytes: number;
  /** sharp decodes at once. */
  decodeSlots: number;
  /** Most scans a JPEG may have: each is a pass over the whole image. */
  maxJpegScans: number;
  /** Connections the inference listener holds at once; the other two hold fewer. */
  maxConnections: number;
  smallListenerConnections: number;
}

/** Used where neither the server settings nor the model's config say. */
export const MODEL_DEFAULTS = { batchSize: 1, maxBatchDelayMs: 0, workers: 1 } as const;

export class ConfigError extends Error {}

export const CONFIG_KEYS = {
  inference_address: 'address the Inference API binds, e.g. http://127.0.0.1:8080',
  management_address: 'address the Management API binds, e.g. http://127.0.0.1:8081',
  metrics_address: 'address the Prometheus metrics bind, e.g. http://127.0.0.1:8082',
  model_store: 'folder holding <model>/config.json and <model>/<version>/model.onnx',
  backend: 'auto | webgpu | wasm: where every model runs (unset: each model\'s config, else auto)',
  ort_build: 'webgpu | jsep: which onnxruntime-web WebGPU implementation the pages load',
  wasm_threads: 'threads for the WASM backend in each page',
  parity_tolerance: 'largest relative WebGPU-vs-WASM difference accepted at load',
  default_response_timeout: 'seconds before a prediction answers 504',
  max_request_size: 'largest request body in bytes (413 above it)',
  max_image_pixels: 'largest image in pixels (width x height) that is decoded',
  chrome_path: 'Chromium or Chrome executable (also the CHROME_PATH variable)',
  batch_size: 'most requests run as one batch, for every model (unset: each model\'s config)',
  max_batch_delay: 'ms a free worker waits for a batch to fill, for every model (unset: each model\'s config)',
  workers: 'pages per model version, for every model (unset: each model\'s config)',
  default_workers_per_model: 'TorchServe\'s name for workers',
  load_models: 'all, or comma-separated model names to load from the store',
  models: 'the same as load_models (TorchServe\'s --models flag)',
  cors_allowed_origin: 'origin allowed to call the APIs from a browser (* for any); unset: CORS off',
  cors_allowed_methods: 'methods allowed cross-origin',
  cors_allowed_headers: 'request headers allowed cross-origin',
  job_queue_size: 'requests queued per model version before 503',
  chromium_args: 'extra Chromium switches, space-separated (e.g. GPU selection on a GPU host)',
  disable_token_authorization: 'true turns token authorization off (it is on when a non-loopback address is bound)',
  enable_token_authorization: 'true turns token authorization on even on loopback',
  key_file: 'where the API keys are written when token authorization is on',
  disable_token_auth: 'the same as disable_token_authorization=true (command-line flag --disable-token-auth)',
  disable_demo_page: 'true serves no demo page on the inference port, and no model files with it',
  max_workers: 'worker pages across every model version (default: 4 per core, at most half the memory at 256 MiB a page)',
  max_inflight_bytes: 'request bodies held in memory at once, across all requests; past it new requests get 503 (default: memory/32, 64 to 512 MiB)',
  decode_slots: 'image decodes at once (default: one per core, leaving two of libuv\'s threads for files); more wait, and a full line gets 503',
  max_jpeg_scans: 'most scans a JPEG may have (each is a pass over the whole image); more is refused before decoding',
  max_connections: 'connections the inference listener holds at once (default: below the open-file limit)',
} as const;

export type ConfigKey = keyof typeof CONFIG_KEYS;

export const DEFAULTS: Record<ConfigKey, string> = {
  inference_address: 'http://127.0.0.1:8080',
  management_address: 'http://127.0.0.1:8081',
  metrics_address: 'http://127.0.0.1:8082',
  model_store: 'models',
  backend: '',
  ort_build: 'webgpu',
  wasm_threads: '0',
  parity_tolerance: '0.001',
  default_response_timeout: '120',
  max_request_size: '6553500',
  max_image_pixels: '40000000',
  chrome_path: '',
  batch_size: '',
  max_batch_delay: '',
  workers: '',
  default_workers_per_model: '',
  load_models: 'all',
  models: '',
  cors_allowed_origin: '',
  cors_allowed_methods: 'GET, POST, PUT, OPTIONS',
  cors_allowed_headers: 'Content-Type, Authorization',
  job_queue_size: '100',
  chromium_args: '',
  disable_token_authorization: 'false',
  enable_token_authorization: 'false',
  key_file: 'key_file.json',
  disable_token_auth: 'false',
  disable_demo_page: 'false',
  max_workers: '',
  max_inflight_bytes: '',
  decode_slots: '',
  max_jpeg_scans: '100',
  max_connections: '',
};

function isKey(k: string): k is ConfigKey {
  return Object.hasOwn(CONFIG_KEYS, k);
}

/** `key=value` lines, `#` comments: the format of TorchServe's config.properties. */
export function parseProperties(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [n, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('!')) continue;
    const eq = line.search(/[=:]/);
    if (eq <= 0) throw new ConfigError(`config line ${n + 1}: expected key=value, got "${line}"`);
    out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}

/** `--model-store x`, `--model-store=x` to `{model_store: 'x'}`; `--ts-config` names the file. */
export function parseArgs(argv: readonly string[]): { values: Record<string, string>; configFile: string | null } {
  const values: Record<string, string> = {};
  let configFile: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = (eq < 0 ? arg.slice(2) : arg.slice(2, eq)).replaceAll('-', '_');
    // A bare switch (the next word is another flag, or none) means true.
    const isSwitch = eq < 0 && name.startsWith('disable_') && (argv[i + 1] === undefined || argv[i + 1]!.startsWith('--'));
    const value = isSwitch ? 'true' : eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new ConfigError(`--${name.replaceAll('_', '-')} needs a value`);
    if (name === 'ts_config' || name === 'config') configFile = value;
    else values[name] = value;
  }
  return { values, configFile };
}

function oneOf<T extends string>(key: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(`${key} must be one of ${allowed.join(', ')}; got "${value}"`);
}

/** A number from `min` to `max`; `why` says where the upper bound comes from. */
function number(key: string, value: string, min: number, integer: boolean, max = Number.MAX_SAFE_INTEGER, why = ''): number {
  const n = Number(value);
  if (value === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}${why ? ` (${why})` : ''}`;
    throw new ConfigError(`${key} must be ${integer ? 'an integer' : 'a number'} ${range}; got "${value}"`);
  }
  return n;
}

function bool(key: string, value: string): boolean {
  if (value === 'true' || value === 'false') return value === 'true';
  throw new ConfigError(`${key} must be true or false; got "${value}"`);
}

function address(key: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value.includes('://') ? value : `http://${value}`);
  } catch {
    throw new ConfigError(`${key} must look like http://127.0.0.1:8080; got "${value}"`);
  }
  if (url.protocol !== 'http:') throw new ConfigError(`${key}: only http:// is served; got "${value}"`);
  return url;
}

export interface ConfigSources {
  file?: Record<string, string>;
  env?: Record<string, string | undefined>;
  args?: Record<string, string>;
  /** The machine the limits are derived from (limits.ts readMachine()); a small fixed one when absent. */
  machine?: Partial<Machine>;
}

const DEFAULT_MACHINE: Machine = { cores: 2, memoryBytes: 8 * 1024 ** 3, openFiles: 4096, threadPoolSize: 4 };

export function resolveConfig({ file = {}, env = {}, args = {}, machine: given = {} }: ConfigSources): ServerConfig {
  const machine = { ...DEFAULT_MACHINE, ...given };
  const { cores } = machine;
  const limits = machineLimits(machine);
  const merged: Record<ConfigKey, string> = { ...DEFAULTS };
  const apply = (source: Record<string, string>, origin: string) => {
    for (const [k, v] of Object.entries(source)) {
      if (!isKey(k)) throw new ConfigError(`unknown setting "${k}" in ${origin}; known: ${Object.keys(CONFIG_KEYS).join(', ')}`);
      merged[k] = v;
    }
  };
  apply(file, 'the config file');
  const fromEnv: Record<string, string> = {};
  for (const k of Object.keys(CONFIG_KEYS)) {
    const v = env[`TS_${k.toUpperCase()}`];
    if (v !== undefined) fromEnv[k] = v;
  }
  if (env['CHROME_PATH'] && !fromEnv['chrome_path']) fromEnv['chrome_path'] = env['CHROME_PATH'];
  apply(fromEnv, 'the environment');
  apply(args, 'the command line');

  const threads = number('wasm_threads', merged.wasm_threads, 0, true, limits.maxWasmThreads, `4 per core on ${cores} cores`);
  const maxWorkers = merged.max_workers === '' ? limits.maxWorkers : number('max_workers', merged.max_workers, 1, true, FIXED_BOUNDS.workers);
  const workersWhy = `max_workers, ${merged.max_workers === '' ? `derived from ${cores} cores and ${(machine.memoryBytes / 1024 ** 3).toFixed(0)} GiB` : 'as set'}`;
  const maxRequestSize = number('max_request_size', merged.max_request_size, 1, true, FIXED_BOUNDS.requestSize);
  const maxInflightBytes = merged.max_inflight_bytes === '' ? Math.max(limits.inflightBytes, maxRequestSize) : number('max_inflight_bytes', merged.max_inflight_bytes, maxRequestSize, true, machine.memoryBytes, 'at least max_request_size, at most the memory');
  const maxConnections = merged.max_connections === '' ? limits.maxConnections : number('max_connections', merged.max_connections, 1, true, Math.max(1, machine.openFiles - 256), `below the open-file limit of ${machine.openFiles}`);
  return {
    inferenceAddress: address('inference_address', merged.inference_address),
    managementAddress: address('management_address', merged.management_address),
    metricsAddress: address('metrics_address', merged.metrics_address),
    modelStore: merged.model_store,
    backend: merged.backend === '' ? null : oneOf('backend', merged.backend, ['auto', 'webgpu', 'wasm'] as const),
    ortBuild: oneOf('ort_build', merged.ort_build, ['webgpu', 'jsep'] as const),
    // 0 means one per core: the page's WASM threads are the only compute this server does.
    wasmThreads: threads === 0 ? Math.max(1, cores) : threads,
    parityTolerance: number('parity_tolerance', merged.parity_tolerance, 0, false),
    defaultResponseTimeout: number('default_response_timeout', merged.default_response_timeout, 1, false, FIXED_BOUNDS.responseTimeoutS),
    maxRequestSize,
    maxImagePixels: number('max_image_pixels', merged.max_image_pixels, 1, true, FIXED_BOUNDS.imagePixels),
    chromePath: merged.chrome_path || null,
    batchSize: merged.batch_size === '' ? null : number('batch_size', merged.batch_size, 1, true, FIXED_BOUNDS.batchSize),
    maxBatchDelayMs: merged.max_batch_delay === '' ? null : number('max_batch_delay', merged.max_batch_delay, 0, false, FIXED_BOUNDS.maxBatchDelayMs),
    workers:
      merged.workers !== ''
        ? number('workers', merged.workers, 1, true, maxWorkers, workersWhy)
        : merged.default_workers_per_model !== ''
          ? number('default_workers_per_model', merged.default_workers_per_model, 1, true, maxWorkers, workersWhy)
          : null,
    loadModels: ((m) => (m === 'all' ? null : m.split(',').map((x) => x.trim()).filter(Boolean)))(merged.models || merged.load_models),
    cors: merged.cors_allowed_origin ? { origin: merged.cors_allowed_origin, methods: merged.cors_allowed_methods, headers: merged.cors_allowed_headers } : null,
    jobQueueSize: number('job_queue_size', merged.job_queue_size, 1, true, FIXED_BOUNDS.jobQueueSize),
    chromiumArgs: merged.chromium_args.split(/\s+/).filter(Boolean),
    tokenAuthorization:
      bool('disable_token_authorization', merged.disable_token_authorization) || bool('disable_token_auth', merged.disable_token_auth)
        ? false
        : bool('enable_token_authorization', merged.enable_token_authorization)
          ? true
          : null,
    keyFile: merged.key_file,
    demoPage: !bool('disable_demo_page', merged.disable_demo_page),
    maxWorkers,
    maxWorkersWhy: workersWhy,
    maxInflightBytes,
    decodeSlots: merged.decode_slots === '' ? limits.decodeSlots : number('decode_slots', merged.decode_slots, 1, true, Math.max(1, machine.threadPoolSize - 1), `one of libuv's ${machine.threadPoolSize} threads stays free for files; raise UV_THREADPOOL_SIZE for more`),
    maxJpegScans: number('max_jpeg_scans', merged.max_jpeg_scans, 1, true, 100_000),
    maxConnections,
    smallListenerConnections: Math.min(limits.smallListenerConnections, maxConnections),
  };
}
