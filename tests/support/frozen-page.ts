// A worker page held still: its renderer process stopped (SIGSTOP), so that nothing sent to it is
// answered until the test thaws it. A test that needs inference to be slow (a full queue, a run
// past its deadline, requests in flight at a signal) makes it as slow as it likes this way,
// instead of racing a timer against how fast the machine happens to be.

import { call } from './server-harness.js';

export interface FrozenPage {
  /** The renderer process, as the Management API's describe answer names it. */
  pid: number;
  /** Lets the page run again; safe to call twice, and after the process has gone. */
  thaw(): void;
}

/** Stops the renderer of `model`'s first worker, read from the Management API at `managementUrl`. */
export async function freezePage(managementUrl: string, model: string, headers: Record<string, string> = {}): Promise<FrozenPage> {
  const described = await call(`${managementUrl}/models/${encodeURIComponent(model)}`, { headers });
  const pid: unknown = described.body?.[0]?.workers?.[0]?.pid;
  if (typeof pid !== 'number') throw new Error(`no renderer pid for ${model}'s worker: ${JSON.stringify(described.body).slice(0, 300)}`);
  process.kill(pid, 'SIGSTOP');
  let frozen = true;
  return {
    pid,
    thaw() {
      if (!frozen) return;
      frozen = false;
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // Gone already (the page was closed, or the browser killed): nothing to thaw.
      }
    },
  };
}
