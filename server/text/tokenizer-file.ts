// A text classifier's tokenizer files in its model folder: config.json's "tokenizer" (a
// tokenizer.json) and, where the folder has one, tokenizer_config.json beside it. Read from
// their real paths inside the store, as every part of a model is.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ModelConfig } from '../store/model-config.js';
import { isMissing, OutsideStoreError, realPathInside } from '../store/store-paths.js';
import { TextTokenizer } from './text-tokenizer.js';

export class TokenizerFileError extends Error {}

async function readInFolder(realRoot: string, dir: string, name: string, file: string): Promise<string> {
  const full = path.resolve(dir, file);
  if (path.dirname(full) !== dir) throw new TokenizerFileError(`${name}: "tokenizer" must name a file in the model's folder`);
  const real = await realPathInside(realRoot, full, `${name}/${file}`);
  return readFile(real, 'utf8');
}

/** null for models that are not text classifiers. */
export async function readTokenizer(realRoot: string, dir: string, name: string, config: ModelConfig): Promise<TextTokenizer | null> {
  if (!config.tokenizer || !config.text) return null;
  const fail =
    (what: string) =>
    (e: NodeJS.ErrnoException): never => {
      if (e instanceof OutsideStoreError || e instanceof TokenizerFileError) throw e;
      throw new TokenizerFileError(`${name}: cannot read ${what}: ${e.code ?? e.message}`);
    };
  const json = await readInFolder(realRoot, dir, name, config.tokenizer).catch(fail(config.tokenizer));
  const extra = await readInFolder(realRoot, dir, name, 'tokenizer_config.json').catch((e: unknown) => (isMissing(e) ? null : fail('tokenizer_config.json')(e as NodeJS.ErrnoException)));
  try {
    return new TextTokenizer(JSON.parse(json), extra === null ? {} : JSON.parse(extra), config.text.maxLength);
  } catch (e) {
    throw new TokenizerFileError(`${name}: ${config.tokenizer}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
