// Which renderer process holds a page, and how much memory it uses: what TorchServe's describe
// answer gives per worker (pid, memoryUsage). The DevTools protocol names neither, so the
// renderers under the browser are listed from /proc before and after a page opens, one page
// opening at a time: the one that appeared is the page's.

import { descendantsAndSelf, readOr } from '../ops/process-tree.js';

/** The renderer processes under `browserPid` (Chromium's zygote forks them, so any depth). */
export function rendererPids(browserPid: number): Set<number> {
  return new Set(descendantsAndSelf(browserPid).filter((pid) => /--type=renderer/.test(readOr(`/proc/${pid}/cmdline`) ?? '')));
}

let opening: Promise<unknown> = Promise.resolve();

/**
 * Runs `open` (which opens a page and loads it) with no other page opening meanwhile, and
 * answers the renderer that appeared under the browser, or null where not exactly one did (no
 * /proc, or a renderer shared with another page).
 */
export function withNewRenderer<T>(browserPid: number | undefined, open: () => Promise<T>): Promise<{ value: T; pid: number | null }> {
  const run = async () => {
    const before = browserPid === undefined ? null : rendererPids(browserPid);
    const value = await open();
    if (!before || browserPid === undefined) return { value, pid: null };
    const added = [...rendererPids(browserPid)].filter((p) => !before.has(p));
    return { value, pid: added.length === 1 ? added[0]! : null };
  };
  const result = opening.then(run, run);
  opening = result.catch(() => undefined);
  return result;
}

/** A process's proportional set size (its share of shared pages), in bytes; null once it is gone. */
export function processMemory(pid: number): number | null {
  const rollup = readOr(`/proc/${pid}/smaps_rollup`);
  const kb = rollup ? /^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] : /^VmRSS:\s+(\d+) kB/m.exec(readOr(`/proc/${pid}/status`) ?? '')?.[1];
  return kb === undefined ? null : Number(kb) * 1024;
}
