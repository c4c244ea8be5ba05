// The demo page: wires the controls to the server's Inference API and to a local run of the
// same model in this tab, and shows the two answers side by side: ranked classes as bars,
// boxes and class maps drawn over the image.

import type { AdapterInfo, BackendPreference, DemoModel, ModelRuntimeInfo } from '../browser-runtime/protocol.js';
import { inputPlacement } from '../browser-runtime/resize-crop.js';
import { displayLabel, type Ranked } from './answers.js';
import { showComparison } from './comparison.js';
import { type Scene, showClassMap, showDetections } from './drawn-answer.js';
import { LocalRunner } from './local-runner.js';
import { type AnswerKind, answerKind, type ModelAnswer } from './model-answer.js';
import { describeError, listModels, predict, ServerError, setInferenceKey } from './server-client.js';

const SHOWN = 5;
// The server's largest topk; it answers no more classes than the model has.
const ALL_CLASSES = 1000;

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el as T;
}

const ui = {
  model: byId<HTMLSelectElement>('model'),
  modelInfo: byId('model-info'),
  keyField: byId('key-field'),
  key: byId<HTMLInputElement>('key'),
  keyApply: byId<HTMLButtonElement>('key-apply'),
  drop: byId('drop'),
  file: byId<HTMLInputElement>('file'),
  local: byId<HTMLInputElement>('local'),
  localBackend: byId<HTMLSelectElement>('local-backend'),
  error: byId('error'),
  errorLead: byId('error-lead'),
  errorDetail: byId('error-detail'),
  results: byId('results'),
  status: byId('status'),
  previewFigure: byId('preview-figure'),
  preview: byId<HTMLImageElement>('preview'),
  previewCaption: byId('preview-caption'),
  server: byId('server-answer'),
  localAnswer: byId('local-answer'),
  comparison: byId('comparison'),
  origin: byId('origin'),
  curlModel: byId('curl-model'),
};

let models: DemoModel[] = [];
let image: { blob: Blob; name: string } | null = null;
let previewUrl: string | null = null;
// Bumped by every new classification; an answer for an older one is dropped.
let generation = 0;
const runner = new LocalRunner();

const selectedModel = (): DemoModel | undefined => models[Number(ui.model.value)];

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const percent = (p: number) => `${(p * 100).toFixed(p >= 0.995 || p < 0.0995 ? 2 : 1)}%`;
const ms = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(x < 10 ? 1 : 0)} ms`);
const megabytes = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

function showError(e: unknown): void {
  const { lead, detail } = describeError(e);
  ui.errorLead.textContent = lead;
  ui.errorDetail.textContent = detail;
  ui.error.hidden = false;
  if (e instanceof ServerError && e.status === 401) ui.keyField.hidden = false;
}

function clearError(): void {
  ui.error.hidden = true;
}

function adapterName(a: AdapterInfo): string {
  const name = [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' ') || 'unnamed adapter';
  return a.isFallbackAdapter ? `${name} (software fallback)` : name;
}

/** Where the server runs the model, as a sentence. */
function serverWhere(m: DemoModel): string {
  if (m.status !== 'ready') return `The server's copy is ${m.status}.`;
  const on = m.backend === 'webgpu' ? `WebGPU (${m.adapter ? adapterName(m.adapter) : 'adapter unknown'})` : 'WASM';
  return `The server runs it on ${on}${m.backend === 'wasm' && m.fallbackReason ? `, not WebGPU: ${m.fallbackReason}` : ''}.`;
}

function localWhere(r: ModelRuntimeInfo): string {
  const on = r.backend === 'webgpu' ? `WebGPU on ${r.adapter ? adapterName(r.adapter) : 'an unnamed adapter'}` : `WASM with ${r.wasmThreads} thread${r.wasmThreads === 1 ? '' : 's'}`;
  const why = r.backend === 'wasm' && r.fallbackReason ? `, not WebGPU: ${r.fallbackReason}` : '';
  return `This browser runs it on ${on}${why}.`;
}

function renderBars(list: HTMLOListElement, ranked: readonly Ranked[]): void {
  list.replaceChildren(
    ...ranked.slice(0, SHOWN).map((r) => {
      const item = el('li');
      item.dataset['probability'] = String(r.probability);
      const label = el('span', 'label', displayLabel(r.label));
      label.title = r.label;
      const value = el('span', 'value', percent(r.probability));
      value.title = String(r.probability);
      const bar = el('span', 'bar');
      bar.setAttribute('aria-hidden', 'true');
      const fill = el('span', 'fill');
      fill.style.width = `${Math.max(0.5, r.probability * 100)}%`;
      bar.append(fill);
      item.append(label, value, bar);
      return item;
    }),
  );
}

const STAGE_NAMES: Record<string, string> = {
  read: 'read the upload',
  decode: 'decode, resize, crop',
  queue: 'wait for a worker',
  transfer: 'to the page and back',
  infer: 'normalise, run, rank',
  letterbox: 'letterbox',
  handle: 'normalise, run, answer',
  post: 'format the answer',
  total: 'total on the server',
  load: 'load the model (once)',
  image: 'decode the image',
  resize: 'resize, crop',
  run: 'of which session.run',
  'round trip': 'round trip from this tab',
};

/** Only a classifier's page ranks (the others' pages write the answer); not every model's input is cropped. */
function stageName(stage: string, model: DemoModel): string {
  if (stage === 'infer' && answerKind(model.load.handler?.name) !== 'ranked') return 'normalise, run, answer';
  if (stage === 'decode' && model.fit !== 'crop') return `decode, ${model.fit}`;
  return STAGE_NAMES[stage] ?? stage;
}

function renderTiming(list: HTMLElement, stages: ReadonlyMap<string, number>, whole: number, model: DemoModel): void {
  list.replaceChildren(
    ...[...stages].map(([stage, dur]) => {
      const row = el('div', stage === 'total' || stage === 'round trip' ? 'sum' : undefined);
      const name = el('dt', undefined, stageName(stage, model));
      const value = el('dd', undefined, ms(dur));
      const bar = el('span', 'bar');
      bar.setAttribute('aria-hidden', 'true');
      const fill = el('span', 'fill');
      fill.style.width = `${whole > 0 ? Math.min(100, (dur / whole) * 100) : 0}%`;
      bar.append(fill);
      value.append(bar);
      row.append(name, value);
      return row;
    }),
  );
}

function part(article: HTMLElement) {
  return {
    where: article.querySelector<HTMLElement>('.where')!,
    drawn: { figure: article.querySelector<HTMLElement>('.drawing')!, canvas: article.querySelector<HTMLCanvasElement>('.drawing canvas')!, found: article.querySelector<HTMLUListElement>('.found')! },
    bars: article.querySelector<HTMLOListElement>('.bars')!,
    raw: article.querySelector<HTMLElement>('.raw')!,
    timing: article.querySelector<HTMLElement>('.timing')!,
    error: article.querySelector<HTMLElement>('.local-error'),
  };
}

type Part = ReturnType<typeof part>;

/** One answer in its article: bars for ranked classes, a drawing and its list for boxes and class maps. */
function renderAnswer(p: Part, answer: ModelAnswer, scene: Scene | null): void {
  p.bars.hidden = answer.kind !== 'ranked';
  p.drawn.found.hidden = p.drawn.figure.hidden = answer.kind !== 'detections' && answer.kind !== 'classMap';
  p.raw.hidden = answer.kind !== 'other';
  if (answer.kind === 'ranked') renderBars(p.bars, answer.ranked);
  else if (answer.kind === 'other') p.raw.textContent = answer.text;
  else if (!scene) throw new Error('no image to draw the answer on');
  else if (answer.kind === 'detections') showDetections(p.drawn, answer.detections, scene);
  else showClassMap(p.drawn, answer.map, scene);
}

function clearAnswer(p: Part): void {
  p.bars.replaceChildren();
  p.drawn.found.replaceChildren();
  p.drawn.figure.hidden = p.drawn.found.hidden = p.raw.hidden = true;
  p.timing.replaceChildren();
  p.where.textContent = '';
}

// What the status line says while a kind of model runs, once it has, and when it has not.
const WORDS: Record<AnswerKind, { running: string; done: string; failed: string }> = {
  ranked: { running: 'Classifying', done: 'Classified', failed: 'was not classified' },
  detections: { running: 'Finding objects in', done: 'Found objects in', failed: 'got no boxes' },
  classMap: { running: 'Segmenting', done: 'Segmented', failed: 'was not segmented' },
  other: { running: 'Running the model on', done: 'Ran the model on', failed: 'got no answer' },
};

/** The image decoded once for drawing on, placed as the gateway places the model's input. */
async function sceneFor(model: DemoModel, blob: Blob): Promise<Scene> {
  const size = model.load.normalisation.size;
  const labels = model.load.handler?.labels ?? [];
  // As sharp reads it for the server: EXIF orientation applied.
  const image = await createImageBitmap(blob, { imageOrientation: 'from-image' }).catch(() => null);
  const placement = inputPlacement(image?.width ?? 1, image?.height ?? 1, model.fit, size, model.resize, model.align);
  return { image, labels, placement, size };
}

function describeModel(): void {
  const m = selectedModel();
  if (!m) return;
  ui.modelInfo.textContent = `${serverWhere(m)} Model file ${megabytes(m.modelBytes)}.`;
  ui.curlModel.textContent = m.isDefault ? m.modelName : `${m.modelName}/${m.modelVersion}`;
}

// While a model is still loading on the server, the list is asked for again this often.
const REFRESH_MS = 2000;

/** `refresh`: a later look while models load; it leaves the error box and the focus alone. */
async function loadModels(refresh = false): Promise<void> {
  const previous = selectedModel();
  if (!refresh) ui.model.disabled = true;
  try {
    models = await listModels();
  } catch (e) {
    if (!refresh) ui.model.replaceChildren(el('option', undefined, 'No model list'));
    showError(e);
    return;
  }
  if (!refresh) clearError();
  ui.keyField.hidden = true;
  if (models.length === 0) {
    ui.model.replaceChildren(el('option', undefined, 'The server has no model'));
    return;
  }
  if (models.some((m) => m.status === 'loading')) setTimeout(() => void loadModels(true), REFRESH_MS);
  ui.model.replaceChildren(
    ...models.map((m, i) => {
      const option = el('option', undefined, `${m.modelName} ${m.modelVersion}${m.isDefault ? '' : ' (not the default version)'}${m.status === 'ready' ? '' : `: ${m.status}`}`);
      option.value = String(i);
      return option;
    }),
  );
  const keep = previous ? models.findIndex((m) => m.modelName === previous.modelName && m.modelVersion === previous.modelVersion) : -1;
  ui.model.value = String(
    keep >= 0
      ? keep
      : Math.max(
          0,
          models.findIndex((m) => m.isDefault),
        ),
  );
  ui.model.disabled = false;
  describeModel();
}

function setImage(blob: Blob, name: string): void {
  image = { blob, name };
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = URL.createObjectURL(blob);
  ui.preview.src = previewUrl;
  ui.preview.alt = `The image being classified: ${name}`;
  ui.previewCaption.textContent = `${name}, ${(blob.size / 1024).toFixed(0)} KB`;
  ui.previewFigure.hidden = false;
  void classify();
}

function setStatus(text: string, busy: boolean): void {
  ui.status.textContent = text;
  ui.results.setAttribute('aria-busy', String(busy));
}

async function classify(): Promise<void> {
  const model = selectedModel();
  if (!image || !model) {
    if (!model) setStatus('No model to run: see the message on the left.', false);
    return;
  }
  const mine = ++generation;
  const current = image;
  const wantLocal = ui.local.checked;
  const backend = ui.localBackend.value as BackendPreference;
  clearError();
  const server = part(ui.server);
  const local = part(ui.localAnswer);
  const kind = answerKind(model.load.handler?.name);
  const words = WORDS[kind];
  ui.comparison.hidden = true;
  ui.localAnswer.hidden = !wantLocal;
  local.error!.hidden = true;
  // A drawn answer shows the image itself: the preview would show it a third time.
  ui.previewFigure.hidden = kind === 'detections' || kind === 'classMap';
  setStatus(`${words.running} ${current.name} on the server…`, true);
  const scene = kind === 'detections' || kind === 'classMap' ? await sceneFor(model, current.blob) : null;
  if (mine !== generation) return;

  let serverAnswer: ModelAnswer | null = null;
  try {
    const answer = await predict(model, kind, current.blob, wantLocal ? ALL_CLASSES : SHOWN);
    if (mine !== generation) return;
    serverAnswer = answer.answer;
    server.where.textContent = `${serverWhere(model)}${answer.batch ? ` This image ran in a batch of ${answer.batch}.` : ''}`;
    // Shown first: a drawing is sized to the room it has.
    ui.server.hidden = false;
    renderAnswer(server, answer.answer, scene);
    const stages = new Map(answer.stages);
    stages.set('round trip', answer.roundTripMs);
    renderTiming(server.timing, stages, answer.roundTripMs, model);
  } catch (e) {
    if (mine !== generation) return;
    ui.server.hidden = true;
    showError(e);
  }

  if (wantLocal) {
    setStatus(`Running ${model.modelName} in this browser…`, true);
    try {
      const answer = await runner.run(model, backend, current.blob);
      if (mine !== generation) return;
      local.where.textContent = `${localWhere(answer.runtime)}${answer.loadedNow ? ` Loaded in ${ms(answer.runtime.loadMs)}.` : ''}`;
      renderAnswer(local, answer.answer, scene);
      // 'run' is part of 'infer' or 'handle'; everything else adds up to the whole.
      const whole = [...answer.stages].filter(([s]) => s !== 'run').reduce((a, [, d]) => a + d, 0);
      renderTiming(local.timing, answer.stages, whole, model);
      if (serverAnswer) showComparison(ui.comparison, serverAnswer, answer.answer);
    } catch (e) {
      if (mine !== generation) return;
      clearAnswer(local);
      local.error!.textContent = `The run in this browser failed: ${e instanceof Error ? e.message : String(e)}`;
      local.error!.hidden = false;
    }
  }
  if (mine === generation) setStatus(serverAnswer ? `${words.done} ${current.name}.` : `${current.name} ${words.failed}.`, false);
}

function firstImage(files: FileList | null | undefined): File | undefined {
  return files ? ([...files].find((f) => f.type.startsWith('image/')) ?? files[0]) : undefined;
}

function wire(): void {
  ui.origin.textContent = location.origin;
  ui.model.addEventListener('change', () => {
    describeModel();
    void classify();
  });
  ui.file.addEventListener('change', () => {
    const f = ui.file.files?.[0];
    if (f) setImage(f, f.name);
  });
  ui.drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    ui.drop.classList.add('over');
  });
  ui.drop.addEventListener('dragleave', () => ui.drop.classList.remove('over'));
  ui.drop.addEventListener('drop', (e) => {
    e.preventDefault();
    ui.drop.classList.remove('over');
    const f = firstImage(e.dataTransfer?.files);
    if (f) setImage(f, f.name || 'dropped image');
  });
  document.addEventListener('paste', (e) => {
    const f = firstImage(e.clipboardData?.files);
    if (!f) return;
    e.preventDefault();
    setImage(f, f.name && f.name !== 'image.png' ? f.name : 'pasted image');
  });
  for (const button of document.querySelectorAll<HTMLButtonElement>('[data-sample]')) {
    button.addEventListener('click', async () => {
      const name = button.dataset['sample']!;
      try {
        const res = await fetch(`/demo/samples/${encodeURIComponent(name)}`);
        if (!res.ok) throw new ServerError(res.status, 'HttpError', `the sample ${name} answered ${res.status}`);
        setImage(await res.blob(), name);
      } catch (e) {
        showError(e);
      }
    });
  }
  ui.local.addEventListener('change', () => void classify());
  ui.localBackend.addEventListener('change', () => {
    if (ui.local.checked) void classify();
  });
  ui.keyApply.addEventListener('click', () => {
    setInferenceKey(ui.key.value);
    void loadModels();
  });
  ui.key.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') ui.keyApply.click();
  });
}

wire();
void loadModels();
document.documentElement.dataset['demo'] = 'ready';
