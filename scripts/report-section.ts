// RELIABILITY.md is written by several scripts, each owning its own sections: one replaces the
// sections it writes and leaves the others' alone.

import { readFileSync, writeFileSync } from 'node:fs';

/** Replaces the `## ` section whose heading starts with `prefix` (up to the next `## `), or appends `section`. */
export function writeSection(file: string, prefix: string, section: string, title = '# Reliability'): void {
  let text = `${title}\n`;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    // Not written yet.
  }
  const start = text.startsWith(prefix) ? 0 : text.indexOf(`\n${prefix}`) + 1;
  if (start <= 0 && !text.startsWith(prefix)) text = `${text.trimEnd()}\n\n${section}`;
  else {
    const next = text.indexOf('\n## ', start + prefix.length);
    text = `${text.slice(0, start)}${section.trimEnd()}\n${next < 0 ? '' : `\n${text.slice(next + 1)}`}`;
  }
  writeFileSync(file, `${text.trimEnd()}\n`);
}
