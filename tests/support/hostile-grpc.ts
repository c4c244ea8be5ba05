// gRPC calls as a hostile client makes them, over node:http2: from a loopback address of the
// test's own (so the server counts its connections apart), streams opened and reset at once
// (rapid reset), messages that declare a size and never finish.

import http2 from 'node:http2';
import net from 'node:net';
import { grpcPrefix } from './raw-http2.js';

export const PREDICTIONS = '/org.pytorch.serve.grpc.inference.InferenceAPIsService/Predictions';

/** An HTTP/2 connection to `target` (host:port) from `localAddress`. */
export function connectFrom(target: string, localAddress: string): http2.ClientHttp2Session {
  const at = target.lastIndexOf(':');
  const session = http2.connect(`http://${target}`, {
    // Room for what its streams queue before the server takes it (Node's default is 10 MB).
    maxSessionMemory: 64,
    createConnection: () => net.connect({ host: target.slice(0, at), port: Number(target.slice(at + 1)), localAddress }),
  });
  session.on('error', () => undefined);
  return session;
}

const headers = (path: string, key?: string) => ({
  ':method': 'POST',
  ':path': path,
  'content-type': 'application/grpc',
  te: 'trailers',
  ...(key ? { authorization: `Bearer ${key}` } : {}),
});

export interface Ended {
  /** The GOAWAY's error code, or null when the connection closed without one. */
  goaway: number | null;
  /** Streams opened before the server stopped taking them. */
  opened: number;
}

/**
 * Opens up to `count` streams to `path`, each reset (CANCEL) at once, in bursts of 100, until the
 * count or the server's GOAWAY; resolves once the connection is closed. `pace: 'ping'` waits for
 * the answer to a PING after each burst, so that the server reads every burst before the next.
 */
export function rapidReset(session: http2.ClientHttp2Session, path: string, count: number, pace: 'none' | 'ping' = 'none'): Promise<Ended> {
  let goaway: number | null = null;
  let opened = 0;
  session.on('goaway', (code) => {
    goaway = code;
  });
  return new Promise((resolve) => {
    session.once('close', () => resolve({ goaway, opened }));
    const burst = () => {
      for (let i = 0; i < 100 && opened < count; i++) {
        if (session.closed || session.destroyed || goaway !== null) return;
        try {
          const stream = session.request(headers(path));
          stream.on('error', () => undefined);
          stream.close(http2.constants.NGHTTP2_CANCEL);
          opened++;
        } catch {
          return;
        }
      }
      if (opened >= count) return;
      if (pace === 'ping') session.ping(() => burst());
      else setImmediate(burst);
    };
    session.once('connect', burst);
  });
}

export interface PartialCall {
  stream: http2.ClientHttp2Stream;
  /** Resolves once the server has taken every byte sent: read, or dropped as it came. */
  taken: Promise<void>;
  /** The call's gRPC status, once the server sends it: code null if the stream closed without one. */
  status: Promise<{ code: number | null; message: string }>;
}

/** A call to `path` whose message declares `declared` bytes, of which `sent` are sent, and never more. */
export function partialCall(session: http2.ClientHttp2Session, path: string, opts: { key?: string; declared: number; sent: number }): PartialCall {
  const stream = session.request(headers(path, opts.key));
  stream.on('error', () => undefined);
  stream.write(grpcPrefix(opts.declared));
  const taken = new Promise<void>((resolve) => stream.write(Buffer.alloc(opts.sent, 1), () => resolve()));
  const status = new Promise<{ code: number | null; message: string }>((resolve) => {
    const read = (h: http2.IncomingHttpHeaders) => {
      const code = h['grpc-status'];
      if (code !== undefined) resolve({ code: Number(code), message: decodeURIComponent(String(h['grpc-message'] ?? '')) });
    };
    stream.on('response', read);
    stream.on('trailers', read);
    stream.on('close', () => resolve({ code: null, message: `closed with RST_STREAM ${stream.rstCode}` }));
  });
  return { stream, taken, status };
}
