// Logs: JSON lines through pino when the output is a file or a pipe (what a log shipper
// reads), one human-readable line per event when it is a terminal. Every event may carry
// fields; the access log carries one line per request. The only place pino is used.

import { destination, pino } from 'pino';

type Level = 'info' | 'warn' | 'error';
export type Fields = Record<string, unknown>;

// Written asynchronously: a line logged while a write is under way joins the next write, so
// under load the access log costs one write per many requests, not a write per request (it was
// the gateway's largest single cost in a CPU profile at 140 requests/s); when idle, each line is
// written at once. pino flushes what is left on exit and on a fatal signal. A reader that stops
// reading (a stuck pipe) costs at most MAX_BUFFERED bytes; lines past that are dropped.
const MAX_BUFFERED = 16 * 1024 * 1024;
const json = process.stdout.isTTY
  ? null
  : pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } }, destination({ dest: 1, sync: false, maxLength: MAX_BUFFERED }));

function human(level: Level, message: string, fields?: Fields): void {
  const extra = fields
    ? Object.entries(fields)
        .filter(([k]) => k !== 'err')
        .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    : [];
  const line = [new Date().toISOString(), level.toUpperCase(), message, ...extra].join(' ');
  const err = fields?.['err'];
  if (level === 'error') console.error(err instanceof Error ? `${line}\n${err.stack ?? err.message}` : line);
  else console.log(line);
}

function write(level: Level, message: string, fields?: Fields): void {
  if (json) json[level](fields ?? {}, message);
  else human(level, message, fields);
}

export const log = {
  info: (message: string, fields?: Fields) => write('info', message, fields),
  warn: (message: string, fields?: Fields) => write('warn', message, fields),
  /** `err`, when given, is logged with its stack: for the server's log only, never a client. */
  error: (message: string, err?: unknown, fields?: Fields) => write('error', message, err === undefined ? fields : { ...fields, err: err instanceof Error ? err : String(err) }),
  /** One line per request (or per message of a gRPC stream), its protocol named. */
  access: (fields: Fields) => write('info', `${fields['method']} ${fields['path']} ${fields['status']} ${fields['ms']} ms`, { type: 'access', ...fields }),
};
