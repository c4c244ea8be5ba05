import { after, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import fs, { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ArchiveReader, kindOf, nameProblem } from '../../server/store/archive/archive-reader.js';
import { archiveRefusal } from '../support/archive-refusal.js';
import { zip, type ZipEntry } from '../support/zip-writer.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'archive-reader-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let count = 0;
const archive = (entries: ZipEntry[]) => {
  const file = path.join(dir, `a${count++}.zip`);
  writeFileSync(file, zip(entries));
  return file;
};
const limits = { entries: 10, bytes: 1024 * 1024 };
const refused = (promise: Promise<unknown>, pattern: RegExp) => assert.rejects(promise, archiveRefusal(pattern));

describe('entry names and types', () => {
  it('refuses names that leave the folder or are not plain paths', () => {
    assert.equal(nameProblem('MAR-INF/MANIFEST.json'), null);
    assert.equal(nameProblem('tokenizer/vocab.txt'), null);
    assert.equal(nameProblem('folder/'), null);
    assert.match(nameProblem('../evil.sh')!, /path traversal/);
    assert.match(nameProblem('a/../../evil.sh')!, /path traversal/);
    assert.match(nameProblem('/etc/cron.d/x')!, /absolute path/);
    assert.match(nameProblem('C:/Windows/x')!, /drive letter/);
    assert.match(nameProblem('c:x')!, /drive letter/);
    assert.match(nameProblem('..\\..\\evil')!, /backslash/);
    assert.match(nameProblem('a//b')!, /empty or "\." part/);
    assert.match(nameProblem('./a')!, /empty or "\." part/);
    assert.match(nameProblem('a\u0000b')!, /control character/);
    assert.match(nameProblem('')!, /empty name/);
    assert.match(nameProblem(`${'d/'.repeat(40)}f`)!, /folders deep/);
    assert.match(nameProblem('x'.repeat(300))!, /longer than 255/);
  });

  it('tells files and folders from links, devices, FIFOs and sockets by the Unix mode', () => {
    assert.equal(kindOf('a.txt', 0o100644 << 16), 'file');
    assert.equal(kindOf('a.txt', 0), 'file', "Python's writestr and DOS writers give no type");
    assert.equal(kindOf('d/', 0o040755 << 16), 'folder');
    assert.equal(kindOf('d/', 0x10), 'folder');
    assert.equal(kindOf('link', (0o120777 << 16) >>> 0), 'a symbolic link');
    assert.equal(kindOf('dev', 0o020644 << 16), 'a character device');
    assert.equal(kindOf('fifo', 0o010644 << 16), 'a FIFO');
    assert.equal(kindOf('sock', (0o140644 << 16) >>> 0), 'a socket');
    assert.equal(kindOf('x/', 0o100644 << 16), 'a file named as a folder');
  });
});

describe('ArchiveReader', () => {
  it('lists files (not folders) and reads and extracts them', async () => {
    const reader = await ArchiveReader.open(
      archive([
        { name: 'd/', mode: 0o040755 },
        { name: 'd/a.txt', data: Buffer.from('hello') },
        { name: 'b.bin', data: Buffer.alloc(1000, 7), deflate: false },
      ]),
      limits,
    );
    try {
      assert.deepEqual([...reader.files.keys()], ['d/a.txt', 'b.bin']);
      assert.equal((await reader.read(reader.files.get('d/a.txt')!, 100)).toString(), 'hello');
      const out = path.join(dir, 'b.out');
      await reader.extract(reader.files.get('b.bin')!, out);
      assert.deepEqual(readFileSync(out), Buffer.alloc(1000, 7));
      await assert.rejects(reader.extract(reader.files.get('b.bin')!, out), /EEXIST/, 'never over an existing file');
      await refused(reader.read(reader.files.get('b.bin')!, 10), /larger than 10 bytes/);
    } finally {
      reader.close();
    }
  });

  it('refuses hostile entries before inflating anything', async () => {
    await refused(ArchiveReader.open(archive([{ name: '../../evil.txt', data: Buffer.from('x') }]), limits), /entry "\.\.\/\.\.\/evil\.txt" has a "\.\." in its path/);
    await refused(ArchiveReader.open(archive([{ name: 'link', data: Buffer.from('/etc/passwd'), mode: 0o120777 }]), limits), /entry "link" is a symbolic link, not a regular file/);
    await refused(ArchiveReader.open(archive([{ name: 'a' }, { name: 'a' }]), limits), /appears twice/);
    await refused(ArchiveReader.open(archive([{ name: 'a' }, { name: 'a/b' }]), limits), /"a" is both a file and a folder/);
    await refused(ArchiveReader.open(archive(Array.from({ length: 11 }, (_, i) => ({ name: `f${i}` }))), limits), /holds 11 entries, more than 10/);
    await refused(ArchiveReader.open(archive([{ name: 'big', data: Buffer.alloc(10), declaredSize: 2 * 1024 * 1024 }]), limits), /declare more than 1048576 bytes/);
    const notZip = path.join(dir, 'not.zip');
    writeFileSync(notZip, 'PK but not really a zip archive at all');
    await refused(ArchiveReader.open(notZip, limits), /not a zip archive/);
  });

  it('stops a zip bomb at the first bytes past what it declares', async () => {
    const reader = await ArchiveReader.open(archive([{ name: 'bomb', data: Buffer.alloc(64 * 1024 * 1024), declaredSize: 100 }]), limits);
    try {
      const out = path.join(dir, 'bomb.out');
      await refused(reader.extract(reader.files.get('bomb')!, out), /entry "bomb" inflates to more than the 100 bytes it declares/);
      assert.ok(readFileSync(out).length <= 100, 'no more than the declared bytes were written');
    } finally {
      reader.close();
    }
  });

  it('settles a refusal only once its file is closed, however late the file opens', async () => {
    // A refusal used to come before the write stream had opened its file, which appeared after
    // the caller had moved on (and could remove the folder). Opening is held here to force that.
    const open = fs.open;
    const slowOpen = mock.method(fs, 'open', (...args: Parameters<typeof fs.open>) => void setTimeout(() => open(...args), 200));
    const reader = await ArchiveReader.open(archive([{ name: 'bomb', data: Buffer.alloc(8 * 1024 * 1024), declaredSize: 100 }]), limits);
    try {
      const out = path.join(dir, 'late.out');
      await refused(reader.extract(reader.files.get('bomb')!, out), /inflates to more than the 100 bytes it declares/);
      assert.ok(slowOpen.mock.callCount() > 0, 'the file was opened through the held open');
      assert.ok(existsSync(out), 'the file exists, closed, when the refusal comes');
      assert.ok(readFileSync(out).length <= 100);
    } finally {
      slowOpen.mock.restore();
      reader.close();
    }
  });
});
