// The metric families, one function per group, each registered in `registers` as it is made.
// The order of the calls in metrics.ts is the order of the families in /metrics. TorchServe's
// own families carry its HELP text and are noted in `torchserve` with their labels, in its
// order: /metrics writes those as TorchServe does (torchserve-text-format.ts).

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { InferenceEngine } from '../page/inference-engine.js';
import type { ModelStore } from '../store/model-store.js';
import { HostReadings } from './system-metrics.js';
import type { TorchServeFamily } from './torchserve-text-format.js';

type Registers = Registry[];

const MODEL = ['model_name', 'model_version'] as const;
// TorchServe's labels, in its order: its frontend counters add the host to the model.
const MODEL_ON_HOST = [...MODEL, 'hostname'] as const;
/** The labels of TorchServe's host-level series. */
const ON_HOST = ['Level', 'Hostname'] as const;

/** TorchServe's own families by name, with their type and their labels in TorchServe's order. */
export type TorchServeFamilies = Map<string, TorchServeFamily>;

/** TorchServe's HELP line: the same words for every family of a type, and the unit (its metrics.yaml's). */
const torchserveHelp = (type: 'counter' | 'gauge', unit: string) => `Torchserve prometheus ${type} metric with unit: ${unit}`;

/** TorchServe's frontend counters, and this server's HTTP answers by status class. */
export function requestCounters(registers: Registers, torchserve: TorchServeFamilies) {
  const frontend = (name: string, unit: string) => {
    torchserve.set(name, { type: 'counter', labelNames: MODEL_ON_HOST });
    return new Counter({ name, help: torchserveHelp('counter', unit), labelNames: MODEL_ON_HOST, registers });
  };
  return {
    // Successful predictions; their latency, and the time they waited for a worker, summed.
    requests: frontend('ts_inference_requests_total', 'Count'),
    latency: frontend('ts_inference_latency_microseconds', 'Microseconds'),
    queueLatency: frontend('ts_queue_latency_microseconds', 'Microseconds'),
    httpRequests: new Counter({ name: 'ts_requests_total', help: 'HTTP requests by status class (2xx, 4xx, 5xx)', labelNames: ['status_class'], registers }),
  };
}

/** gRPC calls, and what the gRPC listeners meet of hostile clients (grpc/connection-guard.ts, grpc/call-guard.ts). */
export function grpcFamilies(registers: Registers) {
  return {
    // The name and labels gRPC servers commonly export (go-grpc-prometheus), so existing dashboards read it.
    calls: new Counter({
      name: 'grpc_server_handled_total',
      help: 'gRPC calls completed, by service, method and status code',
      labelNames: ['grpc_type', 'grpc_service', 'grpc_method', 'grpc_code'],
      registers,
    }),
    connections: new Gauge({ name: 'grpc_server_connections', help: 'Connections each gRPC listener holds', labelNames: ['listener'], registers }),
    connectionsRefused: new Counter({
      name: 'grpc_server_connections_refused_total',
      help: 'gRPC connections closed as they arrived: the listener held max_connections (reason max_connections), or their address held grpc_max_connections_per_client (max_connections_per_client)',
      labelNames: ['listener', 'reason'],
      registers,
    }),
    connectionsClosed: new Counter({
      name: 'grpc_server_connections_closed_total',
      help: 'gRPC connections the server closed for what their client did: streams reset past grpc_max_stream_resets (stream_resets), a flood of PING or SETTINGS frames (control_frames), another HTTP/2 flood or protocol error (http2_error)',
      labelNames: ['listener', 'reason'],
      registers,
    }),
    streamResets: new Counter({
      name: 'grpc_server_stream_resets_total',
      help: 'gRPC streams their client reset (RST_STREAM) before the call was over',
      labelNames: ['listener'],
      registers,
    }),
    partialMessageBytes: new Gauge({
      name: 'grpc_server_partial_message_bytes',
      help: 'Bytes of gRPC request messages received but not yet whole, held against max_inflight_bytes',
      registers,
    }),
  };
}

/** TorchServe's Requests2XX, Requests4XX, Requests5XX, by the status's first digit. */
export function statusCounters(registers: Registers, host: Record<(typeof ON_HOST)[number], string>, torchserve: TorchServeFamilies): Map<number, Counter<'Level' | 'Hostname'>> {
  const byStatus = new Map<number, Counter<'Level' | 'Hostname'>>();
  for (const digit of [2, 4, 5]) {
    const name = `Requests${digit}XX`;
    torchserve.set(name, { type: 'counter', labelNames: ON_HOST });
    const counter = new Counter({ name, help: torchserveHelp('counter', 'Count'), labelNames: ON_HOST, registers });
    // Present from the start at 0, so a rate over it is defined before the first such answer.
    counter.inc(host, 0);
    byStatus.set(digit, counter);
  }
  return byStatus;
}

/** TorchServe's host-level series: labels Level="Host" and Hostname, its names and units. */
export function hostGauges(registers: Registers, host: Record<(typeof ON_HOST)[number], string>, store: ModelStore, torchserve: TorchServeFamilies): void {
  const readings = new HostReadings(store.root);
  // Read at scrape time; a figure that cannot be read (no /proc) leaves its series out.
  const hostGauge = (name: string, unit: string, read: () => Promise<number | null | undefined>) => {
    torchserve.set(name, { type: 'gauge', labelNames: ON_HOST });
    return new Gauge({
      name,
      help: torchserveHelp('gauge', unit),
      labelNames: ON_HOST,
      registers,
      async collect() {
        this.reset();
        const value = await read();
        if (value !== null && value !== undefined) this.set(host, value);
      },
    });
  };
  // The CPU since the previous scrape; the memory of the host; the disk of the model store's file system.
  hostGauge('CPUUtilization', 'Percent', () => readings.cpuUtilization());
  hostGauge('MemoryUsed', 'Megabytes', async () => (await readings.memory())?.usedMB);
  hostGauge('MemoryAvailable', 'Megabytes', async () => (await readings.memory())?.availableMB);
  hostGauge('MemoryUtilization', 'Percent', async () => (await readings.memory())?.utilization);
  hostGauge('DiskUsage', 'Gigabytes', async () => (await readings.disk())?.usedGB);
  hostGauge('DiskAvailable', 'Gigabytes', async () => (await readings.disk())?.availableGB);
  hostGauge('DiskUtilization', 'Percent', async () => (await readings.disk())?.utilization);
}

/** The buckets of every duration histogram, in seconds: from a null model's stage to a slow CPU's large batch. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Where a prediction's time goes, and how full the batches are. */
export function predictionHistograms(registers: Registers) {
  return {
    stages: new Histogram({
      name: 'ts_stage_duration_seconds',
      help: 'Time per prediction stage: decode, queue, transfer, infer, post',
      labelNames: ['model_name', 'stage'],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    // The Server-Timing total: from the request's arrival to its answer written, whatever carried it.
    requests: new Histogram({
      name: 'ts_request_duration_seconds',
      help: "Time per served prediction, from its arrival to its answer (Server-Timing's total)",
      labelNames: ['model_name'],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    batchSizes: new Histogram({ name: 'ts_batch_size', help: 'Requests per model run', labelNames: ['model_name'], buckets: [1, 2, 4, 8, 16, 32], registers }),
  };
}

/** What the engine recovered from (chromium-engine.ts reports them). */
export function recoveryCounters(registers: Registers) {
  return {
    browserRestarts: new Counter({ name: 'ts_browser_restarts_total', help: 'Chromium relaunches after it went away', registers }),
    pageRestarts: new Counter({ name: 'ts_page_restarts_total', help: 'Worker pages replaced after a crash, a failed or a hung run', labelNames: MODEL, registers }),
    parityFailures: new Counter({ name: 'ts_parity_failures_total', help: 'Loads where WebGPU disagreed with WASM and the model fell back', labelNames: MODEL, registers }),
  };
}

/** Where each model runs, Chromium's sandbox and its pages: read from the engine at scrape time, so never stale. */
export function engineGauges(registers: Registers, store: ModelStore, engine: InferenceEngine, inProgress: (modelKey: string) => number): void {
  new Gauge({
    name: 'ts_model_backend_info',
    help: 'One per worker: the backend and WebGPU adapter it runs on',
    labelNames: ['model_name', 'model_version', 'worker', 'backend', 'adapter_vendor', 'adapter_architecture', 'fallback_adapter', 'status'],
    registers,
    collect() {
      this.reset();
      for (const v of store.allVersions()) {
        for (const w of engine.status(v)?.workers ?? []) {
          const a = w.runtime?.adapter;
          this.set(
            {
              model_name: v.name,
              model_version: v.version,
              worker: String(w.id),
              backend: w.runtime?.backend ?? 'none',
              adapter_vendor: a?.vendor ?? '',
              adapter_architecture: a?.architecture ?? '',
              fallback_adapter: a ? String(a.isFallbackAdapter) : '',
              status: w.state,
            },
            1,
          );
        }
      }
    },
  });
  if ('sandbox' in engine) {
    new Gauge({
      name: 'ts_chromium_sandbox',
      help: '1 while Chromium runs with its sandbox, 0 while it runs with --no-sandbox (setting: chromium_sandbox; the reason is in the log and in GET /models/{model})',
      labelNames: ['setting'],
      registers,
      collect() {
        this.reset();
        const sandbox = engine.sandbox;
        if (sandbox) this.set({ setting: sandbox.setting }, sandbox.enabled ? 1 : 0);
      },
    });
  }
  saturationGauges(registers, store, engine, inProgress);
  const { pageCount } = engine;
  if (pageCount) {
    // Counted by the browser, not the engine: a page that outlived its worker shows here.
    new Gauge({
      name: 'ts_browser_pages',
      help: 'Pages the browser holds: one per worker page',
      registers,
      async collect() {
        this.set(await pageCount.call(engine));
      },
    });
  }
}

/**
 * How full each model version is, before its latency shows it: the requests it holds (bounded by
 * job_queue_size), those waiting for a worker, and the batches its pages are running. Read at
 * scrape time; a version with no worker slot (not loaded) has no series.
 */
function saturationGauges(registers: Registers, store: ModelStore, engine: InferenceEngine, inProgress: (modelKey: string) => number): void {
  const perVersion = (name: string, help: string, read: (status: NonNullable<ReturnType<InferenceEngine['status']>>, key: string) => number) =>
    new Gauge({
      name,
      help,
      labelNames: MODEL,
      registers,
      collect() {
        this.reset();
        for (const v of store.allVersions()) {
          const status = engine.status(v);
          if (status) this.set({ model_name: v.name, model_version: v.version }, read(status, v.key));
        }
      },
    });
  perVersion('ts_requests_in_progress', 'Requests whose body is in and whose answer is not (decoding, queued or running); at job_queue_size more are refused with 503', (_, key) => inProgress(key));
  perVersion('ts_queue_depth', "Requests waiting in the model's queue for a worker", (status) => status.queued);
  perVersion('ts_batches_in_flight', "Batches sent to the model's pages and not answered yet", (status) => status.batchesInFlight);
}
