import { afterEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ModelStore, ModelStoreError } from '../../server/store/model-store.js';
import { ApiError } from '../../server/errors.js';
import { log } from '../../server/ops/log.js';

interface ModelSpec {
  config?: Record<string, unknown> | string;
  versions?: string[];
  files?: Record<string, string>;
}

const baseConfig = { input_name: 'input', output_name: 'output' };

const roots: string[] = [];
afterEach(() => {
  while (roots.length) rmSync(roots.pop()!, { recursive: true, force: true });
});

/** A store in a fresh temp folder; model.onnx files hold a few arbitrary bytes. */
function makeStore(models: Record<string, ModelSpec>): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'model-store-test-'));
  roots.push(root);
  for (const [name, spec] of Object.entries(models)) {
    const dir = path.join(root, name);
    mkdirSync(dir, { recursive: true });
    if (spec.config !== undefined) {
      writeFileSync(path.join(dir, 'config.json'), typeof spec.config === 'string' ? spec.config : JSON.stringify(spec.config));
    }
    for (const v of spec.versions ?? []) {
      mkdirSync(path.join(dir, v), { recursive: true });
      writeFileSync(path.join(dir, v, 'model.onnx'), Buffer.from([0x08, 0x07, 0x12, 0x00]));
    }
    for (const [file, text] of Object.entries(spec.files ?? {})) writeFileSync(path.join(dir, file), text);
  }
  return root;
}

async function rejectsWith(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof ModelStoreError, `expected a ModelStoreError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

describe('ModelStore.open', () => {
  it('makes the highest version the default when default_version is absent', async () => {
    const root = makeStore({ m: { config: baseConfig, versions: ['1.0', '1.10', '1.9'] } });
    const store = await ModelStore.open(root);
    const [model] = store.list();
    assert.equal(model?.name, 'm');
    assert.equal(model?.defaultVersion, '1.10');
    assert.deepEqual([...model!.versions.keys()], ['1.0', '1.9', '1.10'], 'versions are kept in version order');
    assert.equal(store.resolve('m').version, '1.10');
    assert.equal(store.resolve('m').isDefault, true);
    assert.equal(store.resolve('m', '1.9').isDefault, false);
  });

  it('honours default_version', async () => {
    const root = makeStore({ m: { config: { ...baseConfig, default_version: '1.9' }, versions: ['1.0', '1.10', '1.9'] } });
    const store = await ModelStore.open(root);
    assert.equal(store.list()[0]?.defaultVersion, '1.9');
    assert.equal(store.resolve('m').version, '1.9');
    assert.deepEqual(
      store
        .allVersions()
        .filter((v) => v.isDefault)
        .map((v) => v.version),
      ['1.9'],
    );
  });

  it('fills each version with its key, file path and the parsed config', async () => {
    const root = makeStore({ m: { config: { ...baseConfig, topk: 3 }, versions: ['2.0'] } });
    const store = await ModelStore.open(root);
    const v = store.resolve('m', '2.0');
    assert.equal(v.name, 'm');
    assert.equal(v.version, '2.0');
    assert.equal(v.key, 'm/2.0');
    assert.equal(v.file, path.join(path.resolve(root), 'm', '2.0', 'model.onnx'));
    assert.equal(v.config.topk, 3);
    assert.equal(v.config.inputName, 'input');
    assert.deepEqual(v.labels, []);
    assert.equal(store.root, path.resolve(root));
    assert.equal(v.key, 'm/2.0');
    assert.equal(v.bytes, statSync(v.file).size);
    assert.equal(store.find('m', '2.0'), v);
    assert.equal(store.find('m', '9.9'), undefined);
  });

  it('throws when default_version names a version without model.onnx', async () => {
    const root = makeStore({ m: { config: { ...baseConfig, default_version: '3.0' }, versions: ['1.0', '2.0'] } });
    await rejectsWith(ModelStore.open(root), /default_version "3\.0"/);
  });

  it('skips a folder without config.json', async () => {
    const root = makeStore({
      good: { config: baseConfig, versions: ['1.0'] },
      noconfig: { versions: ['1.0'] },
    });
    const store = await ModelStore.open(root);
    assert.deepEqual(
      store.list().map((m) => m.name),
      ['good'],
    );
  });

  it('skips plain files, hidden folders and unsafe names in the store', async () => {
    const root = makeStore({
      good: { config: baseConfig, versions: ['1.0'] },
      '.hidden': { config: baseConfig, versions: ['1.0'] },
      'has space': { config: baseConfig, versions: ['1.0'] },
    });
    writeFileSync(path.join(root, 'README'), 'not a model');
    const store = await ModelStore.open(root);
    assert.deepEqual(
      store.list().map((m) => m.name),
      ['good'],
    );
  });

  it('skips version folders without model.onnx, with an unsafe name, or where model.onnx is a folder', async () => {
    const root = makeStore({ m: { config: baseConfig, versions: ['1.0'] } });
    mkdirSync(path.join(root, 'm', '5.0'));
    mkdirSync(path.join(root, 'm', '.7.0'));
    writeFileSync(path.join(root, 'm', '.7.0', 'model.onnx'), 'x');
    mkdirSync(path.join(root, 'm', '6.0', 'model.onnx'), { recursive: true });
    const store = await ModelStore.open(root);
    assert.deepEqual([...store.list()[0]!.versions.keys()], ['1.0']);
    assert.equal(store.resolve('m').version, '1.0');
  });

  it('opens a store with no model empty: models are registered later', async () => {
    const root = makeStore({ noconfig: { versions: ['1.0'] } });
    assert.deepEqual((await ModelStore.open(root)).list(), []);
    const empty = makeStore({});
    assert.deepEqual((await ModelStore.open(empty)).list(), []);
    assert.deepEqual((await ModelStore.open(makeStore({ m: { config: { input_name: 'input', output_name: 'output' }, versions: ['1.0'] } }), [])).list(), [], 'load_models naming none');
  });

  it('throws for a store folder that does not exist', async () => {
    const root = makeStore({});
    await rejectsWith(ModelStore.open(path.join(root, 'missing')), /cannot read the model store.*ENOENT/);
  });

  it('throws for a model with a config but no version', async () => {
    const root = makeStore({ m: { config: baseConfig } });
    await rejectsWith(ModelStore.open(root), /^m: no <version>\/model\.onnx/);
  });

  it('throws for an invalid config.json, naming the model', async () => {
    const root = makeStore({ m: { config: { input_name: 'input' }, versions: ['1.0'] } });
    await rejectsWith(ModelStore.open(root), /^m\/config\.json: .*"output_name"/);
    const root2 = makeStore({ m: { config: '{ not json', versions: ['1.0'] } });
    await rejectsWith(ModelStore.open(root2), /^m\/config\.json: /);
  });

  it('a config.json value past its bound stops the start, and answers 400 at registration', async () => {
    const root = makeStore({ m: { config: { ...baseConfig, batch_size: 999999 }, versions: ['1.0'] } });
    await rejectsWith(ModelStore.open(root), /^m\/config\.json: "batch_size" must be an integer from 1 to 64 .*; got 999999$/);
    const ok = makeStore({ a: { config: baseConfig, versions: ['1.0'] } });
    const store = await ModelStore.open(ok);
    mkdirSync(path.join(ok, 'm', '1.0'), { recursive: true });
    writeFileSync(path.join(ok, 'm', '1.0', 'model.onnx'), 'x');
    writeFileSync(path.join(ok, 'm', 'config.json'), JSON.stringify({ ...baseConfig, workers: 100000 }));
    await assert.rejects(store.register('m'), (e: unknown) => e instanceof ApiError && e.status === 400 && /"workers" must be an integer from 1 to 1024/.test(e.message));
    assert.throws(() => store.resolve('m'), ApiError, 'not registered');
  });

  it('reads labels, one per non-empty line, LF or CRLF', async () => {
    const root = makeStore({
      m: {
        config: { ...baseConfig, labels: 'labels.txt' },
        versions: ['1.0'],
        files: { 'labels.txt': 'n01 zero\r\nn02 one\n\n   \nn03 two\n' },
      },
    });
    const store = await ModelStore.open(root);
    assert.deepEqual(store.resolve('m').labels, ['n01 zero', 'n02 one', 'n03 two']);
  });

  it('rejects a labels path that leaves the model folder', async () => {
    const root = makeStore({ m: { config: { ...baseConfig, labels: '../x.txt' }, versions: ['1.0'] } });
    writeFileSync(path.join(root, 'x.txt'), 'secret\n');
    await rejectsWith(ModelStore.open(root), /"labels" must name a file in the model's folder/);
  });

  it('rejects a labels path in a sub-folder or an absolute path', async () => {
    const root = makeStore({ m: { config: { ...baseConfig, labels: 'sub/labels.txt' }, versions: ['1.0'], files: {} } });
    mkdirSync(path.join(root, 'm', 'sub'));
    writeFileSync(path.join(root, 'm', 'sub', 'labels.txt'), 'a\n');
    await rejectsWith(ModelStore.open(root), /"labels" must name a file/);
    const root2 = makeStore({ m: { config: { ...baseConfig, labels: path.join(os.tmpdir(), 'x.txt') }, versions: ['1.0'] } });
    await rejectsWith(ModelStore.open(root2), /"labels" must name a file/);
  });

  it('throws when the labels file is missing', async () => {
    const root = makeStore({ m: { config: { ...baseConfig, labels: 'nope.txt' }, versions: ['1.0'] } });
    await rejectsWith(ModelStore.open(root), /cannot read labels nope\.txt: ENOENT/);
  });

  it('lists models sorted by name', async () => {
    const root = makeStore({
      zeta: { config: baseConfig, versions: ['1.0'] },
      alpha: { config: baseConfig, versions: ['1.0', '2.0'] },
      mid: { config: baseConfig, versions: ['1.0'] },
    });
    const store = await ModelStore.open(root);
    assert.deepEqual(
      store.list().map((m) => m.name),
      ['alpha', 'mid', 'zeta'],
    );
    assert.deepEqual(
      store.allVersions().map((v) => v.key),
      ['alpha/1.0', 'alpha/2.0', 'mid/1.0', 'zeta/1.0'],
    );
  });
});

describe('ModelStore.resolve', () => {
  it('throws TorchServe 404s for an unknown model or version', async () => {
    const root = makeStore({ m: { config: baseConfig, versions: ['1.0'] } });
    const store = await ModelStore.open(root);

    assert.throws(
      () => store.resolve('resnet-18'),
      (e: unknown) => {
        assert.ok(e instanceof ApiError);
        assert.equal(e.status, 404);
        assert.equal(e.type, 'ModelNotFoundException');
        assert.equal(e.message, 'Model not found: resnet-18');
        return true;
      },
    );
    assert.throws(
      () => store.resolve('resnet-18', '1.0'),
      (e: unknown) => e instanceof ApiError && e.type === 'ModelNotFoundException',
    );
    assert.throws(
      () => store.resolve('m', '2.0'),
      (e: unknown) => {
        assert.ok(e instanceof ApiError);
        assert.equal(e.status, 404);
        assert.equal(e.type, 'ModelVersionNotFoundException');
        assert.equal(e.message, 'Model version: 2.0 does not exist for model: m');
        return true;
      },
    );
  });

  it('does not find a model under a path-like or prototype name', async () => {
    const root = makeStore({ m: { config: baseConfig, versions: ['1.0'] } });
    const store = await ModelStore.open(root);
    for (const name of ['../m', 'm/1.0', 'constructor', '__proto__', 'M']) {
      assert.throws(
        () => store.resolve(name),
        (e: unknown) => e instanceof ApiError && e.status === 404,
        name,
      );
    }
    assert.throws(
      () => store.resolve('m', 'constructor'),
      (e: unknown) => e instanceof ApiError && e.type === 'ModelVersionNotFoundException',
    );
  });
});

describe('links in the model store', () => {
  afterEach(() => mock.restoreAll());

  /** A complete model outside the store, with a labels file an attacker would like to read. */
  function outsideModel(): string {
    const dir = makeStore({ secret: { config: { ...baseConfig, labels: 'labels.txt' }, versions: ['1.0'], files: { 'labels.txt': 'root:x:0:0:secret\n' } } });
    return path.join(dir, 'secret');
  }
  const good = { config: { ...baseConfig, labels: 'labels.txt' }, versions: ['1.0'], files: { 'labels.txt': 'a\nb\n' } };
  const warnings = () => mock.method(log, 'warn', () => {});

  const outward: Array<[string, string, (root: string, out: string) => void]> = [
    ['model folder', 'model evil skipped: evil leads outside', (root, out) => symlinkSync(out, path.join(root, 'evil'))],
    [
      'config.json',
      'model evil skipped: evil/config.json leads outside',
      (root, out) => {
        mkdirSync(path.join(root, 'evil', '1.0'), { recursive: true });
        writeFileSync(path.join(root, 'evil', '1.0', 'model.onnx'), 'x');
        symlinkSync(path.join(out, 'config.json'), path.join(root, 'evil', 'config.json'));
      },
    ],
    [
      'labels file',
      'model evil skipped: evil/labels.txt leads outside',
      (root, out) => {
        mkdirSync(path.join(root, 'evil', '1.0'), { recursive: true });
        writeFileSync(path.join(root, 'evil', 'config.json'), JSON.stringify({ ...baseConfig, labels: 'labels.txt' }));
        writeFileSync(path.join(root, 'evil', '1.0', 'model.onnx'), 'x');
        symlinkSync(path.join(out, 'labels.txt'), path.join(root, 'evil', 'labels.txt'));
      },
    ],
    [
      'only version folder',
      'evil version 1.0 skipped: evil/1.0/model.onnx leads outside',
      (root, out) => {
        mkdirSync(path.join(root, 'evil'));
        writeFileSync(path.join(root, 'evil', 'config.json'), JSON.stringify(baseConfig));
        symlinkSync(path.join(out, '1.0'), path.join(root, 'evil', '1.0'));
      },
    ],
    [
      'only model.onnx',
      'evil version 1.0 skipped: evil/1.0/model.onnx leads outside',
      (root, out) => {
        mkdirSync(path.join(root, 'evil', '1.0'), { recursive: true });
        writeFileSync(path.join(root, 'evil', 'config.json'), JSON.stringify(baseConfig));
        symlinkSync(path.join(out, '1.0', 'model.onnx'), path.join(root, 'evil', '1.0', 'model.onnx'));
      },
    ],
  ];
  for (const [what, line, plant] of outward) {
    it(`skips a model whose ${what} links outside the store, saying so, and loads the others`, async () => {
      const root = makeStore({ good });
      plant(root, outsideModel());
      const warn = warnings();
      const store = await ModelStore.open(root);
      assert.deepEqual(
        store.list().map((m) => m.name),
        ['good'],
      );
      assert.deepEqual(store.resolve('good').labels, ['a', 'b']);
      const lines = warn.mock.calls.map((c) => String(c.arguments[0]));
      assert.ok(
        lines.some((l) => l.includes(line)),
        `no warning "${line}" in ${JSON.stringify(lines)}`,
      );
    });
  }

  it('skips one version whose folder or model.onnx links outside and keeps the others', async () => {
    const root = makeStore({ m: { config: baseConfig, versions: ['1.0'] } });
    const out = outsideModel();
    symlinkSync(path.join(out, '1.0'), path.join(root, 'm', '2.0'));
    mkdirSync(path.join(root, 'm', '3.0'));
    symlinkSync(path.join(out, '1.0', 'model.onnx'), path.join(root, 'm', '3.0', 'model.onnx'));
    const warn = warnings();
    const store = await ModelStore.open(root);
    assert.deepEqual([...store.list()[0]!.versions.keys()], ['1.0']);
    assert.equal(warn.mock.callCount(), 2);
  });

  it('refuses a model whose default version links outside rather than serve another', async () => {
    const root = makeStore({ good, m: { config: { ...baseConfig, default_version: '2.0' }, versions: ['1.0'] } });
    symlinkSync(path.join(outsideModel(), '1.0'), path.join(root, 'm', '2.0'));
    warnings();
    const store = await ModelStore.open(root);
    assert.deepEqual(
      store.list().map((m) => m.name),
      ['good'],
    );
  });

  it('follows links that stay inside the store (a Kubernetes volume) and reads through their real paths', async () => {
    // root/..2024_01_01/m/…, root/..data -> ..2024_01_01, root/m -> ..data/m; n's parts link into m.
    const root = makeStore({ '..2024_01_01/m': { ...good, versions: ['1.0'] } });
    symlinkSync('..2024_01_01', path.join(root, '..data'));
    symlinkSync(path.join('..data', 'm'), path.join(root, 'm'));
    mkdirSync(path.join(root, 'n'));
    for (const part of ['config.json', 'labels.txt', '1.0']) symlinkSync(path.join('..', '..data', 'm', part), path.join(root, 'n', part));
    mkdirSync(path.join(root, 'n', '2.0'));
    symlinkSync(path.join('..', '..', 'm', '1.0', 'model.onnx'), path.join(root, 'n', '2.0', 'model.onnx'));
    const warn = warnings();
    const store = await ModelStore.open(root);
    assert.equal(warn.mock.callCount(), 0);
    assert.deepEqual(
      store.allVersions().map((v) => v.key),
      ['m/1.0', 'n/1.0', 'n/2.0'],
    );
    const real = path.join(realpathSync(root), '..2024_01_01', 'm', '1.0', 'model.onnx');
    for (const v of store.allVersions()) {
      assert.equal(v.file, real, v.key);
      assert.equal(v.bytes, 4);
      assert.deepEqual(v.labels, ['a', 'b']);
    }
  });

  it('opens a store whose root is itself a link', async () => {
    const root = makeStore({ good });
    const linkDir = makeStore({});
    symlinkSync(root, path.join(linkDir, 'store'));
    const store = await ModelStore.open(path.join(linkDir, 'store'));
    assert.deepEqual(
      store.list().map((m) => m.name),
      ['good'],
    );
    assert.equal(store.resolve('good').file, path.join(realpathSync(root), 'good', '1.0', 'model.onnx'));
  });

  it('refuses to register a folder any part of which links outside, with a 400 that names the part and no path', async () => {
    const root = makeStore({ good });
    const store = await ModelStore.open(root);
    const out = outsideModel();
    for (const [what, line, plant] of outward) {
      rmSync(path.join(root, 'evil'), { recursive: true, force: true });
      plant(root, out);
      warnings();
      await assert.rejects(store.register('evil'), (e: unknown) => {
        assert.ok(e instanceof ApiError, what);
        assert.equal(e.status, 400);
        assert.equal(e.type, 'BadRequestException');
        assert.match(e.message, new RegExp(`^evil cannot be registered: ${line.split(': ')[1]!.replaceAll('.', '\\.')}`), what);
        assert.ok(!e.message.includes(out) && !e.message.includes(root), `${what}: ${e.message}`);
        return true;
      });
      mock.restoreAll();
    }
    // Even one version out of several.
    rmSync(path.join(root, 'evil'), { recursive: true, force: true });
    mkdirSync(path.join(root, 'evil', '1.0'), { recursive: true });
    writeFileSync(path.join(root, 'evil', 'config.json'), JSON.stringify(baseConfig));
    writeFileSync(path.join(root, 'evil', '1.0', 'model.onnx'), 'x');
    symlinkSync(path.join(out, '1.0'), path.join(root, 'evil', '2.0'));
    warnings();
    await assert.rejects(store.register('evil'), (e: unknown) => e instanceof ApiError && e.status === 400 && /evil\/2\.0\/model\.onnx leads outside/.test(e.message));
    assert.deepEqual(
      store.list().map((m) => m.name),
      ['good'],
    );
  });
});
