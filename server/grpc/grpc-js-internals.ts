// The two places this server reaches inside grpc-js, kept here alone, each checked where it is
// read, so that a grpc-js that moved them fails tests/unit/grpc-js-internals.test.ts, and the
// server at start (the first) or in its log (the second: bytes of messages still arriving are
// then not counted) rather than leaving a listener silently unguarded:
//  - the HTTP/2 server behind a connection injector, which grpc-js keeps in a private map: its
//    sessions and streams are where floods of frames and resets are seen and bounded;
//  - the HTTP/2 stream under a server call (its `stream` field): the bytes of a message still
//    arriving are counted from that stream's 'data' events.

import type { Server, ServerCredentials, ServerInterceptingCallInterface } from '@grpc/grpc-js';
import type { EventEmitter } from 'node:events';
import type { ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import { log } from '../ops/log.js';

export type ConnectionInjector = ReturnType<Server['createConnectionInjector']>;

/** What the listener reads of the HTTP/2 server behind an injector: its sessions. */
export interface Http2Sessions {
  on(event: 'session', listener: (session: ServerHttp2Session) => void): unknown;
}

const moved = (what: string) => new Error(`@grpc/grpc-js no longer has ${what} where this server reads it: its gRPC listeners cannot be guarded (see server/grpc/grpc-js-internals.ts)`);

/** A connection injector of `server`, and the HTTP/2 server grpc-js made for it. */
export function injectorWithHttp2(server: Server, credentials: ServerCredentials): { injector: ConnectionInjector; http2: Http2Sessions } {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map)) throw moved('its map of HTTP/2 servers (Server.http2Servers)');
  const before = new Set(servers.keys());
  const injector = server.createConnectionInjector(credentials);
  const added = [...servers.keys()].filter((s) => !before.has(s));
  const http2 = added[0] as Partial<EventEmitter> | undefined;
  if (added.length !== 1 || typeof http2?.on !== 'function' || typeof http2.listenerCount !== 'function' || http2.listenerCount('session') === 0) {
    injector.destroy();
    throw moved("the injector's HTTP/2 server in Server.http2Servers");
  }
  return { injector, http2: http2 as Http2Sessions };
}

/** The HTTP/2 stream of a call, as an interceptor first in line is given it; null where grpc-js moved it. */
export function http2StreamOf(call: ServerInterceptingCallInterface): ServerHttp2Stream | null {
  const stream = (call as unknown as { stream?: Partial<ServerHttp2Stream> }).stream;
  return typeof stream?.on === 'function' && typeof stream.respond === 'function' ? (stream as ServerHttp2Stream) : null;
}

let toldMoved = false;

/** Logs, once, that a call's stream was not found: messages still arriving are then not counted. */
export function streamMoved(): void {
  if (toldMoved) return;
  toldMoved = true;
  log.error(moved("a server call's HTTP/2 stream (its `stream` field)").message);
}
