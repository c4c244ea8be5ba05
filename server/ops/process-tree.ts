// A process and everything under it, from /proc. Chromium runs detached in its own session, so a
// process-group or session lookup would miss it; the parent chain does not.

import { readdirSync, readFileSync } from 'node:fs';

/** A /proc file's text, or null: processes come and go between readdir and read. */
export function readOr(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/**
 * The fields of /proc/<pid>/stat from field 3 (state) on, so proc(5)'s field n is at index n - 3;
 * null once the process is gone.
 */
export function statFields(pid: number | string): string[] | null {
  const stat = readOr(`/proc/${pid}/stat`);
  if (!stat) return null;
  // The command name is in parentheses and may itself hold spaces or ')': split after the last one.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** pid -> ppid for every process visible now. */
function parentMap(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(entry);
    if (fields) parents.set(Number(entry), Number(fields[1]));
  }
  return parents;
}

export function descendantsAndSelf(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parentMap()) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}
