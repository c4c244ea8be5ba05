// gRPC's length-prefixed messages (a flag byte, a 4-byte big-endian length, the bytes), followed
// across the chunks a stream delivers: how many bytes of a message not yet whole have arrived.
// Those bytes sit in grpc-js's decoder until the message is complete, so they are counted against
// the request-byte budget as they come (call-guard.ts), as an HTTP body is.

export class MessageFraming {
  private readonly prefix = Buffer.alloc(5);
  private prefixHave = 0;
  /** Bytes of the current message's body still to come; null while its prefix is incomplete. */
  private bodyLeft: number | null = null;
  private partial = 0;

  /** The bytes, prefix included, of the message under way; 0 between messages. */
  get held(): number {
    return this.partial;
  }

  /** Reads `chunk`, the next bytes of the stream; answers `held` after it. */
  feed(chunk: Uint8Array): number {
    let at = 0;
    while (at < chunk.length) {
      if (this.bodyLeft === null) {
        const take = Math.min(5 - this.prefixHave, chunk.length - at);
        this.prefix.set(chunk.subarray(at, at + take), this.prefixHave);
        this.prefixHave += take;
        this.partial += take;
        at += take;
        if (this.prefixHave === 5) this.bodyLeft = this.prefix.readUInt32BE(1);
      } else {
        const take = Math.min(this.bodyLeft, chunk.length - at);
        this.bodyLeft -= take;
        this.partial += take;
        at += take;
      }
      if (this.bodyLeft === 0) {
        this.prefixHave = 0;
        this.bodyLeft = null;
        this.partial = 0;
      }
    }
    return this.partial;
  }
}
