// Request bodies while they arrive, by client. Every byte read is also held against the server's
// budget (admission.ts); this adds what one client may do with the pace of its own uploads:
//   - the bytes of a client's bodies still arriving, across all its connections, stay within
//     `perClientBytes` (max_client_upload_bytes): past it that client's further bodies are
//     refused with 429, while other clients still have the rest of the budget. A connection
//     carries one body at a time (HTTP/1.1: the next request starts after this body's last byte),
//     and each stops at max_request_size (413), so one connection holds at most that much;
//   - each body keeps a minimum pace (upload-rate.ts): one that stalls is answered 408.
// 429 rather than 503: the refusal is of one client's excess, not of the replica, and a balancer
// that counts 5xx against a backend (Envoy's outlier detection, Istio's consecutive5xxErrors)
// would eject the replica for everyone over one client's uploads; clients that retry 503 with
// Retry-After (urllib3's Retry, for one) retry 429 the same way.
// Once a body is in, its bytes no longer count here: what happens to it then (decode, queue,
// run) is bounded by the model's queue and the budget, not by how the client sends.
// Bytes still arriving are what a slow or hostile client controls, so readiness leaves them out
// (lifecycle/readiness.ts): a client that stalls its uploads must not take the replica out of a
// balancer's rotation for everyone else.

import { clientOf } from './client-address.js';
import { ApiError } from '../../errors.js';
import { realWindowClock, watchUploadRate, type RateWatch, type UploadRate, type WindowClock } from './upload-rate.js';

export interface UploadRules extends UploadRate {
  /** Bytes of bodies one client may have still arriving at once. */
  perClientBytes: number;
}

const tooMany = (client: string, held: number, limit: number) =>
  new ApiError(
    429,
    'TooManyRequestsException',
    `Request bodies still arriving from ${client} hold ${held} bytes, as many as one client may (max_client_upload_bytes ${limit}); retry once they are in.`,
    {
      'Retry-After': '1',
    },
  );

export const uploadTooSlow = (rate: UploadRate) =>
  new ApiError(
    408,
    'RequestTimeoutException',
    `The request body arrived at fewer than ${rate.minBytesPerSecond} bytes per second over ${rate.windowMs / 1000} s (min_upload_rate, upload_rate_window); the connection is closed.`,
  );

export class Uploads {
  private readonly byClient = new Map<string, number>();
  private total = 0;

  constructor(
    readonly rules: UploadRules,
    private readonly clock: WindowClock = realWindowClock,
  ) {}

  /** Bytes of every body still arriving. */
  get bytesArriving(): number {
    return this.total;
  }

  /** Bytes of the bodies still arriving from the client at `address`. */
  bytesArrivingFrom(address: string | undefined): number {
    return this.byClient.get(clientOf(address)) ?? 0;
  }

  /**
   * A body from `address` starts arriving: 429 at once if its declared length would take its
   * client past the bound. `onStalled` is told, once, when the body falls below the minimum pace.
   */
  begin(address: string | undefined, declaredBytes: number, onStalled: (e: ApiError) => void): Upload {
    const client = clientOf(address);
    const held = this.byClient.get(client) ?? 0;
    if (held + declaredBytes > this.rules.perClientBytes) throw tooMany(client, held, this.rules.perClientBytes);
    return new Upload(
      this,
      client,
      watchUploadRate(this.rules, () => onStalled(uploadTooSlow(this.rules)), this.clock),
    );
  }

  /** @internal for Upload */
  take(client: string, n: number): void {
    const held = this.byClient.get(client) ?? 0;
    if (held + n > this.rules.perClientBytes) throw tooMany(client, held, this.rules.perClientBytes);
    this.byClient.set(client, held + n);
    this.total += n;
  }

  /** @internal for Upload */
  give(client: string, n: number): void {
    const left = (this.byClient.get(client) ?? 0) - n;
    if (left > 0) this.byClient.set(client, left);
    else this.byClient.delete(client);
    this.total -= n;
  }
}

/** One body while it arrives. */
export class Upload {
  private bytes = 0;
  private ended = false;

  constructor(
    private readonly uploads: Uploads,
    private readonly client: string,
    private readonly rate: RateWatch,
  ) {}

  /** `n` more bytes arrived: 429 when they would take the client past its bound. */
  received(n: number): void {
    if (this.ended) return;
    this.uploads.take(this.client, n);
    this.bytes += n;
    this.rate.received(n);
  }

  /** The body is in, refused or given up: its bytes no longer count as arriving. Once. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.rate.stop();
    this.uploads.give(this.client, this.bytes);
    this.bytes = 0;
  }
}
