// An archive's index_to_name.json as this server's labels file: one line per class index. Both
// of TorchServe's forms are read: {"281": ["n02123045", "tabby"]} (an ImageNet synset and its
// name) and {"0": "cat"}. TorchServe answers with the last element of a list or the string
// itself; the lines are written so that this server's answers (shortLabel) read the same.
// Pure: tested without an archive.

import { shortLabel } from '../model-config.js';
import { ArchiveRefused } from './archive-refused.js';

/** Class indices past this are a mistake, not a model: each index below the largest is a line. */
export const MAX_CLASSES = 1_000_000;

const WNID = /^n\d{8}$/;

export interface ArchiveLabels {
  /** The labels file's lines, index i on line i. */
  lines: string[];
  /** Keys that are not class indices: TorchServe never looks them up either. */
  ignoredKeys: string[];
  /** Indices below the largest that the file does not name: their line is the index itself, as an answer without labels reads. */
  missing: number[];
  /** Names an answer reads differently than TorchServe's would: shortLabel makes spaces '_' and keeps what precedes a comma. */
  altered: { index: number; name: string; answer: string }[];
}

/** One class's line: "n02123045 tabby" for a synset and its name, else the name TorchServe answers with. */
function lineOf(index: string, value: unknown): { line: string; name: string } {
  const refuse = (why: string) => new ArchiveRefused(`index_to_name.json: "${index.slice(0, 20)}" ${why}`);
  let name: unknown = value;
  let wnid: string | null = null;
  if (Array.isArray(value)) {
    if (value.length === 0) throw refuse('is an empty list');
    name = value[value.length - 1];
    if (value.length >= 2 && typeof value[0] === 'string' && WNID.test(value[0])) wnid = value[0];
  }
  if (typeof name !== 'string') throw refuse('must be a name or a list ending with one');
  if (/[\r\n]/.test(name)) throw refuse('holds a line break');
  // A blank line is not a label: every later class would move up by one.
  if (name.trim() === '') throw refuse('is blank');
  return { line: wnid ? `${wnid} ${name}` : name, name };
}

export function labelsOf(json: unknown): ArchiveLabels {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ArchiveRefused('index_to_name.json must hold an object of class index to name');
  const named = new Map<number, { line: string; name: string }>();
  const ignoredKeys: string[] = [];
  for (const [key, value] of Object.entries(json)) {
    if (!/^(0|[1-9]\d*)$/.test(key)) {
      ignoredKeys.push(key);
      continue;
    }
    const index = Number(key);
    if (index >= MAX_CLASSES) throw new ArchiveRefused(`index_to_name.json: class index ${key.slice(0, 20)} is past ${MAX_CLASSES - 1}`);
    named.set(index, lineOf(key, value));
  }
  const count = [...named.keys()].reduce((a, b) => Math.max(a, b + 1), 0);
  const lines: string[] = [];
  const missing: number[] = [];
  const altered: ArchiveLabels['altered'] = [];
  for (let i = 0; i < count; i++) {
    const found = named.get(i);
    if (!found) {
      missing.push(i);
      lines.push(String(i));
      continue;
    }
    lines.push(found.line);
    const answer = shortLabel(found.line);
    if (answer !== found.name) altered.push({ index: i, name: found.name, answer });
  }
  return { lines, ignoredKeys, missing, altered };
}
