// TorchServe model archives (.mar) through the real server and browser: one in the store at
// start, others registered over HTTP and gRPC, each answering /predictions as TorchServe would
// (the same answer as the null model's folder given the image classifier's preprocessing);
// handlers and configs carried into the unpacked model; PyTorch and Python refused with the
// way to ONNX; hostile archives refused with 400, nothing written outside the store, and the
// server serving on.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { status as Code } from '@grpc/grpc-js';
import type { RunningServer } from '../../server/server.js';
import { callFails, callUnary, grpcClients, type GrpcClients } from '../support/grpc-client.js';
import { manifestOf, marArchive, NULL_ONNX, plainIndexToName, synsetIndexToName } from '../support/mar-archive.js';
import { FIXTURES, NULL_MODELS, readImage } from '../support/paths.js';
import { call, postImage, startTestServer } from '../support/server-harness.js';
import { zip, type ZipEntry } from '../support/zip-writer.js';

const kitten = readImage('kitten.jpg');
const MiB = 1024 * 1024;
const ARCHIVE_BYTES = 8 * MiB;
const manifest = (o: Parameters<typeof manifestOf>[0] = {}): ZipEntry => ({ name: 'MAR-INF/MANIFEST.json', data: Buffer.from(JSON.stringify(manifestOf(o))) });
const onnx: ZipEntry = { name: 'model.onnx', data: NULL_ONNX };

/** Every path under `dir`, relative to it. */
const tree = (dir: string): string[] => readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();

describe('TorchServe model archives', () => {
  // The store in a folder of its own, so that what lies beside it can be checked too.
  const base = mkdtempSync(path.join(os.tmpdir(), 'mar-'));
  const root = path.join(base, 'store');
  let server: RunningServer;
  let api: string;
  let mgmt: string;
  let grpc: GrpcClients;
  const put = (file: string, bytes: Buffer) => writeFileSync(path.join(root, file), bytes);
  const register = (query: string) => call(`${mgmt}/models?${query}`, { method: 'POST' });
  const unpackedOf = (archive: string) => readdirSync(path.join(root, '.unpacked')).filter((f) => f.startsWith(`${archive}-`));
  const unpackedFile = (archive: string, file: string) => readFileSync(path.join(root, '.unpacked', unpackedOf(archive)[0]!, file), 'utf8');

  before(async () => {
    mkdirSync(root);
    // What the archives should answer like: the null model's folder with TorchServe's image
    // classifier preprocessing (PIL's resize and crop) and TorchServe's answer format.
    cpSync(path.join(NULL_MODELS, 'null_model'), path.join(root, 'null_folder'), { recursive: true });
    const config = JSON.parse(readFileSync(path.join(root, 'null_folder', 'config.json'), 'utf8'));
    writeFileSync(
      path.join(root, 'null_folder', 'config.json'),
      JSON.stringify({ ...config, output_format: 'torchserve', batch_size: 1, preprocessing: { ...config.preprocessing, resampling: 'pil' } }),
    );
    put('at_start.mar', marArchive({ modelName: 'archived_at_start', files: { 'index_to_name.json': JSON.stringify(synsetIndexToName()), 'setup_config.json': '{"batch_size": 1}' } }));
    // Skipped at start with a warning; the start goes on.
    put('link_at_start.mar', zip([{ name: 'model.onnx', data: Buffer.from('/etc/passwd'), mode: 0o120777 }, manifest()]));
    server = await startTestServer({ model_store: root, backend: 'wasm', wasm_threads: '1', max_archive_bytes: String(ARCHIVE_BYTES) });
    api = server.inferenceUrl;
    mgmt = server.managementUrl;
    grpc = grpcClients(server.grpc!);
  });
  after(async () => {
    grpc?.close();
    await server?.close();
    rmSync(base, { recursive: true, force: true });
  });

  const folderAnswer = async () => {
    const r = await postImage(`${api}/predictions/null_folder`, kitten);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  };

  it('loads a .mar of the store at start, and answers /predictions as TorchServe would', async () => {
    const { models } = (await call(`${mgmt}/models`)).body;
    assert.deepEqual(models, [
      { modelName: 'archived_at_start', modelUrl: 'at_start.mar' },
      { modelName: 'null_folder', modelUrl: 'null_folder/1.0/model.onnx' },
    ]);
    const r = await postImage(`${api}/predictions/archived_at_start`, kitten);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.ok(!Array.isArray(r.body) && Object.keys(r.body).length === 5, `TorchServe's {"name": probability} for the top 5: ${JSON.stringify(r.body)}`);
    assert.ok(
      Object.keys(r.body).every((name) => /^[A-Za-z0-9_'-]+$/.test(name)),
      'short names, as index_to_name.json gives them',
    );
    assert.deepEqual(r.body, await folderAnswer());
  });

  it('registers a .mar over HTTP (the plain index_to_name.json form), once, and under an alias', async () => {
    put('plain.mar', marArchive({ modelName: 'plain_names', version: '2.0', files: { 'index_to_name.json': JSON.stringify(plainIndexToName()) } }));
    const reg = await register('url=plain.mar&initial_workers=1&batch_size=1&synchronous=true');
    assert.equal(reg.status, 200, JSON.stringify(reg.body));
    assert.equal(reg.body.status, 'Model "plain_names" Version: 2.0 registered with 1 initial workers');
    const r = await postImage(`${api}/predictions/plain_names`, kitten);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, await folderAnswer());
    const [d] = (await call(`${mgmt}/models/plain_names`)).body;
    assert.equal(d.modelUrl, 'plain.mar');
    assert.equal(d.modelVersion, '2.0');
    assert.deepEqual([d.input.name, d.output.name, d.output.format, d.output.classes], ['input', 'output', 'torchserve', 1000], 'names from the ONNX graph');

    const again = await register('url=plain.mar');
    assert.equal(again.status, 409, JSON.stringify(again.body));
    assert.equal(again.body.type, 'ConflictStatusException');
    assert.equal((await register('url=plain.mar&model_name=plain_alias')).status, 200);
    assert.equal(unpackedOf('plain.mar').length, 1, 'unpacked once');
  });

  it("registers a text classifier's archive with its tokenizer.json, and answers its texts", async () => {
    const fixture = path.join(FIXTURES, 'text-model-store', 'tiny_sentiment');
    const own = JSON.parse(readFileSync(path.join(fixture, 'config.json'), 'utf8')) as Record<string, unknown>;
    put(
      'sentiment.mar',
      marArchive({
        modelName: 'archived_sentiment',
        handler: 'text_classifier',
        model: readFileSync(path.join(fixture, '1.0', 'model.onnx')),
        files: {
          'tokenizer.json': readFileSync(path.join(fixture, 'tokenizer.json')),
          'index_to_name.json': JSON.stringify({ 0: 'negative', 1: 'positive' }),
          // What TorchServe's setup_config.json says of a transformer's inputs, in this server's keys.
          'config.json': JSON.stringify({ text: own['text'] }),
        },
      }),
    );
    const reg = await register('url=sentiment.mar&initial_workers=1&synchronous=true');
    assert.equal(reg.status, 200, JSON.stringify(reg.body));
    assert.equal(JSON.parse(unpackedFile('sentiment.mar', 'config.json')).tokenizer, 'tokenizer.json');
    const res = await call(`${api}/predictions/archived_sentiment`, { method: 'POST', body: 'a terrible, boring film' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(Object.keys(res.body), ['negative', 'positive']);
    assert.ok(res.body.negative > 0.98, JSON.stringify(res.body));
  });

  it('registers a .mar over gRPC RegisterModel, and refuses a Python handler there as INVALID_ARGUMENT', async () => {
    put('grpc.mar', marArchive({ modelName: 'over_grpc' }));
    const reply = await callUnary(grpc.management, 'RegisterModel', { url: 'grpc.mar' });
    assert.equal(reply.msg, 'Model "over_grpc" Version: 1.0 registered with 0 initial workers. Use scale workers API to add workers for the model.');
    put('grpc_python.mar', marArchive({ modelName: 'grpc_python', handler: 'handler.py', files: { 'handler.py': 'def handle(data, context): pass\n' } }));
    const refused = await callFails(grpc.management, 'RegisterModel', { url: 'grpc_python.mar' });
    assert.equal(refused.code, Code.INVALID_ARGUMENT);
    assert.match(refused.details, /handler "handler\.py" is Python.*torch\.onnx\.export/);
  });

  it("carries the handler into the model's config.json, and the archive's setup_config.json and model-config.yaml", async () => {
    put('detector.mar', marArchive({ modelName: 'detector', handler: 'object_detector' }));
    assert.equal((await register('url=detector.mar')).status, 200);
    assert.equal(JSON.parse(unpackedFile('detector.mar', 'config.json')).handler, 'object_detector');

    const script = 'export function postprocess(output) { return output; }\n';
    put('scripted.mar', marArchive({ modelName: 'scripted', handler: 'handler.js', files: { 'handler.js': script } }));
    assert.equal((await register('url=scripted.mar')).status, 200);
    assert.equal(JSON.parse(unpackedFile('scripted.mar', 'config.json')).handler, 'handler.js');
    assert.equal(unpackedFile('scripted.mar', 'handler.js'), script);

    put(
      'configured.mar',
      marArchive({
        modelName: 'configured',
        configFile: 'model-config.yaml',
        files: {
          'setup_config.json': JSON.stringify({ topk: 3, batch_size: 2, mode: 'sequence_classification' }),
          'model-config.yaml': 'minWorkers: 1\nmaxWorkers: 1\nbatchSize: 4\nmaxBatchDelay: 50\nresponseTimeout: 30\ndeviceType: gpu\n',
        },
      }),
    );
    assert.equal((await register('url=configured.mar')).status, 200);
    const config = JSON.parse(unpackedFile('configured.mar', 'config.json'));
    assert.deepEqual([config.topk, config.batch_size, config.max_batch_delay, config.response_timeout, config.workers], [3, 4, 50, 30, 1]);
    assert.equal((await call(`${mgmt}/models/configured`)).body[0].responseTimeout, 30);
  });

  it('refuses a PyTorch model and a Python handler with 400, saying how to export to ONNX', async () => {
    const cases: [string, Buffer, RegExp][] = [
      ['torchscript.mar', marArchive({ modelName: 'ts', serializedFile: 'model.pt', model: Buffer.from('PK torchscript') }), /"model\.pt" is a PyTorch model/],
      ['python.mar', marArchive({ modelName: 'py', handler: 'my_handler.py', files: { 'my_handler.py': 'x = 1\n' } }), /handler "my_handler\.py" is Python/],
      ['custom.mar', marArchive({ modelName: 'custom', handler: 'custom_module' }), /handler "custom_module" is Python/],
    ];
    for (const [file, bytes, pattern] of cases) {
      put(file, bytes);
      const r = await register(`url=${file}`);
      assert.equal(r.status, 400, file);
      assert.equal(r.body.type, 'BadRequestException');
      assert.match(r.body.message, pattern, file);
      assert.match(r.body.message, /This server runs ONNX models, with a built-in handler \(image_classifier, .*\) or a JavaScript handler\.js.*torch\.onnx\.export\(model/, file);
    }
  });

  it('refuses hostile archives with 400, writes nothing outside its store nor beside it, and serves on', async () => {
    const bombBytes = 64 * MiB;
    const cases: [string, () => Buffer, RegExp][] = [
      ['traversal.mar', () => zip([onnx, { name: '../../evil.txt', data: Buffer.from('x') }, manifest()]), /entry "\.\.\/\.\.\/evil\.txt" has a "\.\." in its path \(path traversal\)/],
      ['absolute.mar', () => zip([onnx, { name: '/tmp/evil.txt', data: Buffer.from('x') }, manifest()]), /has an absolute path/],
      ['backslash.mar', () => zip([onnx, { name: '..\\..\\evil.txt', data: Buffer.from('x') }, manifest()]), /has a backslash in its name/],
      ['drive.mar', () => zip([onnx, { name: 'C:/evil.txt', data: Buffer.from('x') }, manifest()]), /has a drive letter/],
      ['symlink.mar', () => zip([{ name: 'model.onnx', data: Buffer.from('/etc/passwd'), mode: 0o120777 }, manifest()]), /entry "model\.onnx" is a symbolic link, not a regular file/],
      [
        'bomb.mar',
        () => zip([{ name: 'model.onnx', data: Buffer.alloc(bombBytes), declaredSize: NULL_ONNX.length }, manifest()]),
        /entry "model\.onnx" inflates to more than the \d+ bytes it declares/,
      ],
      ['large.mar', () => zip([onnx, { name: 'weights.bin', data: Buffer.alloc(2 * ARCHIVE_BYTES) }, manifest()]), /its entries declare more than 8388608 bytes unpacked/],
      ['entries.mar', () => zip([onnx, ...Array.from({ length: 100_000 }, (_, i) => ({ name: `f/${i}`, deflate: false })), manifest()]), /it holds 100002 entries, more than 1000/],
      ['garbage.mar', () => Buffer.from('this is not a zip archive, whatever its name says'), /not a zip archive/],
      ['no-manifest.mar', () => zip([onnx]), /no MAR-INF\/MANIFEST\.json: it is not a TorchServe model archive/],
    ];
    for (const [file, build, pattern] of cases) {
      const bytes = build();
      if (file === 'bomb.mar') assert.ok(bytes.length < MiB, `the bomb is small (${bytes.length} bytes) and inflates to ${bombBytes}`);
      put(file, bytes);
      const before = tree(base);
      const r = await register(`url=${file}&initial_workers=1`);
      assert.equal(r.status, 400, `${file}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.type, 'BadRequestException', file);
      assert.match(r.body.message, new RegExp(`^${file.replace('.', '\\.')} cannot be registered: `), file);
      assert.match(r.body.message, pattern, file);
      assert.deepEqual(tree(base), before, `${file}: the store and the folder beside it are as they were`);
    }
    assert.ok(!tree(base).some((f) => f.includes('evil')));
    assert.equal((await call(`${api}/ping`)).status, 200);
    assert.deepEqual((await postImage(`${api}/predictions/archived_at_start`, kitten)).body, await folderAnswer());
  });

  it('registers archives of the store only: remote, outside or missing ones are refused as folders are', async () => {
    const remote = await register(`url=${encodeURIComponent('https://example.com/squeezenet.mar')}`);
    assert.equal(remote.status, 400);
    assert.match(remote.body.message, /remote URLs are not fetched/);
    for (const url of ['missing.mar', '../plain.mar', '/tmp/plain.mar', 'null_folder/../../plain.mar']) {
      const r = await register(`url=${encodeURIComponent(url)}`);
      assert.equal(r.status, 404, url);
      assert.deepEqual(r.body, { code: 404, type: 'ModelNotFoundException', message: `Model not found in model store: ${url}` });
    }
  });
});
