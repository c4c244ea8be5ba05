// Every setting, once. Its name is the config.properties key; the flag (--model-store) and the
// environment variable (TS_MODEL_STORE) are spelled from it, as TorchServe spells them, and so are
// each alias's. config.ts reads settings by this table, and --help and docs/configuration.md's table are made
// from it, so none of them can leave a setting out or describe it differently.

import { FIXED_BOUNDS } from './limits.js';

export type Setting = {
  /** '' means unset: the setting reads as null, and `unset` says what happens then. */
  default: string;
  unset?: string;
  help: string;
  /** Other names for the same setting, read wherever its name is: file, environment and flags. */
  aliases?: readonly string[];
  /** Another environment variable, read where no TS_ one gives a value. */
  env?: string;
} & (
  | { type: 'text' | 'address' | 'boolean' }
  | { type: 'choice'; choices: readonly string[] }
  // Where max is absent the number is unbounded, or config.ts bounds it by the machine.
  | { type: 'number' | 'integer'; min: number; max?: number }
);

const EACH_MODEL = "unset: each model's config";

export const SETTINGS = {
  inference_address: { type: 'address', default: 'http://127.0.0.1:8080', help: 'address the Inference API binds, `http://` or `https://`' },
  management_address: { type: 'address', default: 'http://127.0.0.1:8081', help: 'address the Management API binds, `http://` or `https://`' },
  metrics_address: { type: 'address', default: 'http://127.0.0.1:8082', help: 'address the Prometheus metrics bind, `http://` or `https://`' },
  grpc_inference_address: {
    type: 'text',
    default: '127.0.0.1',
    help: "host the gRPC inference listener binds: TorchServe's `InferenceAPIsService`, KServe v2's `inference.GRPCInferenceService` and `grpc.health.v1.Health`",
  },
  grpc_inference_port: { type: 'integer', min: 0, max: 65535, default: '7070', help: 'port of the gRPC inference listener (0: any free port)' },
  grpc_management_address: { type: 'text', default: '127.0.0.1', help: "host the gRPC management listener binds: TorchServe's `ManagementAPIsService` and `grpc.health.v1.Health`" },
  grpc_management_port: { type: 'integer', min: 0, max: 65535, default: '7071', help: 'port of the gRPC management listener (0: any free port)' },
  grpc_inference_max_connection_age_ms: {
    type: 'integer',
    min: 1000,
    default: '300000',
    help: 'ms after which a gRPC inference connection is told to go (GOAWAY) and its client reconnects: behind a Kubernetes Service that is what spreads gRPC clients over replicas added later',
  },
  grpc_inference_max_connection_age_grace_ms: {
    type: 'integer',
    min: 0,
    default: '',
    unset: '`default_response_timeout` plus 10 s',
    help: 'ms the calls of a connection told to go may still take before it is closed',
  },
  grpc_management_max_connection_age_ms: { type: 'integer', min: 1000, default: '300000', help: 'as `grpc_inference_max_connection_age_ms`, for the management listener' },
  grpc_management_max_connection_age_grace_ms: {
    type: 'integer',
    min: 0,
    default: '',
    unset: '`default_response_timeout` plus 10 s',
    help: 'as `grpc_inference_max_connection_age_grace_ms`, for the management listener',
  },
  grpc_max_connections_per_client: {
    type: 'integer',
    min: 1,
    default: '',
    unset: 'half of what each gRPC listener holds (128 of 256)',
    help: 'connections one client address may hold on each gRPC listener; more from it are closed at once, so one client cannot take every connection (behind a proxy, all its clients are one address)',
  },
  grpc_max_stream_resets: {
    type: 'integer',
    min: 1,
    max: 900,
    default: '200',
    help: "streams a gRPC connection's client may reset before their answer in a burst, then 20 a second (HTTP/2 rapid reset); past it the connection gets GOAWAY (ENHANCE_YOUR_CALM) and is closed; below nghttp2's own bound of 1000, past which it stops reading the connection",
  },
  grpc_keepalive_time_ms: {
    type: 'integer',
    min: 1000,
    default: '60000',
    help: 'ms between the pings the gRPC listeners send on each connection: a connection that does not answer within `grpc_keepalive_timeout_ms` is closed (a client gone, or a session HTTP/2 has stopped reading)',
  },
  grpc_keepalive_timeout_ms: { type: 'integer', min: 100, default: '20000', help: 'ms a gRPC connection has to answer a keepalive ping before it is closed' },
  disable_grpc: { type: 'boolean', default: 'false', help: 'open no gRPC listener' },
  enable_grpc_ssl: { type: 'boolean', default: 'false', help: 'serve gRPC over TLS, with `private_key_file` and `certificate_file`' },
  private_key_file: {
    type: 'text',
    default: '',
    unset: 'none: no address may be `https://`',
    help: 'PEM private key (unencrypted) of the listeners whose address is `https://` (and of gRPC with `enable_grpc_ssl`)',
  },
  certificate_file: {
    type: 'text',
    default: '',
    unset: 'none: no address may be `https://`',
    help: 'PEM certificate of the `https://` listeners, followed by any intermediate certificates',
  },
  model_store: {
    type: 'text',
    default: 'models',
    help: 'the model store: a folder of `<model>/config.json` and `<model>/<version>/model.onnx`, and of TorchServe model archives (`.mar`), unpacked into its `.unpacked` folder',
  },
  backend: { type: 'choice', choices: ['auto', 'webgpu', 'wasm'], default: '', unset: `${EACH_MODEL}, else \`auto\``, help: '`auto`, `webgpu` or `wasm`: where every model runs' },
  ort_build: {
    type: 'choice',
    choices: ['webgpu', 'jsep'],
    default: 'webgpu',
    help: 'the onnxruntime-web WebGPU build: `webgpu` (the native WebGPU EP) or `jsep`; pages asked for WASM load the WASM build',
  },
  wasm_threads: {
    type: 'integer',
    min: 0,
    default: '0',
    help: 'WASM threads per page, at most 4 per core; 0: one per core, or one for a model whose runs are shorter than 2 ms or that is asked to run on WebGPU',
  },
  gpu_preprocess: {
    type: 'boolean',
    default: 'false',
    help: "on WebGPU, an image classifier's uint8 pixels go to the GPU and are normalised there, a quarter of the bytes uploaded and no JavaScript loop over the pixels; a model's config.json `gpu_preprocess` overrides it (off by default until a GPU host's check shows it pays: docs/performance.md)",
  },
  graph_capture: {
    type: 'boolean',
    default: 'false',
    help: "on WebGPU, an image classifier runs one captured session per batch size, whose runs replay the GPU commands the first recorded instead of walking the graph on the CPU; each batch size holds its own copy of the model, and a model that cannot be captured runs uncaptured (its `/models` description says `graphCapture`); a model's config.json `graph_capture` overrides it (off by default until a GPU host's check shows it pays: docs/performance.md)",
  },
  share_pages: {
    type: 'boolean',
    default: 'false',
    help: "worker i of every model shares page i, one Chromium renderer and one onnxruntime-web, with the models of the same build and threads: far less memory for each model more (BENCHMARKS.md), but their runs take turns, a crash or failed run in the page reloads every model in it, and no model's WASM threads are chosen by its runs; max_workers still counts each model's workers",
  },
  parity_tolerance: { type: 'number', min: 0, default: '0.001', help: 'largest relative WebGPU-vs-WASM difference accepted at load' },
  shutdown_delay: {
    type: 'number',
    min: 0,
    max: 600,
    default: '0',
    help: 'seconds between a SIGTERM and the drain: readiness fails at once, and new requests are still served meanwhile, so that a load balancer or a Kubernetes Service stops sending them before they would be refused (set it above the readiness probe period times its failure threshold, plus endpoint propagation)',
  },
  default_response_timeout: { type: 'number', min: 1, max: FIXED_BOUNDS.responseTimeoutS, default: '120', help: 'seconds, from its arrival, before a prediction answers 504 (at most 3600)' },
  max_request_size: { type: 'integer', min: 1, max: FIXED_BOUNDS.requestSize, default: '6553500', help: 'largest request body, bytes, at most 1 GiB (413 above it)' },
  max_image_pixels: { type: 'integer', min: 1, max: FIXED_BOUNDS.imagePixels, default: '40000000', help: "largest image, width × height, checked before decoding, at most libvips' 268402689" },
  max_jpeg_scans: {
    type: 'integer',
    min: 1,
    max: 100_000,
    default: '100',
    help: 'most scans a JPEG may have, counted from its markers before decoding: each scan of a progressive JPEG is a pass over the whole image that libvips cannot interrupt (encoders write 1 to 12)',
  },
  max_inflight_bytes: {
    type: 'integer',
    min: 1,
    default: '',
    unset: 'memory/32, from 64 to 512 MiB',
    help: 'request bodies (and the tensors made of them) held in memory at once, across all requests and protocols, at least `max_request_size`; past it 503',
  },
  max_client_upload_bytes: {
    type: 'integer',
    min: 0,
    default: '',
    unset: 'half of `max_inflight_bytes`, at least `max_request_size`',
    help: "bytes of request bodies one client address (an IPv6 /64) may have still arriving at once, across its connections, from `max_request_size` to `max_inflight_bytes`; past it 429 with `Retry-After`, other clients unaffected. Behind a proxy that streams bodies to the server from one address (Knative's queue-proxy, an Istio sidecar, a proxy that does not buffer request bodies) every client is that address: 0 there, for no bound per client (`min_upload_rate` still cuts stalled bodies)",
  },
  min_upload_rate: {
    type: 'integer',
    min: 0,
    default: '240',
    help: 'bytes per second a request body must arrive at, averaged over each `upload_rate_window` from its start (the first window is its grace period); slower: 408, the connection closed and its bytes given back (0: no minimum)',
  },
  upload_rate_window: { type: 'number', min: 0.1, max: FIXED_BOUNDS.responseTimeoutS, default: '10', help: 'seconds over which `min_upload_rate` is averaged' },
  decode_slots: {
    type: 'integer',
    min: 1,
    default: '',
    unset: "one per core, leaving two of libuv's threads for file reads",
    help: "image decodes at once; heavy ones (large, or many-scan) take at most `decode_slots - 1`, so ordinary photos always have one; at most libuv's pool less one (`UV_THREADPOOL_SIZE`)",
  },
  max_connections: {
    type: 'integer',
    min: 1,
    default: '',
    unset: '80% of the open-file limit less 1024, at most 65536',
    help: "connections the Inference API holds at once (the other two listeners hold at most 256); more are closed at once, below the open-file limit so files and Chromium's pipes keep descriptors",
  },
  chrome_path: {
    type: 'text',
    default: '',
    env: 'CHROME_PATH',
    unset: "Debian's `chromium-headless-shell` (`/usr/lib/chromium/chromium-headless-shell`), then `/usr/bin/chromium` and other system paths",
    help: 'the Chromium or Chrome to drive',
  },
  batch_size: { type: 'integer', min: 1, max: FIXED_BOUNDS.batchSize, default: '', unset: EACH_MODEL, help: "the model config's `batch_size`, for every model: most requests run as one batch" },
  max_batch_delay: {
    type: 'number',
    min: 0,
    max: FIXED_BOUNDS.maxBatchDelayMs,
    default: '',
    unset: EACH_MODEL,
    help: "the model config's `max_batch_delay`, for every model: ms a free worker waits for a batch to fill",
  },
  max_batch_decode_wait: {
    type: 'number',
    min: 0,
    max: FIXED_BOUNDS.maxBatchDelayMs,
    default: '20',
    help: 'ms a batch that is not full may also wait for images of its model already received and still decoding, while they are more than the idle workers could each take alone: TorchServe decodes inside the batch, so requests that arrive together run together there, and here too (a request alone never waits; 0: never wait for them)',
  },
  workers: {
    type: 'integer',
    min: 1,
    default: '',
    unset: EACH_MODEL,
    aliases: ['default_workers_per_model'],
    help: "the model config's `workers`, for every model: worker pages per model version, at most `max_workers`",
  },
  max_workers: {
    type: 'integer',
    min: 1,
    max: FIXED_BOUNDS.workers,
    default: '',
    unset: '4 per core, at most half the memory at 256 MiB a page',
    help: 'worker pages across every model version, at most 1024: the models loaded at start must fit (else the start stops and says which asked for how many), and so must every registration and scaling',
  },
  load_models: {
    type: 'text',
    default: 'all',
    aliases: ['models'],
    help: '`all` (every model folder and `.mar` archive of the store), or comma-separated model names and archives from the store (`squeezenet.mar`, or `name=squeezenet.mar` for another name)',
  },
  max_archive_bytes: {
    type: 'integer',
    min: 1,
    default: '2147483648',
    help: 'bytes a model archive (`.mar`) may unpack to, all its files together as their sizes declare (each file held to its declared size as it inflates); past it the archive is refused (400 at registration, skipped at start). An ONNX model is one protobuf of at most 2 GiB',
  },
  cors_allowed_origin: {
    type: 'text',
    default: '',
    unset: 'CORS off',
    help: 'origin allowed to call the APIs from a browser on another origin (`*` for any); preflights are answered before token checks',
  },
  cors_allowed_methods: { type: 'text', default: 'GET, POST, PUT, OPTIONS', help: 'methods allowed cross-origin' },
  cors_allowed_headers: { type: 'text', default: 'Content-Type, Authorization', help: 'request headers allowed cross-origin' },
  job_queue_size: {
    type: 'integer',
    min: 1,
    max: FIXED_BOUNDS.jobQueueSize,
    default: '100',
    help: 'requests per model version between the end of their body and their answer (decoding, queued, running), at most 10000; past it 503 at once',
  },
  page_heap_mb: {
    type: 'integer',
    min: 16,
    max: 4096,
    default: '1024',
    help: "largest JavaScript heap of a model's page, MiB (V8's --max-old-space-size for every renderer): a page past it crashes alone and is reloaded. Tensors and WASM memory are outside it",
  },
  chromium_args: { type: 'text', default: '', unset: 'none', help: 'extra Chromium switches, space-separated (`--chromium-args=--foo`), e.g. GPU selection on a GPU host' },
  chromium_sandbox: {
    type: 'choice',
    choices: ['require', 'prefer', 'off'],
    default: 'prefer',
    help: "Chromium's own sandbox for the pages (each renderer in its own user namespace under a seccomp filter): `prefer` runs it, and falls back to `--no-sandbox` with a warning only where the host cannot start it (no user namespaces); `require` refuses to start without it; `off` never runs it",
  },
  chromium_user: {
    type: 'text',
    default: '',
    unset: '`webgpu-inference` (made by the install script) where it exists, else `nobody`',
    help: 'the unprivileged user (name or uid) Chromium runs as when the server runs as root; `root` only with `chromium_sandbox=off`, for a host where no other user may read Chromium or the GPU',
  },
  disable_token_authorization: {
    type: 'boolean',
    default: 'false',
    aliases: ['disable_token_auth'],
    help: 'turn token authorization off; unless set either way, it is on exactly when an address other than loopback is bound',
  },
  enable_token_authorization: { type: 'boolean', default: 'false', help: 'turn token authorization on even on loopback' },
  key_file: { type: 'text', default: 'key_file.json', help: 'where the API keys are written when token authorization is on' },
  inference_key: {
    type: 'text',
    default: '',
    unset: 'a new random key at each start',
    help: 'the Inference API key, at least 16 characters with no spaces: replicas behind one Service share it (from a Kubernetes Secret as `TS_INFERENCE_KEY`)',
  },
  management_key: { type: 'text', default: '', unset: 'a new random key at each start', help: 'the Management and metrics key, as `inference_key`' },
  disable_demo_page: { type: 'boolean', default: 'false', help: 'serve no demo page (`GET /` answers 405 again) and so no model files on the inference port' },
} as const satisfies Record<string, Setting>;

export type SettingName = keyof typeof SETTINGS;

type Types = { text: string; address: URL; boolean: boolean; number: number; integer: number };
type Read<S> = S extends { choices: readonly (infer C)[] } ? C : S extends { type: keyof Types } ? Types[S['type']] : never;

/** A setting's value once read: null where it is unset. */
export type SettingValue<K extends SettingName> = Read<(typeof SETTINGS)[K]> | ((typeof SETTINGS)[K] extends { default: '' } ? null : never);

export const ROWS = Object.entries(SETTINGS) as Array<[SettingName, Setting]>;

/** Every name a setting is known by, its own first, then its aliases. */
export const namesOf = (name: SettingName): string[] => [name, ...((SETTINGS[name] as Setting).aliases ?? [])];
export const flagOf = (name: string): string => `--${name.replaceAll('_', '-')}`;
export const envOf = (name: string): string => `TS_${name.toUpperCase()}`;

/** Which setting a name or alias is. */
export const SETTING_NAMED = new Map(ROWS.flatMap(([name]) => namesOf(name).map((n) => [n, name] as const)));

const defaultOf = (s: Setting): string => s.unset ?? `\`${s.default}\``;
const plain = (markdown: string): string => markdown.replaceAll('`', '');

export function usage(): string {
  return [
    'usage: webgpu-inference-server [--ts-config config.properties] [--key value ...]',
    '',
    'Every setting is a flag (--model-store x), a TS_ environment variable (TS_MODEL_STORE=x) or a',
    'config.properties line (model_store=x), in that order of precedence. A true/false flag alone means true.',
    '',
    ...ROWS.map(([name, s]) => {
      const also = [...namesOf(name).slice(1).map(flagOf), ...(s.env ? [s.env] : [])];
      return `  ${flagOf(name).padEnd(30)} ${plain(s.help)}${also.length ? ` (also ${also.join(', ')})` : ''} [${plain(defaultOf(s))}]`;
    }),
  ].join('\n');
}

export function settingsTable(): string {
  const code = (names: string[]) => names.map((n) => `\`${n}\``).join(', ');
  return [
    '| key | flag | environment | meaning | default |',
    '| --- | --- | --- | --- | --- |',
    ...ROWS.map(([name, s]) => {
      const names = namesOf(name);
      const env = [...names.map(envOf), ...(s.env ? [s.env] : [])];
      return `| ${code(names)} | ${code(names.map(flagOf))} | ${code(env)} | ${s.help} | ${defaultOf(s)} |`;
    }),
  ].join('\n');
}

/** Where docs/configuration.md holds settingsTable(). */
export const DOCS_TABLE = /(?<=<!-- settings: [^\n]* -->\n)[\s\S]*?(?=\n<!-- \/settings -->)/;
