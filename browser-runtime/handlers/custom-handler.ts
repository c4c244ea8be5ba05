// A model's own handler.js (handler-api.ts is its API), imported into the model's page and run
// there: what it may reach is what the page may (docs/handlers.md, "The sandbox"). This file
// turns the page's items into what the module is given, checks what it gives back, and says
// whose fault a failure is: the module's own (HandlerError: 500 with its message, the page
// stays) or the page's.

import type * as Ort from 'onnxruntime-web';
import type { Handler, HandlerContext, ImageItem, TensorLike } from '../handler-api.js';
import type { OrtModule } from '../ort-loader.js';
import type { CustomSpec, LoadRequest } from '../protocol.js';
import { HandlerError, type ItemMeta, metaOf, type Outputs, type PageHandler, type SessionFacts } from './page-handler.js';

/** Longest message of a handler's error that is passed on to the client. */
const MESSAGE_LIMIT = 2000;

/**
 * A handler's error as its client is told it: its message alone (never a stack), without the
 * page's address (it holds the runtime listener's secret), cut to MESSAGE_LIMIT.
 */
export function handlerMessage(e: unknown, pageBase: string): string {
  const raw = e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : String(e);
  const text = pageBase ? raw.replaceAll(pageBase, '') : raw;
  return text.length > MESSAGE_LIMIT ? `${text.slice(0, MESSAGE_LIMIT)}…` : text;
}

/** The image items of a batch: pixels of the model's input side, and the placement meta the gateway sent. */
export function imageItems(items: readonly Uint8Array[], meta: ItemMeta, side: number): ImageItem[] {
  return items.map((pixels, i) => {
    const [width, height, scaleX, scaleY, left, top] = Array.from(metaOf(meta, i)) as [number, number, number, number, number, number];
    return { pixels, width: side, height: side, placement: { width, height, scaleX, scaleY, left, top } };
  });
}

/** Checks `preprocess`'s answer against the session's input names; the tensors as onnxruntime takes them. */
export function toFeeds(ort: Pick<OrtModule, 'Tensor'>, given: unknown, inputNames: readonly string[]): Record<string, Ort.Tensor> {
  if (typeof given !== 'object' || given === null) throw new HandlerError(`preprocess must return an object of tensors by input name; it returned ${given === null ? 'null' : typeof given}`);
  const names = Object.keys(given);
  const missing = inputNames.filter((n) => !names.includes(n));
  const extra = names.filter((n) => !inputNames.includes(n));
  if (missing.length || extra.length) {
    throw new HandlerError(`preprocess returned inputs ${JSON.stringify(names)}; the model's are ${JSON.stringify(inputNames)}`);
  }
  const feeds: Record<string, Ort.Tensor> = {};
  for (const name of names) {
    const t = (given as Record<string, Partial<TensorLike> | undefined>)[name];
    try {
      if (!t || typeof t.type !== 'string' || !ArrayBuffer.isView(t.data) || !Array.isArray(t.dims)) throw new Error('it is not a { type, data, dims } tensor');
      feeds[name] = new ort.Tensor(t.type, t.data as Ort.Tensor['data'], t.dims);
    } catch (e) {
      throw new HandlerError(`input "${name}" from preprocess: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return feeds;
}

/** Each answer as JSON text: `count` of them, each one JSON can write. */
export function answerTexts(given: unknown, count: number): string[] {
  if (!Array.isArray(given)) throw new HandlerError(`postprocess must return an array of answers, one per item; it returned ${typeof given}`);
  if (given.length < count) throw new HandlerError(`postprocess returned ${given.length} answers for ${count} items`);
  return given.slice(0, count).map((answer, i) => {
    let text: string | undefined;
    try {
      text = JSON.stringify(answer);
    } catch (e) {
      throw new HandlerError(`answer ${i} cannot be written as JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (text === undefined) throw new HandlerError(`answer ${i} cannot be written as JSON (${typeof answer})`);
    return text;
  });
}

export class CustomHandler implements PageHandler {
  private context: HandlerContext;

  private constructor(
    private readonly ort: OrtModule,
    private readonly module: Handler,
    private readonly spec: CustomSpec,
    private readonly side: number,
    base: Omit<HandlerContext, 'inputNames' | 'outputNames' | 'batchSize'>,
    private readonly pageBase: string,
  ) {
    this.context = { ...base, inputNames: [], outputNames: [], batchSize: base.maxBatchSize };
  }

  /** Imports the model's module; what it exports is checked here, so a bad module fails the load. */
  static async load(ort: OrtModule, req: LoadRequest, spec: CustomSpec, labels: readonly string[]): Promise<CustomHandler> {
    const pageBase = new URL('.', document.baseURI).href;
    let module: Partial<Handler>;
    try {
      module = (await import(new URL(spec.url, document.baseURI).href)) as Partial<Handler>;
    } catch (e) {
      throw new HandlerError(`handler.js does not load: ${handlerMessage(e, pageBase)}`);
    }
    for (const name of ['preprocess', 'postprocess'] as const) if (typeof module[name] !== 'function') throw new HandlerError(`handler.js must export a function "${name}"`);
    if (module.initialize !== undefined && typeof module.initialize !== 'function') throw new HandlerError('handler.js exports "initialize", but not as a function');
    const { example } = module;
    if (example !== undefined && typeof example !== 'string' && !(example instanceof Uint8Array)) throw new HandlerError('handler.js exports "example", but not as a string or a Uint8Array');
    if (example !== undefined && spec.input !== 'bytes') throw new HandlerError('handler.js exports "example", which only a handler that takes the request\'s bytes ("handler_input": "bytes") uses');
    const base = { model: req.model, version: req.version, labels: Object.freeze([...labels]), maxBatchSize: Math.max(1, req.maxBatch) };
    return new CustomHandler(ort, module as Handler, spec, req.normalisation.size, base, pageBase);
  }

  /** The module's example body, for the load's probe; none: the load runs an image (load-probe.ts). */
  probeItem(): Uint8Array | undefined {
    const { example } = this.module;
    return typeof example === 'string' ? new TextEncoder().encode(example) : example;
  }

  async initialize(session: SessionFacts): Promise<void> {
    this.context = Object.freeze({ ...this.context, inputNames: Object.freeze([...session.inputNames]), outputNames: Object.freeze([...session.outputNames]) });
    await this.guarded('initialize', () => this.module.initialize?.(this.context));
  }

  async inputs(items: readonly Uint8Array[], ranBatch: number, meta: ItemMeta): Promise<Record<string, Ort.Tensor>> {
    const given = this.spec.input === 'image' ? imageItems(items, meta, this.side) : items.map((bytes) => ({ bytes }));
    const tensors = await this.guarded('preprocess', () => this.module.preprocess(given, { ...this.context, batchSize: ranBatch }));
    return toFeeds(this.ort, tensors, this.context.inputNames);
  }

  async answers(outputs: Outputs, _meta: ItemMeta, count: number, ranBatch: number): Promise<string[]> {
    const given = await this.guarded('postprocess', () => this.module.postprocess(outputs as Parameters<Handler['postprocess']>[0], { ...this.context, batchSize: ranBatch, items: count }));
    return answerTexts(given, count);
  }

  /** Runs the module's `what`; whatever it throws is its own fault. */
  private async guarded<T>(what: string, run: () => T | Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e) {
      throw new HandlerError(`${what}: ${handlerMessage(e, this.pageBase)}`);
    }
  }
}
