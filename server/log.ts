// One line per event, timestamped, to stdout (errors to stderr): what a process supervisor expects.

type Level = 'INFO' | 'WARN' | 'ERROR';

function write(level: Level, message: string, err?: unknown): void {
  const line = `${new Date().toISOString()} ${level} ${message}`;
  if (level === 'ERROR') {
    console.error(err instanceof Error ? `${line}\n${err.stack ?? err.message}` : err === undefined ? line : `${line} ${String(err)}`);
  } else {
    console.log(line);
  }
}

export const log = {
  info: (message: string) => write('INFO', message),
  warn: (message: string) => write('WARN', message),
  error: (message: string, err?: unknown) => write('ERROR', message, err),
};
