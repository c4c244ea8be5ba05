// Closing a connection whose request body was refused before its end, without losing the answer.
// Node closes a `Connection: close` response's socket as soon as the answer is written; with the
// client still uploading, unread bytes are left in the socket, so the kernel resets the
// connection instead of closing it, and the client's side drops the answer it had not read yet
// (curl says "connection reset" instead of showing the 413). So, as web servers do: send the
// answer and a FIN, go on reading and discarding for a short while, then close for good.

import type { Socket } from 'node:net';

/** Long enough for a client to read its answer; short and small enough that an endless upload costs nothing. */
const LINGER_MS = 2000;
const LINGER_BYTES = 4 * 1024 * 1024;

export function lingerOnClose(socket: Socket | null | undefined): void {
  if (!socket || (socket as Socket & { lingering?: boolean }).lingering) return;
  (socket as Socket & { lingering?: boolean }).lingering = true;
  socket.destroySoon = function lingeringClose(this: Socket) {
    this.end();
    let read = 0;
    const timer = setTimeout(() => this.destroy(), LINGER_MS);
    timer.unref();
    this.on('data', (chunk: Buffer) => {
      read += chunk.length;
      if (read > LINGER_BYTES) this.destroy();
    });
    this.once('close', () => clearTimeout(timer));
    this.resume();
  };
}
