// HTTP/2 by hand over a socket, for what a well-behaved client will not send: streams past the
// server's limit, frames in floods, headers that never end. Headers are written as HPACK literals
// (no table, no Huffman), which every server must read; what comes back is read frame by frame,
// its headers left undecoded.

import net from 'node:net';

export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;
export const ERROR = { NO_ERROR: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2, FLOW_CONTROL_ERROR: 3, REFUSED_STREAM: 7, CANCEL: 8, ENHANCE_YOUR_CALM: 11 } as const;

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

export function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK integer with an `n`-bit prefix (RFC 7541 §5.1), the prefix's high bits given. */
function hpackInteger(value: number, n: number, high = 0): Buffer {
  const max = (1 << n) - 1;
  if (value < max) return Buffer.from([high | value]);
  const bytes = [high | max];
  let rest = value - max;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** A header block of literals without indexing, new names, no Huffman (RFC 7541 §6.2.2). */
export function headerBlock(headers: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(headers)) {
    const n = Buffer.from(name, 'latin1');
    const v = Buffer.from(value, 'latin1');
    parts.push(Buffer.from([0]), hpackInteger(n.length, 7), n, hpackInteger(v.length, 7), v);
  }
  return Buffer.concat(parts);
}

/** The headers of a gRPC call to `path`. */
export const grpcHeaders = (path: string, extra: Record<string, string> = {}): Record<string, string> => ({
  ':method': 'POST',
  ':scheme': 'http',
  ':path': path,
  ':authority': 'localhost',
  'content-type': 'application/grpc',
  te: 'trailers',
  ...extra,
});

/** The 5-byte gRPC message prefix: not compressed, `length` bytes follow. */
export function grpcPrefix(length: number): Buffer {
  const b = Buffer.alloc(5);
  b.writeUInt32BE(length, 1);
  return b;
}

export interface RawHttp2 {
  socket: net.Socket;
  /** Every frame the server has sent so far. */
  frames: Frame[];
  /** Resolves with the server's GOAWAY error code, or null when the connection closed without one. */
  goaway: Promise<number | null>;
  /** Resolves when the connection is closed, by either side. */
  closed: Promise<void>;
  /** Resolves with the first frame the server sends that `match` accepts (null if it closes first). */
  next(match: (f: Frame) => boolean): Promise<Frame | null>;
  /** Writes raw bytes; false when the socket is already gone. */
  write(bytes: Buffer): boolean;
  /** Opens stream `id` with `headers`, ending it or not. */
  open(id: number, headers: Record<string, string>, endStream?: boolean): boolean;
  close(): void;
}

/** Connects (from `localAddress`, a loopback address of its own), sends the preface and empty SETTINGS. */
export async function rawHttp2(target: string, localAddress?: string): Promise<RawHttp2> {
  const at = target.lastIndexOf(':');
  const socket = net.connect({ port: Number(target.slice(at + 1)), host: target.slice(0, at).replace(/^\[(.*)\]$/, '$1'), ...(localAddress ? { localAddress } : {}) });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.on('error', () => undefined);
  const frames: Frame[] = [];
  const waiting = new Set<{ match: (f: Frame) => boolean; resolve: (f: Frame | null) => void }>();
  let buffered = Buffer.alloc(0);
  let gone = false;
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      gone = true;
      for (const w of waiting) w.resolve(null);
      waiting.clear();
      resolve();
    }),
  );
  const write = (bytes: Buffer) => !gone && !socket.destroyed && socket.write(bytes);
  socket.on('data', (d: Buffer) => {
    buffered = Buffer.concat([buffered, d]);
    while (buffered.length >= 9) {
      const length = buffered.readUIntBE(0, 3);
      if (buffered.length < 9 + length) break;
      const f = { type: buffered[3]!, flags: buffered[4]!, stream: buffered.readUInt32BE(5) & 0x7fffffff, payload: buffered.subarray(9, 9 + length) };
      buffered = buffered.subarray(9 + length);
      frames.push(f);
      // As any client: the server's settings acknowledged, its pings (keepalive) answered.
      if (f.type === FRAME.SETTINGS && !(f.flags & FLAG.ACK)) write(frame(FRAME.SETTINGS, FLAG.ACK, 0));
      if (f.type === FRAME.PING && !(f.flags & FLAG.ACK)) write(frame(FRAME.PING, FLAG.ACK, 0, f.payload));
      for (const w of [...waiting]) {
        if (w.match(f)) {
          waiting.delete(w);
          w.resolve(f);
        }
      }
    }
  });
  const next = (match: (f: Frame) => boolean) =>
    new Promise<Frame | null>((resolve) => {
      const seen = frames.find(match);
      if (seen) resolve(seen);
      else if (gone) resolve(null);
      else waiting.add({ match, resolve });
    });
  const goaway = next((f) => f.type === FRAME.GOAWAY).then((f) => (f ? f.payload.readUInt32BE(4) : null));
  write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0)]));
  return {
    socket,
    frames,
    goaway,
    closed,
    next,
    write,
    open: (id, headers, endStream = false) => write(frame(FRAME.HEADERS, FLAG.END_HEADERS | (endStream ? FLAG.END_STREAM : 0), id, headerBlock(headers))),
    close: () => socket.destroy(),
  };
}
