// Logs: JSON lines through pino when the output is a file or a pipe (what a log shipper
// reads), one human-readable line per event when it is a terminal. Every event may carry
// fields; the access log carries one line per request. The only place pino is used.

import { pino } from 'pino';

type Level = 'info' | 'warn' | 'error';
export type Fields = Record<string, unknown>;

const json = process.stdout.isTTY ? null : pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } });

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
