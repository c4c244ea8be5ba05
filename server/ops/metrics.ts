// Prometheus metrics: TorchServe's names and labels where they exist (its frontend counters and
// its host figures, system-metrics.ts), and what only this server can say (stage times, batch
// sizes, where each model runs, restarts, parity failures). The only place prom-client is used.

import os from 'node:os';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { InferenceEngine, RunTiming } from '../page/inference-engine.js';
import type { ModelStore, ModelVersion } from '../store/model-store.js';
import { HostReadings } from './system-metrics.js';

export interface StageTimes {
  decode: number;
  post: number;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly hostname = os.hostname();
  /** The labels of TorchServe's host-level series. */
  private readonly onHost = { Level: 'Host', Hostname: this.hostname };
  private readonly requests: Counter<'model_name' | 'model_version' | 'hostname'>;
  private readonly latency: Counter<'model_name' | 'model_version' | 'hostname'>;
  private readonly queueLatency: Counter<'model_name' | 'model_version' | 'hostname'>;
  private readonly httpRequests: Counter<'status_class'>;
  private readonly grpcCalls: Counter<'grpc_type' | 'grpc_service' | 'grpc_method' | 'grpc_code'>;
  /** TorchServe's Requests2XX, Requests4XX, Requests5XX, by the status's first digit. */
  private readonly byStatus = new Map<number, Counter<'Level' | 'Hostname'>>();
  private readonly stages: Histogram<'model_name' | 'stage'>;
  private readonly batchSizes: Histogram<'model_name'>;
  readonly browserRestarts: Counter;
  readonly pageRestarts: Counter<'model_name' | 'model_version'>;
  readonly parityFailures: Counter<'model_name' | 'model_version'>;
  /** What the gRPC listeners meet of hostile clients (grpc/connection-guard.ts, grpc/call-guard.ts). */
  readonly grpcConnections: Gauge<'listener'>;
  readonly grpcConnectionsRefused: Counter<'listener' | 'reason'>;
  readonly grpcConnectionsClosed: Counter<'listener' | 'reason'>;
  readonly grpcStreamResets: Counter<'listener'>;
  readonly grpcPartialMessageBytes: Gauge;

  constructor(store: ModelStore, engine: InferenceEngine) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const model = ['model_name', 'model_version'] as const;
    // TorchServe's labels, in its order: the three below add the host to the model.
    const modelOnHost = [...model, 'hostname'] as const;
    this.requests = new Counter({ name: 'ts_inference_requests_total', help: 'Successful predictions', labelNames: modelOnHost, registers });
    this.latency = new Counter({ name: 'ts_inference_latency_microseconds', help: 'Cumulative prediction latency (TorchServe)', labelNames: modelOnHost, registers });
    this.queueLatency = new Counter({ name: 'ts_queue_latency_microseconds', help: 'Cumulative time predictions waited for a worker (TorchServe)', labelNames: modelOnHost, registers });
    this.httpRequests = new Counter({ name: 'ts_requests_total', help: 'HTTP requests by status class (2xx, 4xx, 5xx)', labelNames: ['status_class'], registers });
    // The name and labels gRPC servers commonly export (go-grpc-prometheus), so existing dashboards read it.
    this.grpcCalls = new Counter({
      name: 'grpc_server_handled_total',
      help: 'gRPC calls completed, by service, method and status code',
      labelNames: ['grpc_type', 'grpc_service', 'grpc_method', 'grpc_code'],
      registers,
    });
    this.grpcConnections = new Gauge({ name: 'grpc_server_connections', help: 'Connections each gRPC listener holds', labelNames: ['listener'], registers });
    this.grpcConnectionsRefused = new Counter({
      name: 'grpc_server_connections_refused_total',
      help: 'gRPC connections closed as they arrived: the listener held max_connections (reason max_connections), or their address held grpc_max_connections_per_client (max_connections_per_client)',
      labelNames: ['listener', 'reason'],
      registers,
    });
    this.grpcConnectionsClosed = new Counter({
      name: 'grpc_server_connections_closed_total',
      help: 'gRPC connections the server closed for what their client did: streams reset past grpc_max_stream_resets (stream_resets), a flood of PING or SETTINGS frames (control_frames), another HTTP/2 flood or protocol error (http2_error)',
      labelNames: ['listener', 'reason'],
      registers,
    });
    this.grpcStreamResets = new Counter({
      name: 'grpc_server_stream_resets_total',
      help: 'gRPC streams their client reset (RST_STREAM) before the call was over',
      labelNames: ['listener'],
      registers,
    });
    this.grpcPartialMessageBytes = new Gauge({
      name: 'grpc_server_partial_message_bytes',
      help: 'Bytes of gRPC request messages received but not yet whole, held against max_inflight_bytes',
      registers,
    });
    // TorchServe's host-level series: labels Level="Host" and Hostname, its names and units.
    const host = this.onHost;
    const onHost = ['Level', 'Hostname'] as const;
    for (const digit of [2, 4, 5]) {
      const counter = new Counter({ name: `Requests${digit}XX`, help: `HTTP responses with a ${digit}xx status (TorchServe; unit: Count)`, labelNames: onHost, registers });
      // Present from the start at 0, so a rate over it is defined before the first such answer.
      counter.inc(host, 0);
      this.byStatus.set(digit, counter);
    }
    const readings = new HostReadings(store.root);
    // Read at scrape time; a figure that cannot be read (no /proc) leaves its series out.
    const hostGauge = (name: string, help: string, unit: string, read: () => Promise<number | null | undefined>) =>
      new Gauge({
        name,
        help: `${help} (TorchServe; unit: ${unit})`,
        labelNames: onHost,
        registers,
        async collect() {
          this.reset();
          const value = await read();
          if (value !== null && value !== undefined) this.set(host, value);
        },
      });
    hostGauge('CPUUtilization', 'CPU utilization on host since the previous scrape', 'Percent', () => readings.cpuUtilization());
    hostGauge('MemoryUsed', 'Memory used on host', 'Megabytes', async () => (await readings.memory())?.usedMB);
    hostGauge('MemoryAvailable', 'Memory available on host', 'Megabytes', async () => (await readings.memory())?.availableMB);
    hostGauge('MemoryUtilization', 'Memory utilization on host', 'Percent', async () => (await readings.memory())?.utilization);
    hostGauge('DiskUsage', "Disk used on the model store's file system", 'Gigabytes', async () => (await readings.disk())?.usedGB);
    hostGauge('DiskAvailable', "Disk available on the model store's file system", 'Gigabytes', async () => (await readings.disk())?.availableGB);
    hostGauge('DiskUtilization', "Disk utilization of the model store's file system", 'Percent', async () => (await readings.disk())?.utilization);
    this.stages = new Histogram({
      name: 'ts_stage_duration_seconds',
      help: 'Time per prediction stage: decode, queue, transfer, infer, post',
      labelNames: ['model_name', 'stage'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.batchSizes = new Histogram({ name: 'ts_batch_size', help: 'Requests per model run', labelNames: ['model_name'], buckets: [1, 2, 4, 8, 16, 32], registers });
    this.browserRestarts = new Counter({ name: 'ts_browser_restarts_total', help: 'Chromium relaunches after it went away', registers });
    this.pageRestarts = new Counter({ name: 'ts_page_restarts_total', help: 'Worker pages replaced after a crash, a failed or a hung run', labelNames: model, registers });
    this.parityFailures = new Counter({ name: 'ts_parity_failures_total', help: 'Loads where WebGPU disagreed with WASM and the model fell back', labelNames: model, registers });
    // Where each model runs is read from the engine at scrape time, so it is never stale.
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

  observeGrpc(type: 'unary' | 'client_stream' | 'server_stream' | 'bidi_stream', service: string, method: string, code: string): void {
    this.grpcCalls.inc({ grpc_type: type, grpc_service: service, grpc_method: method, grpc_code: code });
  }

  observeHttp(status: number): void {
    const digit = Math.floor(status / 100);
    this.httpRequests.inc({ status_class: `${digit}xx` });
    this.byStatus.get(digit)?.inc(this.onHost);
  }

  /**
   * The text format: every family, or only those `names` lists (TorchServe's `name[]`), in the
   * order asked. A name no family has adds nothing; nothing found is an empty body.
   */
  async text(names?: readonly string[]): Promise<string> {
    if (!names) return this.registry.metrics();
    // Looked up among the families, never as a property: `__proto__` is not a family.
    const families = new Set(this.registry.getMetricsAsArray().map((m) => m.name));
    const asked = [...new Set(names)].filter((n) => families.has(n));
    const parts = await Promise.all(asked.map((n) => this.registry.getSingleMetricAsString(n)));
    return parts.length ? `${parts.join('\n\n')}\n` : '';
  }

  observePrediction(model: ModelVersion, out: RunTiming, times: StageTimes, totalMs: number): void {
    const labels = { model_name: model.name, model_version: model.version, hostname: this.hostname };
    this.requests.inc(labels);
    this.latency.inc(labels, totalMs * 1000);
    this.queueLatency.inc(labels, out.queueMs * 1000);
    const stage = (name: string, ms: number) => this.stages.observe({ model_name: model.name, stage: name }, ms / 1000);
    stage('decode', times.decode);
    stage('queue', out.queueMs);
    stage('transfer', out.transferMs);
    stage('infer', out.inferMs);
    stage('post', times.post);
    this.batchSizes.observe({ model_name: model.name }, out.batch);
  }
}
