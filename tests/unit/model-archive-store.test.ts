// Model archives in the store, without a browser: unpacked at start and at registration, named
// as TorchServe names them, unpacked once, and refused whole.

import { afterEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiError } from '../../server/errors.js';
import { log } from '../../server/ops/log.js';
import { ModelStore, ModelStoreError } from '../../server/store/model-store.js';
import { marArchive, NULL_ONNX, plainIndexToName, synsetIndexToName } from '../support/mar-archive.js';
import { NULL_MODELS } from '../support/paths.js';

const roots: string[] = [];
afterEach(() => {
  while (roots.length) rmSync(roots.pop()!, { recursive: true, force: true });
  mock.restoreAll();
});

/** A store holding the given files, inside a folder of its own (so that what lies beside the store can be checked too). */
function makeStore(files: Record<string, Buffer>): { base: string; root: string } {
  const base = mkdtempSync(path.join(os.tmpdir(), 'archive-store-'));
  roots.push(base);
  const root = path.join(base, 'store');
  mkdirSync(root);
  for (const [name, bytes] of Object.entries(files)) writeFileSync(path.join(root, name), bytes);
  return { base, root };
}

/** Every path under `dir`, relative to it. */
const tree = (dir: string): string[] => readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
const unpacked = (root: string) => readdirSync(path.join(root, '.unpacked')).sort();

const squeeze = marArchive({ modelName: 'squeezenet1_1', version: '2.0', files: { 'index_to_name.json': JSON.stringify(synsetIndexToName()) } });

describe('model archives in the store', () => {
  it('unpacks a .mar at start into a model folder of its own, names and labels as TorchServe', async () => {
    const { root } = makeStore({ 'squeeze.mar': squeeze });
    const store = await ModelStore.open(root);
    const v = store.resolve('squeezenet1_1');
    assert.equal(v.version, '2.0');
    assert.equal(v.archive, 'squeeze.mar');
    assert.equal(v.labels[281], 'n02123045 tabby');
    assert.equal(v.config.inputName, 'input', 'from the ONNX graph');
    assert.equal(v.config.outputName, 'output');
    assert.equal(v.config.outputFormat, 'torchserve');
    const [folder] = unpacked(root);
    assert.equal(folder, `squeeze.mar-${squeeze.length}-${Math.trunc(statSync(path.join(root, 'squeeze.mar')).mtimeMs)}`);
    assert.deepEqual(tree(path.join(root, '.unpacked', folder!)), ['2.0', '2.0/model.onnx', 'MAR-INF', 'MAR-INF/MANIFEST.json', 'config.json', 'index_to_name.json', 'labels.txt']);
    assert.equal(v.file, path.join(realpathSync(root), '.unpacked', folder!, '2.0', 'model.onnx'));
    assert.equal(JSON.parse(readFileSync(path.join(root, '.unpacked', folder!, 'config.json'), 'utf8')).handler, 'image_classifier');
  });

  it('unpacks an archive once, and afresh when it changes, leaving the old folder to whatever still serves it', async () => {
    const { root } = makeStore({ 'squeeze.mar': squeeze });
    await ModelStore.open(root);
    const [first] = unpacked(root);
    const made = statSync(path.join(root, '.unpacked', first!, 'config.json')).mtimeMs;
    await ModelStore.open(root);
    assert.deepEqual(unpacked(root), [first]);
    assert.equal(statSync(path.join(root, '.unpacked', first!, 'config.json')).mtimeMs, made, 'not written again');
    writeFileSync(path.join(root, 'squeeze.mar'), marArchive({ modelName: 'squeezenet1_1', version: '3.0' }));
    utimesSync(path.join(root, 'squeeze.mar'), new Date(2020, 1, 1), new Date(2020, 1, 1));
    const store = await ModelStore.open(root);
    assert.equal(store.resolve('squeezenet1_1').version, '3.0');
    assert.equal(unpacked(root).length, 2);
  });

  it('names an archive without a modelName after its file at start, and asks for model_name at registration', async () => {
    const nameless = marArchive({ modelName: null, files: { 'index_to_name.json': JSON.stringify(plainIndexToName()) } });
    const { root } = makeStore({ 'my-model.v2.mar': nameless });
    const store = await ModelStore.open(root);
    assert.equal(store.resolve('my_model_v2').labels[281], 'tabby');
    store.unregister('my_model_v2');
    await assert.rejects(store.register('my-model.v2.mar'), (e: unknown) => e instanceof ApiError && e.status === 400 && /names no modelName.*model_name/.test(e.message));
    assert.equal((await store.register('my-model.v2.mar', { as: 'named' }))[0]!.name, 'named');
  });

  it("unpacks the archive's other files beside the model, but none where the model's own files go", async () => {
    const files = { 'tokenizer/vocab.txt': 'a\nb\n', '1.0/model.onnx': 'not this one', 'config.json/x': 'x', 'labels.txt': 'not these', 'index_to_name.json': '{"0": "cat"}' };
    const { root } = makeStore({ 'extras.mar': marArchive({ modelName: 'extras', files }) });
    const v = (await ModelStore.open(root)).resolve('extras');
    assert.deepEqual(v.labels, ['cat']);
    const [folder] = unpacked(root);
    assert.deepEqual(tree(path.join(root, '.unpacked', folder!)), [
      '1.0',
      '1.0/model.onnx',
      'MAR-INF',
      'MAR-INF/MANIFEST.json',
      'config.json',
      'index_to_name.json',
      'labels.txt',
      'tokenizer',
      'tokenizer/vocab.txt',
    ]);
    assert.equal(readFileSync(path.join(root, '.unpacked', folder!, 'tokenizer', 'vocab.txt'), 'utf8'), 'a\nb\n');
    assert.equal(statSync(v.file).size, NULL_ONNX.length);
  });

  it('registers an archive of the store by its file name, once; 404 for anything else', async () => {
    const { root } = makeStore({});
    const store = await ModelStore.open(root);
    writeFileSync(path.join(root, 'squeeze.mar'), squeeze);
    const [v] = await store.register('squeeze.mar');
    assert.equal(v!.key, 'squeezenet1_1/2.0');
    await assert.rejects(store.register('squeeze.mar'), (e: unknown) => e instanceof ApiError && e.status === 409);
    assert.equal((await store.register('squeeze.mar', { as: 'again' }))[0]!.name, 'again');
    assert.equal(unpacked(root).length, 1, 'both from one unpacked folder');
    for (const url of ['missing.mar', 'sub/squeeze.mar', '../squeeze.mar', '/tmp/squeeze.mar']) {
      await assert.rejects(store.register(url), (e: unknown) => e instanceof ApiError && e.status === 404, url);
    }
  });

  it('loads what load_models names: an archive, under another name with name=; a missing or refused one stops the start', async () => {
    const python = marArchive({ modelName: 'py', handler: 'handler.py' });
    const { root } = makeStore({ 'squeeze.mar': squeeze, 'python.mar': python });
    const store = await ModelStore.open(root, ['tabby=squeeze.mar']);
    assert.deepEqual(
      store.list().map((m) => m.name),
      ['tabby'],
    );
    await assert.rejects(
      ModelStore.open(root, ['missing.mar']),
      (e: unknown) => e instanceof ModelStoreError && /load_models names missing\.mar, which cannot be loaded: not in the model store/.test(e.message),
    );
    await assert.rejects(ModelStore.open(root, ['python.mar']), (e: unknown) => e instanceof ModelStoreError && /handler "handler\.py" is Python.*torch\.onnx\.export/.test(e.message));
  });

  it('skips, with a warning, an archive it cannot use when loading everything; a folder of the same model keeps its version', async () => {
    const warn = mock.method(log, 'warn', () => {});
    const { root } = makeStore({
      'python.mar': marArchive({ modelName: 'py', handler: 'handler.py' }),
      'same.mar': marArchive({ modelName: 'null_model', version: '1.0' }),
      'newer.mar': marArchive({ modelName: 'null_model', version: '2.0' }),
    });
    cpSync(path.join(NULL_MODELS, 'null_model'), path.join(root, 'null_model'), { recursive: true });
    const store = await ModelStore.open(root);
    assert.deepEqual(
      store.list().map((m) => [m.name, m.defaultVersion, [...m.versions.keys()]]),
      [['null_model', '1.0', ['1.0', '2.0']]],
    );
    assert.equal(store.resolve('null_model', '1.0').archive, undefined, "the folder's own");
    assert.equal(store.resolve('null_model', '2.0').archive, 'newer.mar');
    const warned = warn.mock.calls.map((c) => c.arguments[0] as string);
    assert.ok(warned.some((w) => /python\.mar skipped: .*Python/.test(w)));
    assert.ok(warned.some((w) => /same\.mar skipped: model null_model version 1\.0 is in the store already/.test(w)));
  });

  it('writes nothing when an archive is refused part-way, reads no archive linked from outside, and writes nothing through a link out of the store', async () => {
    const { base, root } = makeStore({ 'not-onnx.mar': marArchive({ modelName: 'x', model: Buffer.from('no graph here') }) });
    const store = await ModelStore.open(root, []);
    await assert.rejects(store.register('not-onnx.mar'), (e: unknown) => e instanceof ApiError && e.status === 400 && /not an ONNX model/.test(e.message));
    assert.deepEqual(tree(path.join(root, '.unpacked')), [], 'the temporary folder is gone');

    writeFileSync(path.join(base, 'outside.mar'), squeeze);
    symlinkSync(path.join(base, 'outside.mar'), path.join(root, 'linked.mar'));
    await assert.rejects(
      store.register('linked.mar'),
      (e: unknown) => e instanceof ApiError && e.status === 400 && /linked\.mar cannot be registered: linked\.mar leads outside the model store/.test(e.message),
    );

    rmSync(path.join(root, '.unpacked'), { recursive: true });
    const elsewhere = path.join(base, 'elsewhere');
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, path.join(root, '.unpacked'));
    writeFileSync(path.join(root, 'squeeze.mar'), squeeze);
    await assert.rejects(store.register('squeeze.mar'), (e: unknown) => e instanceof ApiError && e.status === 400 && /\.unpacked is not a folder/.test(e.message));
    assert.deepEqual(tree(elsewhere), []);
  });
});
