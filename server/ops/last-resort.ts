// The process-level last line of defence. Every stream and promise on the request path has its
// own error handling; this catches what a bug lets through, so that one bad request cannot stop
// every model. Node warns that state after an uncaught exception may be inconsistent: a few are
// logged and survived, but a burst means something is broken for good, and the server stops
// cleanly so that its supervisor starts a fresh one.

import { log } from './log.js';

export interface LastResortOptions {
  /** Called once when faults come faster than `maxFaults` per `windowMs`. */
  giveUp: (reason: string) => void;
  maxFaults?: number;
  windowMs?: number;
}

export function installLastResort({ giveUp, maxFaults = 10, windowMs = 60_000 }: LastResortOptions): void {
  const recent: number[] = [];
  let gaveUp = false;
  const fault = (kind: string, err: unknown) => {
    const now = Date.now();
    recent.push(now);
    while (recent.length > 0 && recent[0]! < now - windowMs) recent.shift();
    log.error(`${kind}; the server keeps serving (${recent.length} in the last ${windowMs / 1000} s)`, err, { event: 'uncaught_fault' });
    if (recent.length > maxFaults && !gaveUp) {
      gaveUp = true;
      giveUp(`${recent.length} uncaught faults in ${windowMs / 1000} s`);
    }
  };
  process.on('uncaughtException', (err) => fault('uncaught exception', err));
  process.on('unhandledRejection', (reason) => fault('unhandled rejection', reason));
}
