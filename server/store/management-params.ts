// The parameters of the management operations (model-management.ts), typed. Each transport fills
// them from what it carries: the HTTP Management API from its query string
// (http/management-query.ts), gRPC from its request's fields (grpc/torchserve-management.ts).
// A parameter the client did not give, or gave in a form TorchServe ignores, is absent; the
// operations check the values in TorchServe's order and answer its messages.

export interface ListParams {
  /** Page size; TorchServe's `limit`. */
  limit?: number;
  /** Where the page starts; TorchServe's `next_page_token`. */
  nextPageToken?: number;
}

export interface RegisterParams {
  /** A model folder or model archive (.mar) of the store; required. */
  url?: string;
  /** TorchServe's `model_name`: the name to register under (an alias of a folder; an archive's instead of its manifest's). */
  modelName?: string;
  /** TorchServe's runtimes are accepted; the model runs in onnxruntime-web either way. */
  runtime?: string;
  batchSize?: number;
  /** ms; TorchServe's `max_batch_delay`. */
  maxBatchDelayMs?: number;
  initialWorkers?: number;
  /** Seconds; TorchServe's `response_timeout`. */
  responseTimeout?: number;
  /**
   * Seconds each worker has to load, past which the registration fails; TorchServe's
   * `startup_timeout`. 0 or less leaves no time at all, as in TorchServe.
   */
  startupTimeout?: number;
  /** Answer once the workers are ready; absent: true, as TorchServe's HTTP API. */
  synchronous?: boolean;
}

export interface ScaleParams {
  minWorker?: number;
  maxWorker?: number;
  /** Answer once the workers are ready; absent: false, as TorchServe. */
  synchronous?: boolean;
}

/**
 * How the client wrote a number, for the message that refuses it (`batch_size`, ...): HTTP
 * quotes the query's text as it came; by default the number itself.
 */
export type Spelling = (param: string, value: number) => string;

export const asWritten: Spelling = (_param, value) => String(value);
