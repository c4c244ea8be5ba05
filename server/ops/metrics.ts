// Prometheus metrics: TorchServe's names and labels where they exist (its frontend counters and
// its host figures, system-metrics.ts), written as TorchServe writes them, and what only this
// server can say (stage times, batch sizes, where each model runs, restarts, parity failures).
// prom-client is used here and in metric-families.ts, where each family is made, and nowhere else.

import os from 'node:os';
import { type Counter, type Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { InferenceEngine, RunTiming } from '../page/inference-engine.js';
import type { ModelStore, ModelVersion } from '../store/model-store.js';
import { engineGauges, grpcFamilies, hostGauges, predictionHistograms, recoveryCounters, requestCounters, statusCounters, type TorchServeFamilies } from './metric-families.js';
import { torchserveFamilyText } from './torchserve-text-format.js';

export interface StageTimes {
  decode: number;
  post: number;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly hostname = os.hostname();
  /** The labels of TorchServe's host-level series. */
  private readonly onHost = { Level: 'Host', Hostname: this.hostname };
  /** TorchServe's own families, written as TorchServe writes them; the others in the standard form. */
  private readonly torchserve: TorchServeFamilies = new Map();
  private readonly frontend: ReturnType<typeof requestCounters>;
  private readonly grpc: ReturnType<typeof grpcFamilies>;
  private readonly byStatus: Map<number, Counter<'Level' | 'Hostname'>>;
  private readonly prediction: ReturnType<typeof predictionHistograms>;
  readonly browserRestarts: Counter;
  readonly pageRestarts: Counter<'model_name' | 'model_version'>;
  readonly parityFailures: Counter<'model_name' | 'model_version'>;

  /** `inProgress`: each model version's requests in progress, from admission. */
  constructor(store: ModelStore, engine: InferenceEngine, inProgress: (modelKey: string) => number = () => 0) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.frontend = requestCounters(registers, this.torchserve);
    this.grpc = grpcFamilies(registers);
    this.byStatus = statusCounters(registers, this.onHost, this.torchserve);
    hostGauges(registers, this.onHost, store, this.torchserve);
    this.prediction = predictionHistograms(registers);
    const recovery = recoveryCounters(registers);
    this.browserRestarts = recovery.browserRestarts;
    this.pageRestarts = recovery.pageRestarts;
    this.parityFailures = recovery.parityFailures;
    engineGauges(registers, store, engine, inProgress);
  }

  /** What the gRPC listeners meet of hostile clients (grpc/connection-guard.ts, grpc/call-guard.ts). */
  get grpcConnections(): Gauge<'listener'> {
    return this.grpc.connections;
  }

  get grpcConnectionsRefused(): Counter<'listener' | 'reason'> {
    return this.grpc.connectionsRefused;
  }

  get grpcConnectionsClosed(): Counter<'listener' | 'reason'> {
    return this.grpc.connectionsClosed;
  }

  get grpcStreamResets(): Counter<'listener'> {
    return this.grpc.streamResets;
  }

  get grpcPartialMessageBytes(): Gauge {
    return this.grpc.partialMessageBytes;
  }

  observeGrpc(type: 'unary' | 'client_stream' | 'server_stream' | 'bidi_stream', service: string, method: string, code: string): void {
    this.grpc.calls.inc({ grpc_type: type, grpc_service: service, grpc_method: method, grpc_code: code });
  }

  observeHttp(status: number): void {
    const digit = Math.floor(status / 100);
    this.frontend.httpRequests.inc({ status_class: `${digit}xx` });
    this.byStatus.get(digit)?.inc(this.onHost);
  }

  /**
   * The text format: every family, or only those `names` lists (TorchServe's `name[]`), in the
   * order asked. A name no family has adds nothing; nothing found is an empty body.
   */
  async text(names?: readonly string[]): Promise<string> {
    // Looked up among the families, never as a property: `__proto__` is not a family.
    const families = this.registry.getMetricsAsArray().map((m) => m.name);
    const asked = names ? [...new Set(names)].filter((n) => families.includes(n)) : families;
    const parts = await Promise.all(asked.map((n) => this.familyText(n)));
    // Families apart by a blank line, as prom-client writes a whole registry.
    return parts.length ? `${parts.join('\n\n')}\n` : '';
  }

  /**
   * TorchServe's own families as its Java client writes them (torchserve-text-format.ts), which
   * TorchServe's suites and the scripts copied from them match; this server's own in prom-client's
   * standard form, which the tools built on Prometheus's own clients expect.
   */
  private async familyText(name: string): Promise<string> {
    const declared = this.torchserve.get(name);
    if (!declared) return this.registry.getSingleMetricAsString(name);
    return torchserveFamilyText(await this.registry.getSingleMetric(name)!.get(), declared);
  }

  observePrediction(model: ModelVersion, out: RunTiming, times: StageTimes, totalMs: number): void {
    const labels = { model_name: model.name, model_version: model.version, hostname: this.hostname };
    this.frontend.requests.inc(labels);
    this.frontend.latency.inc(labels, totalMs * 1000);
    this.frontend.queueLatency.inc(labels, out.queueMs * 1000);
    const stage = (name: string, ms: number) => this.prediction.stages.observe({ model_name: model.name, stage: name }, ms / 1000);
    stage('decode', times.decode);
    stage('queue', out.queueMs);
    stage('transfer', out.transferMs);
    stage('infer', out.inferMs);
    stage('post', times.post);
    this.prediction.batchSizes.observe({ model_name: model.name }, out.batch);
    this.prediction.requests.observe({ model_name: model.name }, totalMs / 1000);
  }
}
