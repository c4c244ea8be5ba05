// Worker pages are what one request can multiply: each is a Chromium renderer of about 256 MiB
// (limits.ts PAGE_BYTES) holding its own copy of the model. Their total across every model
// version stays within max_workers, checked three times: when the server starts (ConfigError),
// by the Management API before any page opens (400), and by the engine, which opens no more.

import { ConfigError, MODEL_DEFAULTS, type ServerConfig } from '../config/config.js';
import type { ModelVersion } from '../store/model-store.js';

export interface WorkerLimit {
  /** Worker pages across every model version. */
  max: number;
  /** Where `max` comes from: "max_workers, derived from 2 cores and 24 GiB". */
  why: string;
  /** The server's `workers` setting, which a model starts with unless a registration says. */
  workers: number | null;
}

export const workerLimitOf = (config: ServerConfig): WorkerLimit => ({ max: config.models.maxWorkers, why: config.models.maxWorkersWhy, workers: config.models.workers });

/** The pages a version starts with: a registration's initial_workers, else the server's setting, else its config's, else 1. */
export function initialWorkers(model: ModelVersion, serverWorkers: number | null, requested?: number): number {
  return requested ?? serverWorkers ?? model.config.workers ?? MODEL_DEFAULTS.workers;
}

/** Why `total` pages are too many, starting with what asked for them; null when they fit. */
export function tooManyPages(asked: string, total: number, limit: Pick<WorkerLimit, 'max' | 'why'>): string | null {
  return total > limit.max ? `${asked} would make ${total} worker pages; this server allows at most ${limit.max} (${limit.why})` : null;
}

/** Before anything is launched: the models to load, each with its initial workers, must fit together. */
export function checkStartWorkers(models: readonly ModelVersion[], limit: WorkerLimit): void {
  const counts = models.map((m) => initialWorkers(m, limit.workers));
  const asked = `loading ${models.map((m, i) => `${m.key} (${counts[i]} worker${counts[i] === 1 ? '' : 's'})`).join(', ')}`;
  const problem = tooManyPages(
    asked,
    counts.reduce((a, b) => a + b, 0),
    limit,
  );
  if (problem) throw new ConfigError(`${problem}; lower workers, load fewer models (load_models) or raise max_workers`);
}
