// TorchServe's text_classifier: each text's logits through a softmax, then map_class_to_label:
// per text one object of every class, in class order, label (or the class index where the model
// has no labels) to probability: {"negative": 0.12, "positive": 0.88}. The gateway tokenises
// (server/text/); the page pads the batch's texts to the longest of them, with the attention
// mask 0 over the padding. Pure but for the tensors: tested without a browser.

import type * as Ort from 'onnxruntime-web';
import type { OrtModule } from '../ort-loader.js';
import type { TextSpec } from '../protocol.js';
import { softmaxInto } from '../top-k.js';
import type { ItemMeta, Outputs, PageHandler } from './page-handler.js';
import { decodeTokenItem, encodeTokenItem, type TokenItem } from './token-item.js';

/** int64 [rows, length] tensors' data for the batch's items, the rows past them padding. */
export interface TokenBatch {
  length: number;
  ids: BigInt64Array;
  mask: BigInt64Array;
  typeIds: BigInt64Array;
}

/**
 * The items' tokens padded to the longest item with `padId` (mask 0, type 0). Padding rows (past
 * the items, up to `rows`) repeat the first item: their answers are dropped, and a row the mask
 * hides entirely could give a model NaN where it gives a real text a number.
 */
export function tokenBatch(items: readonly TokenItem[], rows: number, padId: number): TokenBatch {
  if (items.length === 0 || rows < items.length) throw new RangeError(`${items.length} texts cannot run as a batch of ${rows}`);
  const length = Math.max(...items.map((t) => t.ids.length));
  const ids = new BigInt64Array(rows * length).fill(BigInt(padId));
  const mask = new BigInt64Array(rows * length);
  const typeIds = new BigInt64Array(rows * length);
  for (let r = 0; r < rows; r++) {
    const item = items[r] ?? items[0]!;
    for (let i = 0; i < item.ids.length; i++) {
      ids[r * length + i] = BigInt(item.ids[i]!);
      mask[r * length + i] = 1n;
      typeIds[r * length + i] = BigInt(item.typeIds[i]!);
    }
  }
  return { length, ids, mask, typeIds };
}

/**
 * One text's answer as TorchServe writes it: every class in class order. Probabilities are
 * float32, as TorchServe's torch softmax gives them, so the numbers read the same. Written by
 * hand: a JS object would put integer-like keys (class indices, without labels) in numeric order.
 */
export function labelledProbabilities(logits: ArrayLike<number>, labels: readonly string[], isLogits: boolean): string {
  const p = new Float64Array(logits.length);
  if (isLogits) softmaxInto(logits, p);
  else p.set(Array.from(logits, Number));
  const members = Array.from(p, (v, c) => `${JSON.stringify(labels[c] ?? String(c))}:${JSON.stringify(Math.fround(v))}`);
  return `{${members.join(',')}}`;
}

export class TextClassifier implements PageHandler {
  constructor(
    private readonly ort: OrtModule,
    private readonly inputName: string,
    private readonly outputName: string,
    private readonly output: 'logits' | 'probabilities',
    private readonly spec: TextSpec,
    private readonly labels: readonly string[],
  ) {}

  inputs(items: readonly Uint8Array[], ranBatch: number): Record<string, Ort.Tensor> {
    const batch = tokenBatch(items.map(decodeTokenItem), ranBatch, this.spec.padId);
    const dims = [ranBatch, batch.length];
    const feeds: Record<string, Ort.Tensor> = { [this.inputName]: new this.ort.Tensor('int64', batch.ids, dims) };
    if (this.spec.attentionMask) feeds[this.spec.attentionMask] = new this.ort.Tensor('int64', batch.mask, dims);
    if (this.spec.tokenTypeIds) feeds[this.spec.tokenTypeIds] = new this.ort.Tensor('int64', batch.typeIds, dims);
    return feeds;
  }

  answers(outputs: Outputs, _meta: ItemMeta, count: number): string[] {
    const out = outputs[this.outputName];
    if (!out) throw new Error(`the model has no output named "${this.outputName}"`);
    const classes = out.dims.at(-1) ?? 0;
    if (out.dims.length !== 2 || classes < 1 || out.data.length < count * classes) throw new Error(`output "${this.outputName}" is [${out.dims.join(', ')}]; a text classifier's is [batch, classes]`);
    const data = out.data as ArrayLike<number>;
    const row = (i: number) => Array.from({ length: classes }, (_, c) => Number(data[i * classes + c]));
    return Array.from({ length: count }, (_, i) => labelledProbabilities(row(i), this.labels, this.output === 'logits'));
  }

  /** The probe text the gateway tokenised, as an item. */
  probeItem(): Uint8Array {
    return encodeTokenItem(this.spec.probe.ids, this.spec.probe.typeIds);
  }
}
