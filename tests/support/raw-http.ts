// HTTP/1.1 by hand over a socket, for what fetch cannot do: a request whose body never comes,
// an upload that never ends, a connection that just sits there.

import net from 'node:net';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface RawConnection {
  socket: net.Socket;
  /** The first response on the connection, once its headers and body (by Content-Length) are in. */
  answer: Promise<RawAnswer>;
  /** Resolves when the server ends or resets the connection. */
  closed: Promise<void>;
  /** Bytes this side has written. */
  written(): number;
  write(bytes: string | Buffer): boolean;
}

/** A connection to `url`'s host and port; from `localAddress` where given (127.0.0.2: another loopback client). */
export async function connect(url: string, localAddress?: string): Promise<RawConnection> {
  const { hostname, port } = new URL(url);
  const socket = net.connect({ port: Number(port), host: hostname, ...(localAddress ? { localAddress } : {}) });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let written = 0;
  let received = Buffer.alloc(0);
  const closed = new Promise<void>((resolve) => {
    socket.on('close', () => resolve());
    socket.on('error', () => resolve());
  });
  const answer = new Promise<RawAnswer>((resolve, reject) => {
    const parse = () => {
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return false;
      const [statusLine, ...lines] = received.subarray(0, end).toString('latin1').split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      const length = Number(headers['content-length'] ?? 0);
      if (received.length < end + 4 + length) return false;
      resolve({ status: Number(statusLine!.split(' ')[1]), headers, body: received.subarray(end + 4, end + 4 + length).toString('utf8') });
      return true;
    };
    socket.on('data', (d: Buffer) => {
      received = Buffer.concat([received, d]);
      parse();
    });
    void closed.then(() => {
      if (!parse()) reject(new Error(`the connection closed without a full answer (${received.length} bytes in)`));
    });
  });
  answer.catch(() => undefined);
  return {
    socket,
    answer,
    closed,
    written: () => written,
    write: (bytes) => {
      written += bytes.length;
      return socket.write(bytes);
    },
  };
}

/** A request's head: the request line and headers, ending with the blank line. */
export const head = (method: string, path: string, headers: Record<string, string | number>) =>
  `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
