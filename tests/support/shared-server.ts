// One real server for the suites of one test file. A server start loads each model in a fresh
// Chromium page, and those loads were most of what the integration files cost the machine: the
// suites whose server-wide settings agree take their server from here, started once, when the
// first of them asks, and closed after the file's last test.

import type { RunningServer } from '../../server/server.js';

/** Where a suite gets its server; it never closes it. */
export type ServerSource = () => Promise<RunningServer>;

export interface SharedServer {
  get: ServerSource;
  close(): Promise<void>;
}

export function startOnce(start: () => Promise<RunningServer>): SharedServer {
  let started: Promise<RunningServer> | null = null;
  return {
    get: () => (started ??= start()),
    async close() {
      if (started) await (await started.catch(() => null))?.close();
    },
  };
}
