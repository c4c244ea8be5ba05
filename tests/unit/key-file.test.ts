// key_file.json: written owner-only whatever was there before, never through a link.

import { afterEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KeyFileError, writeKeyFile } from '../../server/auth/key-file.js';
import { log } from '../../server/ops/log.js';

const keys = { inference: 'inference-key', management: 'management-key' };

describe('writeKeyFile', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'key-file-'));
    dirs.push(dir);
    return dir;
  };
  const logged = () => ({ info: mock.method(log, 'info', () => {}), warn: mock.method(log, 'warn', () => {}) });
  afterEach(() => {
    mock.restoreAll();
    while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
  });

  it("writes TorchServe's layout to a new file of mode 600, leaving nothing else behind", () => {
    const dir = tempDir();
    const file = path.join(dir, 'key_file.json');
    const { warn } = logged();
    writeKeyFile(file, keys);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { management: { key: 'management-key' }, inference: { key: 'inference-key' } });
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir), ['key_file.json']);
    assert.equal(warn.mock.callCount(), 0);
  });

  it('replaces an existing file of mode 644 by one of mode 600, and says so', () => {
    const dir = tempDir();
    const file = path.join(dir, 'key_file.json');
    writeFileSync(file, '{"old": true}\n');
    chmodSync(file, 0o644);
    const { warn } = logged();
    writeKeyFile(file, keys);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).inference.key, 'inference-key');
    assert.deepEqual(readdirSync(dir), ['key_file.json']);
    assert.equal(warn.mock.callCount(), 1);
    assert.match(String(warn.mock.calls[0]!.arguments[0]), /key_file .*key_file\.json had mode 644; replaced by one readable by its owner only \(600\)/);
  });

  it('says nothing more when the old file was already 600', () => {
    const dir = tempDir();
    const file = path.join(dir, 'key_file.json');
    writeFileSync(file, '{}', { mode: 0o600 });
    const { warn } = logged();
    writeKeyFile(file, keys);
    assert.equal(warn.mock.callCount(), 0);
  });

  it('refuses a key file that is a symbolic link, naming it, and leaves what it points at untouched', () => {
    const dir = tempDir();
    const elsewhere = tempDir();
    const target = path.join(elsewhere, 'authorized_keys');
    writeFileSync(target, 'untouched\n');
    chmodSync(target, 0o644);
    const file = path.join(dir, 'key_file.json');
    symlinkSync(target, file);
    const dangling = path.join(dir, 'dangling.json');
    symlinkSync(path.join(elsewhere, 'created-through-the-link'), dangling);
    logged();
    for (const link of [file, dangling]) {
      assert.throws(
        () => writeKeyFile(link, keys),
        (e: unknown) => e instanceof KeyFileError && e.message.includes(link) && /symbolic link/.test(e.message),
      );
      assert.ok(lstatSync(link).isSymbolicLink());
    }
    assert.equal(readFileSync(target, 'utf8'), 'untouched\n');
    assert.equal(statSync(target).mode & 0o777, 0o644);
    assert.deepEqual(readdirSync(elsewhere), ['authorized_keys']);
    assert.deepEqual(readdirSync(dir).sort(), ['dangling.json', 'key_file.json']);
  });

  it('removes its temporary file when the key file cannot be replaced', () => {
    const dir = tempDir();
    const file = path.join(dir, 'key_file.json');
    mkdirSync(path.join(file, 'in-the-way'), { recursive: true });
    logged();
    assert.throws(
      () => writeKeyFile(file, keys),
      (e: unknown) => e instanceof KeyFileError && e.message.startsWith(`cannot write key_file ${file}: E`),
    );
    assert.deepEqual(readdirSync(dir), ['key_file.json']);
    assert.ok(statSync(file).isDirectory());
  });

  it('fails with a KeyFileError in a folder that does not exist', () => {
    const file = path.join(tempDir(), 'missing', 'key_file.json');
    logged();
    assert.throws(
      () => writeKeyFile(file, keys),
      (e: unknown) => e instanceof KeyFileError && /ENOENT/.test(e.message),
    );
  });
});
