// How often a client may do something cheap for it and costly or pointless for the server, on one
// connection: a token bucket, `burst` at once and `perSecond` after, its clock injected for tests.
//  - Streams reset before their answer (RST_STREAM): the HTTP/2 "rapid reset" (CVE-2023-44487)
//    opens and cancels streams without end, each a call set up and torn down that never counts
//    against the streams open at once. nghttp2 has a bucket of its own (1000, then 33 a second),
//    but past it sends GOAWAY and stops reading the connection, which Node then never closes: the
//    socket stays until the connection ages out. Ours is stricter in burst and rate, so it trips
//    first, and closes the connection.
//  - PING and SETTINGS frames, which each oblige an answer: gRPC clients send a few a minute.

/** Resets given back per second: below nghttp2's 33, so that ours is always spent first. */
export const RESETS_PER_SECOND = 20;

/** PING and SETTINGS frames a client may send at once, and per second after. */
export const CONTROL_FRAME_BURST = 100;
export const CONTROL_FRAMES_PER_SECOND = 10;

export class RateBudget {
  private tokens: number;
  private at: number;

  constructor(
    readonly burst: number,
    readonly perSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.at = now();
  }

  /** Counts one more; false once the client has gone past the budget. */
  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.at) / 1000) * this.perSecond);
    this.at = t;
    this.tokens -= 1;
    return this.tokens >= 0;
  }
}
