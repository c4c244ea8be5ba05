// A text classifier's tokenizer: Hugging Face's own tokenizers (@huggingface/tokenizers, pure
// JavaScript) reading the model's tokenizer.json, with the truncation that library leaves out:
// the text's tokens cut to max_length less the special tokens, which are then added, as
// `tokenizer(text, truncation=True, max_length=n)` does in Python. Pure: tested without a server.
//
// It runs on the event loop. A text is refused past its byte bound (model-config.ts) before it
// gets here, so one costs less than the round trip to a worker thread would, and a worker would
// need its own copy of every model's tokenizer.

import { Tokenizer } from '@huggingface/tokenizers';
import { isJsonObject } from '../ops/json-object.js';

/** One text's tokens: what the page's text classifier is sent (browser-runtime/handlers/token-item.ts). */
export interface Tokens {
  ids: number[];
  typeIds: number[];
}

/** Read by the probe at load: a plain sentence that every vocabulary splits into a few tokens. */
export const PROBE_TEXT = 'The quick brown fox jumps over the lazy dog.';

export class TextTokenizer {
  private readonly tokenizer: Tokenizer;
  /** Tokens the post-processor adds to one text ([CLS] and [SEP] for BERT). */
  private readonly specials: number;
  /** The padding token's id: tokenizer.json's padding, else its [PAD] or <pad> token, else 0. */
  readonly padId: number;

  /** `json`: tokenizer.json; `config`: tokenizer_config.json, where the model has one. Throws what is wrong with them. */
  constructor(
    json: unknown,
    config: unknown,
    readonly maxLength: number,
  ) {
    if (!isJsonObject(json) || !isJsonObject(json['model'])) throw new Error('tokenizer.json must hold an object with a "model"');
    // The library reads these keys unchecked; a tokenizer.json without them means none.
    const full = { normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, added_tokens: [], ...json };
    this.tokenizer = new Tokenizer(full, isJsonObject(config) ? config : {});
    this.specials = this.withSpecials([]).ids.length;
    if (this.specials >= maxLength) throw new Error(`max_length ${maxLength} leaves no room for a text beside the ${this.specials} special tokens`);
    const padding = isJsonObject(json['padding']) ? json['padding']['pad_id'] : undefined;
    this.padId = Number.isInteger(padding) ? (padding as number) : (this.tokenizer.token_to_id('[PAD]') ?? this.tokenizer.token_to_id('<pad>') ?? 0);
  }

  /** The text's tokens, its own cut to fit max_length with the special tokens. */
  encode(text: string): Tokens {
    const own = this.tokenizer.tokenize(text);
    return this.withSpecials(own.length + this.specials > this.maxLength ? own.slice(0, this.maxLength - this.specials) : own);
  }

  private withSpecials(own: string[]): Tokens {
    const post = this.tokenizer.post_processor;
    const processed: { tokens: string[]; token_type_ids?: number[] } = post ? post(own, null, true) : { tokens: own };
    const tokens = processed.tokens;
    const ids = tokens.map((t) => {
      const id = this.tokenizer.token_to_id(t);
      if (id === undefined) throw new Error(`the tokenizer made the token ${JSON.stringify(t)}, which its vocabulary does not have`);
      return id;
    });
    const typeIds = processed.token_type_ids?.length === ids.length ? processed.token_type_ids : new Array<number>(ids.length).fill(0);
    return { ids, typeIds };
  }
}
