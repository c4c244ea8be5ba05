// One HTTP or HTTPS listener with the limits every listener keeps.

import { createServer, type RequestListener, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';

export type Server = HttpServer | HttpsServer;

export interface ListenOptions {
  requestTimeoutMs: number;
  maxConnections: number;
  /** The PEM key and certificate, for an https:// address. */
  tls: { key: string; cert: string } | null;
}

/**
 * Slow or idle clients may not hold connections forever: headers within 10 s (checked every
 * second, not Node's default 30), the whole request within the response timeout. Past
 * `maxConnections` new connections are closed at once, below the open-file limit, so that files,
 * model loads and Chromium's pipes always have descriptors left. An https:// address is served
 * with the key and certificate of `tls`, under the same limits, its TLS handshake within the 10 s
 * given to headers (Node's default is 120).
 */
export function listen(app: Express, address: URL, opts: ListenOptions): Promise<Server> {
  return new Promise((resolve, reject) => {
    const host = address.hostname.replace(/^\[(.*)\]$/, '$1');
    // Node refuses a headers timeout longer than the request timeout (default_response_timeout may be under 10 s).
    const limits = { headersTimeout: Math.min(10_000, opts.requestTimeoutMs), requestTimeout: opts.requestTimeoutMs, connectionsCheckingInterval: 1000 };
    const secure = address.protocol === 'https:';
    const server: Server = secure ? createHttpsServer({ ...limits, handshakeTimeout: limits.headersTimeout, ...opts.tls! }, app) : createServer(limits, app);
    server.maxConnections = opts.maxConnections;
    server.on('error', reject);
    server.listen(Number(address.port || (secure ? 443 : 80)), host, () => resolve(server));
  });
}

/** The application a listener serves. */
export const appOf = (server: Server): RequestListener => server.listeners('request')[0] as RequestListener;

export const urlOf = (server: Server): string => {
  const a = server.address() as AddressInfo;
  return `${server instanceof HttpsServer ? 'https' : 'http'}://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
};
