// What the server lets in. Two bounds, both answered with 503 and Retry-After:
//   - per model version, at most `job_queue_size` requests between the end of their body and
//     their answer (decoding, queued, running): a flood is refused before anything is decoded;
//   - server-wide, the bytes of every body held in memory (and what is made of them), by every
//     protocol, come out of one budget: the count alone would let a hundred 6 MB tensors in.
// Both are also checked when a request arrives, before a byte of its body is read, so that a
// client is not made to upload what would be refused. Neither is taken on arrival: an upload
// that trickles in holds only the bytes it has really sent, and no place at all.

import { ApiError } from '../errors.js';

const busy = (message: string) => new ApiError(503, 'ServiceUnavailableException', message, { 'Retry-After': '1' });

export class Admission {
  private readonly places = new Map<string, number>();
  private heldBytes = 0;

  constructor(
    /** Requests per model version between the end of their body and their answer. */
    readonly perModel: number,
    /** Bytes of request bodies (and what is made of them) held at once, across all requests. */
    readonly maxBytes: number,
    /** The largest body a request may have (max_request_size). */
    readonly largestRequest: number,
    /** Told whenever bytes are given back, with what is still held (the idle collector). */
    private readonly onGiven: (bytes: number, stillHeld: number) => void = () => {},
  ) {}

  /** A new request to `modelKey`: 503 at once if it could not be taken now, else its ticket. */
  arrive(modelKey: string, declaredBytes: number): Ticket {
    this.checkPlace(modelKey);
    if (declaredBytes > this.maxBytes - this.heldBytes) throw this.noRoom();
    return new Ticket(this, modelKey);
  }

  /** A ticket for bytes alone, before the request's model is known (a gRPC message still arriving). */
  bytesOnly(): Ticket {
    return new Ticket(this, '');
  }

  /** Requests to `modelKey` whose body is in and whose answer is not: decoding, queued or running. */
  inProgress(modelKey: string): number {
    return this.places.get(modelKey) ?? 0;
  }

  get bytesHeld(): number {
    return this.heldBytes;
  }

  /**
   * Why a new request of the largest size would be refused by the work already taken in, whatever
   * its model; or null. `stillArriving` of the bytes held are of bodies not yet in, and do not
   * count: how fast those come is up to their clients (uploads.ts).
   */
  blocked(stillArriving = 0): string | null {
    const taken = this.heldBytes - stillArriving;
    if (taken + this.largestRequest <= this.maxBytes) return null;
    return `request bytes held by bodies already in (${taken}) leave no room for one of max_request_size under max_inflight_bytes (${this.maxBytes})`;
  }

  /** @internal for Ticket */
  checkPlace(modelKey: string): void {
    const taken = this.places.get(modelKey) ?? 0;
    if (taken >= this.perModel) throw busy(`The model is overloaded: ${taken} requests are in progress (job_queue_size ${this.perModel}); retry later.`);
  }

  /** @internal for Ticket */
  takePlace(modelKey: string): void {
    this.checkPlace(modelKey);
    this.places.set(modelKey, (this.places.get(modelKey) ?? 0) + 1);
  }

  /** @internal for Ticket */
  takeBytes(n: number): void {
    if (this.heldBytes + n > this.maxBytes) throw this.noRoom();
    this.heldBytes += n;
  }

  /** @internal for Ticket */
  give(modelKey: string | null, bytes: number): void {
    this.heldBytes -= bytes;
    this.onGiven(bytes, this.heldBytes);
    if (modelKey === null) return;
    const left = (this.places.get(modelKey) ?? 1) - 1;
    if (left > 0) this.places.set(modelKey, left);
    else this.places.delete(modelKey);
  }

  private noRoom(): ApiError {
    return busy(`The server holds as many request bytes as it may (max_inflight_bytes ${this.maxBytes}); retry later.`);
  }
}

/** One request's bytes and, once its body is in, its model's place; given back once, with its answer. */
export class Ticket {
  private bytes = 0;
  private placed = false;
  private released = false;

  constructor(
    private readonly admission: Admission,
    private readonly modelKey: string,
  ) {}

  /** Counts `n` more bytes against the budget; 503 when it has no room for them. */
  hold(n: number): void {
    if (this.released) return;
    this.admission.takeBytes(n);
    this.bytes += n;
  }

  /** Takes the model's place once the body is in, before any decoding; 503 when there is none. */
  place(): void {
    if (this.released || this.placed) return;
    this.admission.takePlace(this.modelKey);
    this.placed = true;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.admission.give(this.placed ? this.modelKey : null, this.bytes);
    this.bytes = 0;
  }
}
