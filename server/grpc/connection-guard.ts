// One gRPC listener's connections, from the TCP accept to the end of their HTTP/2 session. Node's
// own TCP server takes each connection and hands it to grpc-js (so the listener has a bound,
// max_connections, below the open-file limit), after a bound per client address; each session is
// then watched for what a hostile client does with HTTP/2 that grpc-js and Node leave open:
//  - streams its client resets before their answer, and PING and SETTINGS frames, spend budgets
//    (rate-budget.ts): past one the connection gets GOAWAY (ENHANCE_YOUR_CALM) and is closed;
//  - a stream answered before its message was read (a key refused, an unknown method) has what
//    its client still sends dropped as it comes, not left to fill the stream's window;
//  - a session Node ends on its own (floods of PING, SETTINGS, empty DATA or CONTINUATION frames,
//    streams past the limit) is logged and counted, as is every connection closed for its client.
// Node destroys a session's socket when the session ends. A session nghttp2 stopped reading
// without Node ending it (rate-budget.ts) is found by grpc-js's keepalive ping, unanswered
// (grpc_keepalive_time_ms), and ended.
// Refusals are logged once when they start and once when they end, not once per connection.

import { constants, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import net from 'node:net';
import { log } from '../ops/log.js';
import type { Metrics } from '../ops/metrics.js';
import { ClientConnections } from './client-connections.js';
import type { ConnectionInjector, Http2Sessions } from './grpc-js-internals.js';
import { CONTROL_FRAME_BURST, CONTROL_FRAMES_PER_SECOND, RateBudget, RESETS_PER_SECOND } from './rate-budget.js';

export interface ConnectionLimits {
  /** Connections the listener holds at once (max_connections). */
  maxConnections: number;
  /** Connections one client address holds at once (grpc_max_connections_per_client). */
  maxConnectionsPerClient: number;
  /** Streams a connection's client may reset in a burst (grpc_max_stream_resets). */
  maxStreamResets: number;
}

/** Starts and ends of refusals, by what is refused: the listener, or one address. */
class Refusals {
  private readonly refused = new Map<string, number>();

  /** One more refused; the first of a run is logged. */
  add(key: string, line: () => string, fields: Record<string, unknown>): void {
    const n = this.refused.get(key);
    if (n === undefined) log.warn(line(), fields);
    this.refused.set(key, (n ?? 0) + 1);
  }

  /** The run of refusals of `key`, if any, is over: logged with its count. */
  end(key: string, line: (count: number) => string, fields: Record<string, unknown>): void {
    const n = this.refused.get(key);
    if (n === undefined) return;
    this.refused.delete(key);
    log.info(line(n), { ...fields, refused: n });
  }
}

function watchSession(session: ServerHttp2Session, listener: string, limits: ConnectionLimits, metrics: Metrics | undefined): void {
  // Read now: once the session is over, its socket (a proxy) throws on any read.
  const peer = `${session.socket.remoteAddress}:${session.socket.remotePort}`;
  const resets = new RateBudget(limits.maxStreamResets, RESETS_PER_SECOND);
  const controlFrames = new RateBudget(CONTROL_FRAME_BURST, CONTROL_FRAMES_PER_SECOND);
  let closedFor: string | null = null;
  const closedBy = (reason: string, why: string) => {
    if (closedFor) return;
    closedFor = reason;
    metrics?.grpcConnectionsClosed.inc({ listener, reason });
    log.warn(`gRPC ${listener}: closed the connection from ${peer}: ${why}`, { listener, peer, reason });
  };
  const shut = (reason: string, why: string) => {
    if (closedFor || session.destroyed) return;
    closedBy(reason, why);
    // The GOAWAY now, so nghttp2 takes no new stream from the rest of what it is reading; the
    // session's end not from inside the handler that noticed: stream 'close', 'ping' and
    // 'remoteSettings' run while nghttp2 is still consuming the client's frames, and a session
    // destroyed there makes Node's HTTP/2 code fail an assertion on the frames after it and abort
    // the whole process. Once nghttp2 is done with this read, the session ends; closedFor stops
    // any second shut.
    session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM);
    setImmediate(() => {
      // The code goes in the GOAWAY that ends the session; its error event is then this one.
      if (!session.destroyed) session.destroy(new Error(why), constants.NGHTTP2_ENHANCE_YOUR_CALM);
    });
  };
  session.on('stream', (stream: ServerHttp2Stream) => {
    // grpc-js has run the call's start by now: a call answered at once is not read again.
    if (stream.headersSent && stream.writableEnded) stream.resume();
    stream.once('close', () => {
      if (stream.rstCode === constants.NGHTTP2_NO_ERROR || closedFor || session.closed || session.destroyed) return;
      metrics?.grpcStreamResets.inc({ listener });
      if (!resets.take()) shut('stream_resets', `its client reset more than ${limits.maxStreamResets} streams before their answer (grpc_max_stream_resets)`);
    });
  });
  const controlFrame = () => {
    if (!controlFrames.take()) shut('control_frames', `its client sent more than ${CONTROL_FRAME_BURST} PING and SETTINGS frames at once`);
  };
  session.on('ping', controlFrame);
  session.on('remoteSettings', controlFrame);
  // HTTP/2's own errors only: a socket reset or timed out is a client gone, not one misbehaving.
  session.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code?.startsWith('ERR_HTTP2')) closedBy('http2_error', `${err.message} (${err.code})`);
  });
}

/**
 * The TCP server of one gRPC listener (`name`: inference or management): each connection it
 * keeps goes to `injector`, and each HTTP/2 session grpc-js makes of one is watched.
 */
export function guardedServer(name: string, injector: ConnectionInjector, http2: Http2Sessions, limits: ConnectionLimits, metrics?: Metrics): net.Server {
  const label = { listener: name };
  const clients = new ClientConnections(limits.maxConnectionsPerClient);
  const refusals = new Refusals();
  metrics?.grpcConnections.set(label, 0);
  const tcp = net.createServer((socket) => {
    refusals.end('listener', (n) => `gRPC ${name}: taking connections again, after refusing ${n} at max_connections (${limits.maxConnections})`, label);
    const address = socket.remoteAddress ?? '';
    if (!clients.take(address)) {
      socket.destroy();
      metrics?.grpcConnectionsRefused.inc({ ...label, reason: 'max_connections_per_client' });
      refusals.add(`client ${address}`, () => `gRPC ${name}: refusing new connections from ${address}: it holds grpc_max_connections_per_client (${limits.maxConnectionsPerClient})`, {
        ...label,
        client: address,
      });
      return;
    }
    metrics?.grpcConnections.set(label, clients.total);
    socket.once('close', () => {
      clients.give(address);
      metrics?.grpcConnections.set(label, clients.total);
      refusals.end(`client ${address}`, (n) => `gRPC ${name}: taking connections from ${address} again, after refusing ${n}`, { ...label, client: address });
    });
    injector.injectConnection(socket);
  });
  tcp.maxConnections = limits.maxConnections;
  tcp.on('drop', () => {
    metrics?.grpcConnectionsRefused.inc({ ...label, reason: 'max_connections' });
    refusals.add('listener', () => `gRPC ${name}: refusing new connections: it holds max_connections (${limits.maxConnections})`, label);
  });
  http2.on('session', (session) => watchSession(session, name, limits, metrics));
  return tcp;
}
