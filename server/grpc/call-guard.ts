// What every gRPC call meets before its handler, on both listeners (a grpc-js server interceptor):
//  - the key, read from the call's metadata before a byte of its message is: grpc-js leaves a
//    call's stream paused until the handler asks for a message, so a call answered
//    UNAUTHENTICATED here is never read into a message (what its client still sends is dropped
//    as it comes);
//  - the bytes of a message still arriving, counted against `max_inflight_bytes` as they come
//    (grpc-js holds them until the message is whole): past the budget the call ends
//    RESOURCE_EXHAUSTED, and what it held is given back when the message is whole or the call ends.

import { type Metadata, ResponderBuilder, ServerInterceptingCall, type ServerInterceptor, ServerListenerBuilder } from '@grpc/grpc-js';
import type { Admission, Ticket } from '../pipeline/admission.js';
import { bearerMatches, invalidKey } from '../auth/auth.js';
import type { ApiError } from '../errors.js';
import type { Metrics } from '../ops/metrics.js';
import { type CallType, recordCall } from './calls.js';
import { http2StreamOf, streamMoved } from './grpc-js-internals.js';
import { grpcCodeOf, serviceError } from './grpc-status.js';
import { MessageFraming } from './message-framing.js';

export interface CallGuardOptions {
  /** The key calls must carry; null when authorization is off. */
  key: string | null;
  /** Paths (`/service/Method`) open to anyone, like /ping. */
  open: ReadonlySet<string>;
  admission: Admission;
  metrics?: Metrics | undefined;
}

const typeOf = (m: { requestStream: boolean; responseStream: boolean }): CallType =>
  m.requestStream ? (m.responseStream ? 'bidi_stream' : 'client_stream') : m.responseStream ? 'server_stream' : 'unary';

function keyAccepted(metadata: Metadata, key: string | null): boolean {
  if (key === null) return true;
  const [value] = metadata.get('authorization');
  return bearerMatches(typeof value === 'string' ? value : undefined, key);
}

/**
 * Counts the bytes of the message a call is receiving: from the stream's data events, which come
 * only while grpc-js reads (the handler has asked for a message), and only until the call ends.
 */
class MessageMeter {
  private readonly framing = new MessageFraming();
  private ticket: Ticket | null = null;
  private counted = 0;
  private stopped = false;

  constructor(
    private readonly admission: Admission,
    private readonly metrics: Metrics | undefined,
    private readonly overBudget: (error: ApiError) => void,
  ) {}

  feed(chunk: Buffer): void {
    if (this.stopped) return;
    const held = this.framing.feed(chunk);
    if (held < this.counted) this.giveBack();
    if (held === this.counted) return;
    try {
      this.ticket ??= this.admission.bytesOnly();
      this.ticket.hold(held - this.counted);
    } catch (err) {
      this.stop();
      this.overBudget(err as ApiError);
      return;
    }
    this.metrics?.grpcPartialMessageBytes.inc(held - this.counted);
    this.counted = held;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.giveBack();
  }

  private giveBack(): void {
    this.ticket?.release();
    this.ticket = null;
    if (this.counted > 0) this.metrics?.grpcPartialMessageBytes.dec(this.counted);
    this.counted = 0;
  }
}

export function callGuard(opts: CallGuardOptions): ServerInterceptor {
  const env = { metrics: opts.metrics };
  return (method, call) => {
    const t0 = performance.now();
    const [service = '', name = ''] = method.path.slice(1).split('/');
    const type = typeOf(method);
    // Whether the handler has the call: a streaming request's handler starts with its metadata.
    let handed = false;
    // Whether the call's status is on its way, whoever sent it.
    let ended = false;
    // A call ended here is recorded here, unless its handler has it and records its end itself.
    const refuse = (error: ApiError) => {
      if (ended) return;
      const code = grpcCodeOf(error);
      guarded.sendStatus({ code, details: error.message, metadata: serviceError(error).metadata ?? null });
      if (!handed) recordCall(env, type, service, name, code, t0);
    };
    const meter = new MessageMeter(opts.admission, opts.metrics, refuse);
    const stream = http2StreamOf(call);
    if (stream) {
      stream.on('data', (chunk: Buffer) => meter.feed(chunk));
      stream.once('close', () => meter.stop());
    } else streamMoved();
    const guarded = new ServerInterceptingCall(
      call,
      new ResponderBuilder()
        .withStart((next) =>
          next(
            new ServerListenerBuilder()
              .withOnReceiveMetadata((metadata, pass) => {
                if (!opts.open.has(method.path) && !keyAccepted(metadata, opts.key)) return refuse(invalidKey());
                handed = method.requestStream;
                pass(metadata);
              })
              .build(),
          ),
        )
        .withSendStatus((status, next) => {
          ended = true;
          meter.stop();
          next(status);
        })
        .build(),
    );
    return guarded;
  };
}
