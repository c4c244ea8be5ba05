// Server configuration: defaults, then a TorchServe-style properties file, then TS_* environment
// variables, then command-line flags, each overriding the one before (setting-sources.ts reads
// them). resolveConfig is pure: tested without I/O (tls-files.ts reads the key and certificate
// files it names, at start). The shape of its answer: server-config.ts. Which settings there
// are, their names, types and defaults: settings.ts.

import { isIP } from 'node:net';
import { machineLimits, type Machine, type MachineLimits } from './limits.js';
import type { GrpcAddress, GrpcSettings, ListenerSettings, ServerConfig, TlsFiles } from './server-config.js';
import { ConfigError, unknownSetting } from './config-error.js';
import { fromEnv } from './setting-sources.js';
import { ROWS, SETTING_NAMED, SETTINGS, type Setting, type SettingName, type SettingValue } from './settings.js';
import { pageLimitFlags } from '../chromium/chromium-flags.js';

export { ConfigError } from './config-error.js';
export { parseArgs, parseProperties } from './setting-sources.js';
export type { GrpcAddress, ServerConfig, TlsFiles } from './server-config.js';

/** Used where neither the server settings nor the model's config say. */
export const MODEL_DEFAULTS = { batchSize: 1, maxBatchDelayMs: 0, workers: 1 } as const;

/** A key given in the settings: long enough not to be guessed, and one Bearer token. */
function apiKey(value: string | null, name: string): string | null {
  if (value === null) return null;
  if (value.length < 16 || /\s/.test(value)) throw new ConfigError(`${name} must be at least 16 characters with no spaces (it is sent as "Authorization: Bearer <key>")`);
  return value;
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

function address(key: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value.includes('://') ? value : `http://${value}`);
  } catch {
    throw new ConfigError(`${key} must look like http://127.0.0.1:8080; got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`${key}: only http:// and https:// are served; got "${value}"`);
  return url;
}

/** A host alone: a name, an IPv4 address, or an IPv6 one with or without brackets. */
function grpcHost(key: string, value: string): string {
  const host = value.replace(/^\[(.*)\]$/, '$1');
  if (!isIP(host) && !/^[A-Za-z0-9.-]{1,253}$/.test(host)) throw new ConfigError(`${key} must be a host name or an IP address, without a port (the port is its own setting); got "${value}"`);
  return host;
}

/** host:port as gRPC binds it, an IPv6 host in brackets. */
export const grpcTarget = (a: GrpcAddress): string => `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;

/** Bounds that depend on the machine or on another setting, in place of the table's. */
type Bounds = { min?: number; max?: number; why?: string };

/** `key` is the name the value was given under, so that a refusal names what the operator wrote. */
function parse(s: Setting, key: string, value: string, bounds: Bounds): unknown {
  switch (s.type) {
    case 'text':
      return value;
    case 'address':
      return address(key, value);
    case 'boolean':
      if (value === 'true' || value === 'false') return value === 'true';
      throw new ConfigError(`${key} must be true or false; got "${value}"`);
    case 'choice':
      if (s.choices.includes(value)) return value;
      throw new ConfigError(`${key} must be one of ${s.choices.join(', ')}; got "${value}"`);
    default:
      return number(key, value, bounds.min ?? s.min, s.type === 'integer', bounds.max ?? s.max, bounds.why);
  }
}

export interface ConfigSources {
  file?: Record<string, string>;
  env?: Record<string, string | undefined>;
  args?: Record<string, string>;
  /** The machine the limits are derived from (limits.ts readMachine()); a small fixed one when absent. */
  machine?: Partial<Machine>;
}

const DEFAULT_MACHINE: Machine = { cores: 2, memoryBytes: 8 * 1024 ** 3, openFiles: 4096, threadPoolSize: 4 };

/** A setting's value as chosen (the table's default, or the last source to give it), parsed and checked. */
type Read = <K extends SettingName>(name: K, bounds?: Bounds) => SettingValue<K>;

/** What each group below reads from: the settings, and the machine that bounds some of them. */
interface Sources {
  read: Read;
  machine: Machine;
  limits: MachineLimits;
}

function readerOf(file: Record<string, string>, env: Record<string, string | undefined>, args: Record<string, string>): Read {
  // An alias sets its setting, so whichever comes later wins, as when a name is given twice.
  const chosen = Object.fromEntries(ROWS.map(([name, s]) => [name, { as: name as string, value: s.default }])) as Record<SettingName, { as: string; value: string }>;
  for (const [source, origin] of [
    [file, 'the config file'],
    [fromEnv(env), 'the environment'],
    [args, 'the command line'],
  ] as const) {
    for (const [as, value] of Object.entries(source)) {
      const name = SETTING_NAMED.get(as);
      if (!name) throw unknownSetting(as, origin);
      chosen[name] = { as, value };
    }
  }
  return <K extends SettingName>(name: K, bounds: Bounds = {}): SettingValue<K> => {
    const { as, value } = chosen[name];
    return (value === '' && SETTINGS[name].default === '' ? null : parse(SETTINGS[name], as, value, bounds)) as SettingValue<K>;
  };
}

function readRuntime({ read, machine, limits }: Sources): ServerConfig['runtime'] {
  const threads = read('wasm_threads', { max: limits.maxWasmThreads, why: `4 per core on ${machine.cores} cores` });
  return {
    backend: read('backend'),
    ortBuild: read('ort_build'),
    // 0 means chosen per model (server/page/wasm-thread-choice.ts): one per core, the most the
    // page's WASM threads can use, unless a model's runs are too short to gain from a pool.
    wasmThreads: threads === 0 ? Math.max(1, machine.cores) : threads,
    wasmThreadsChosen: threads === 0,
    sharePages: read('share_pages'),
    gpuPreprocess: read('gpu_preprocess'),
    graphCapture: read('graph_capture'),
    parityTolerance: read('parity_tolerance'),
  };
}

function readModels({ read, machine, limits }: Sources): ServerConfig['models'] {
  const maxWorkersSet = read('max_workers');
  const maxWorkers = maxWorkersSet ?? limits.maxWorkers;
  const maxWorkersWhy = `max_workers, ${maxWorkersSet === null ? `derived from ${machine.cores} cores and ${(machine.memoryBytes / 1024 ** 3).toFixed(0)} GiB` : 'as set'}`;
  const load = read('load_models');
  return {
    store: read('model_store'),
    archiveBytes: read('max_archive_bytes'),
    load:
      load === 'all'
        ? null
        : load
            .split(',')
            .map((x) => x.trim())
            .filter(Boolean),
    batchSize: read('batch_size'),
    maxBatchDelayMs: read('max_batch_delay'),
    maxBatchDecodeWaitMs: read('max_batch_decode_wait'),
    workers: read('workers', { max: maxWorkers, why: maxWorkersWhy }),
    maxWorkers,
    maxWorkersWhy,
  };
}

function readRequestLimits({ read, machine, limits }: Sources): ServerConfig['limits'] {
  const maxRequestSize = read('max_request_size');
  const maxInflightBytes =
    read('max_inflight_bytes', { min: maxRequestSize, max: machine.memoryBytes, why: 'at least max_request_size, at most the memory' }) ?? Math.max(limits.inflightBytes, maxRequestSize);
  // Half: one client may never hold more than the others have left, and still sends dozens of
  // the largest bodies, hundreds of photos, at once.
  const clientUploadWhy = 'at least max_request_size, at most max_inflight_bytes, or 0 for no bound per client';
  const clientUploadSet = read('max_client_upload_bytes', { max: maxInflightBytes, why: clientUploadWhy });
  if (clientUploadSet !== null && clientUploadSet !== 0 && clientUploadSet < maxRequestSize) {
    throw new ConfigError(`max_client_upload_bytes must be an integer from ${maxRequestSize} to ${maxInflightBytes} (${clientUploadWhy}); got "${clientUploadSet}"`);
  }
  const perClientBytes = clientUploadSet === 0 ? Number.POSITIVE_INFINITY : (clientUploadSet ?? Math.max(Math.floor(maxInflightBytes / 2), maxRequestSize));
  const slotsWhy = `one of libuv's ${machine.threadPoolSize} threads stays free for files; raise UV_THREADPOOL_SIZE for more`;
  return {
    maxRequestSize,
    maxImagePixels: read('max_image_pixels'),
    maxJpegScans: read('max_jpeg_scans'),
    maxInflightBytes,
    jobQueueSize: read('job_queue_size'),
    decodeSlots: read('decode_slots', { max: Math.max(1, machine.threadPoolSize - 1), why: slotsWhy }) ?? limits.decodeSlots,
    uploads: { perClientBytes, minBytesPerSecond: read('min_upload_rate'), windowMs: read('upload_rate_window') * 1000 },
  };
}

function readListeners({ read, machine, limits }: Sources): ListenerSettings {
  const maxConnections = read('max_connections', { max: Math.max(1, machine.openFiles - 256), why: `below the open-file limit of ${machine.openFiles}` }) ?? limits.maxConnections;
  return {
    inference: read('inference_address'),
    management: read('management_address'),
    metrics: read('metrics_address'),
    maxConnections,
    smallListenerConnections: Math.min(limits.smallListenerConnections, maxConnections),
  };
}

/** null: no address is https:// and gRPC has no TLS, and the files (set or not) are not read. */
function readTlsFiles({ read }: Sources, listeners: ListenerSettings): TlsFiles | null {
  const files = { private_key_file: read('private_key_file'), certificate_file: read('certificate_file') };
  const grpcSsl = read('enable_grpc_ssl');
  const addresses = { inference_address: listeners.inference, management_address: listeners.management, metrics_address: listeners.metrics };
  const secure = Object.entries(addresses).find(([, url]) => url.protocol === 'https:');
  if (!secure && !grpcSsl) return null;
  const unset = Object.entries(files).filter(([, file]) => !file);
  if (unset.length > 0) {
    const who = secure ? `${secure[0]} ${secure[1].origin}` : 'enable_grpc_ssl';
    throw new ConfigError(`${who} needs private_key_file and certificate_file (PEM files); not set: ${unset.map(([name]) => name).join(', ')}`);
  }
  return { privateKeyFile: files.private_key_file!, certificateFile: files.certificate_file! };
}

function readTimeouts({ read }: Sources): ServerConfig['timeouts'] {
  return { defaultResponseTimeout: read('default_response_timeout'), shutdownDelay: read('shutdown_delay') };
}

function readGrpc({ read }: Sources, listeners: ListenerSettings, timeouts: ServerConfig['timeouts']): GrpcSettings | null {
  if (read('disable_grpc')) return null;
  const graceDefault = timeouts.defaultResponseTimeout * 1000 + 10_000;
  const maxConnections = listeners.smallListenerConnections;
  const at = (api: 'inference' | 'management'): GrpcAddress => ({
    host: grpcHost(`grpc_${api}_address`, read(`grpc_${api}_address`)),
    port: read(`grpc_${api}_port`),
    maxConnectionAgeMs: read(`grpc_${api}_max_connection_age_ms`),
    maxConnectionAgeGraceMs: read(`grpc_${api}_max_connection_age_grace_ms`) ?? graceDefault,
  });
  return {
    inference: at('inference'),
    management: at('management'),
    tls: read('enable_grpc_ssl'),
    limits: {
      maxConnections,
      // Half: another client always finds room, and a proxy that is all its clients' one address still has plenty.
      maxConnectionsPerClient: read('grpc_max_connections_per_client') ?? Math.max(1, Math.floor(maxConnections / 2)),
      maxStreamResets: read('grpc_max_stream_resets'),
    },
    keepalive: { timeMs: read('grpc_keepalive_time_ms'), timeoutMs: read('grpc_keepalive_timeout_ms') },
  };
}

function readChromium({ read }: Sources): ServerConfig['chromium'] {
  return {
    path: read('chrome_path'),
    // The operator's switches last: Chromium takes the last of a repeated one (--js-flags too).
    args: [...pageLimitFlags({ heapMb: read('page_heap_mb') }), ...(read('chromium_args') ?? '').split(/\s+/).filter(Boolean)],
    sandbox: read('chromium_sandbox'),
    user: read('chromium_user'),
  };
}

function readAuth({ read }: Sources): ServerConfig['auth'] {
  return {
    tokenAuthorization: read('disable_token_authorization') ? false : read('enable_token_authorization') ? true : null,
    keyFile: read('key_file'),
    givenKeys: { inference: apiKey(read('inference_key'), 'inference_key'), management: apiKey(read('management_key'), 'management_key') },
  };
}

function readWeb({ read }: Sources): ServerConfig['web'] {
  const origin = read('cors_allowed_origin');
  return {
    cors: origin === null ? null : { origin, methods: read('cors_allowed_methods'), headers: read('cors_allowed_headers') },
    demoPage: !read('disable_demo_page'),
  };
}

export function resolveConfig({ file = {}, env = {}, args = {}, machine: given = {} }: ConfigSources): ServerConfig {
  const machine = { ...DEFAULT_MACHINE, ...given };
  const sources: Sources = { read: readerOf(file, env, args), machine, limits: machineLimits(machine) };
  const runtime = readRuntime(sources);
  const models = readModels(sources);
  const limits = readRequestLimits(sources);
  const listeners = readListeners(sources);
  const tls = readTlsFiles(sources, listeners);
  const timeouts = readTimeouts(sources);
  const grpc = readGrpc(sources, listeners, timeouts);
  return { listeners, tls, grpc, limits, timeouts, models, runtime, chromium: readChromium(sources), auth: readAuth(sources), web: readWeb(sources) };
}
