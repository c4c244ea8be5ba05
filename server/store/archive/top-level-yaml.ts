// The top-level `key: value` scalars of a YAML file, and nothing more: what this server reads of
// TorchServe's model-config.yaml (batchSize, maxBatchDelay, responseTimeout, minWorkers) sits at
// the top level as plain numbers. Nested mappings (`handler:`), lists, flow collections, block
// scalars, anchors and tags are skipped, their keys still listed as present. Not a YAML parser:
// the project has none among its dependencies, and these keys need none. Pure.

export type Scalar = string | number | boolean | null;

/** A key whose value is not a plain scalar (a mapping, a list, a block): present, but unread. */
export const NESTED = Symbol('nested');

const KEY_LINE = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"{}[\],&*!|>%@`-][^:#]*?)\s*:(?:\s+(.*))?$/;

function unquoteKey(key: string): string {
  if (key.startsWith('"')) return key.slice(1, -1).replace(/\\(.)/g, '$1');
  if (key.startsWith("'")) return key.slice(1, -1).replaceAll("''", "'");
  return key;
}

/** A plain or quoted scalar, as YAML 1.2's core schema reads it; NESTED for anything else. */
export function scalarOf(raw: string): Scalar | typeof NESTED {
  const text = raw.trim();
  if (text.startsWith('"')) {
    const end = text.indexOf('"', 1);
    return end > 0 ? text.slice(1, end) : NESTED;
  }
  if (text.startsWith("'")) {
    const m = /^'((?:[^']|'')*)'/.exec(text);
    return m ? m[1]!.replaceAll("''", "'") : NESTED;
  }
  // A value that is only a comment is empty: the mapping, if any, follows on indented lines.
  const plain = text.startsWith('#') ? '' : text.replace(/\s+#.*$/, '');
  if (plain === '' || /^[[{|>&*!]/.test(plain)) return NESTED;
  if (/^(null|Null|NULL|~)$/.test(plain)) return null;
  if (/^(true|True|TRUE)$/.test(plain)) return true;
  if (/^(false|False|FALSE)$/.test(plain)) return false;
  if (/^[-+]?\d+$/.test(plain)) return Number(plain);
  if (/^[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$/.test(plain)) return Number(plain);
  return plain;
}

export function topLevelScalars(text: string): Map<string, Scalar | typeof NESTED> {
  const found = new Map<string, Scalar | typeof NESTED>();
  for (const line of text.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    // Indented lines belong to the key above; '-' starts a list item; '#' a comment; '%' a directive.
    if (line === '' || /^[\s#%-]/.test(line) || line.startsWith('...')) continue;
    const m = KEY_LINE.exec(line);
    if (!m) continue;
    found.set(unquoteKey(m[1]!), m[2] === undefined ? NESTED : scalarOf(m[2]));
  }
  return found;
}
