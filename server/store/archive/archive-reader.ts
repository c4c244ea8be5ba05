// A model archive (a zip) read with yauzl, within bounds, before and while a byte is inflated:
// the entry count from the central directory's end record; each entry's name (no traversal, no
// absolute path, drive letter or backslash), its type from its external attributes (regular
// files and folders only: no symbolic link, device, FIFO or socket) and its compression; the
// sizes the entries declare, in total; and, while inflating, the bytes actually inflated,
// which a zip bomb lies about. Names are checked here rather than by yauzl, so that every
// refusal says the same way what it refused.

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { ArchiveRefused } from './archive-refused.js';

export interface ArchiveLimits {
  entries: number;
  /** Bytes of every entry together, unpacked. */
  bytes: number;
}

/** torch-model-archiver writes a file per model file and extra file: a thousand is a folder of extras. */
export const MAX_ENTRIES = 1000;
const MAX_NAME_BYTES = 1024;
const MAX_SEGMENT_BYTES = 255;
const MAX_DEPTH = 32;

const S_IFMT = 0o170000;
const FILE_TYPES = new Map<number, string>([
  [0o100000, 'file'],
  [0o040000, 'folder'],
  [0o120000, 'a symbolic link'],
  [0o020000, 'a character device'],
  [0o060000, 'a block device'],
  [0o010000, 'a FIFO'],
  [0o140000, 'a socket'],
]);

/** Why an entry's name may not be unpacked, or null. `name` is decoded; a folder's ends with '/'. */
export function nameProblem(name: string): string | null {
  if (name === '') return 'an empty name';
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'a control character in its name';
  if (name.includes('\\')) return 'a backslash in its name (a Windows path)';
  if (/^[A-Za-z]:/.test(name)) return 'a drive letter';
  if (name.startsWith('/')) return 'an absolute path';
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) return `a name longer than ${MAX_NAME_BYTES} bytes`;
  const segments = (name.endsWith('/') ? name.slice(0, -1) : name).split('/');
  if (segments.includes('..')) return 'a ".." in its path (path traversal)';
  if (segments.some((s) => s === '' || s === '.')) return 'an empty or "." part in its path';
  if (segments.some((s) => Buffer.byteLength(s) > MAX_SEGMENT_BYTES)) return `a path part longer than ${MAX_SEGMENT_BYTES} bytes`;
  if (segments.length > MAX_DEPTH) return `a path more than ${MAX_DEPTH} folders deep`;
  return null;
}

/**
 * What an entry is, from its external attributes (the high 16 bits hold a Unix mode where the
 * archiver wrote one; Python's zipfile and Info-ZIP do) and its name: 'file', 'folder', or why
 * it is neither.
 */
export function kindOf(name: string, externalAttributes: number): 'file' | 'folder' | string {
  const type = (externalAttributes >>> 16) & S_IFMT;
  const dosFolder = (externalAttributes & 0x10) !== 0;
  const named = type === 0 ? (name.endsWith('/') || dosFolder ? 'folder' : 'file') : (FILE_TYPES.get(type) ?? `an unknown file type (mode ${type.toString(8)})`);
  if (named === 'file' && name.endsWith('/')) return 'a file named as a folder';
  return named;
}

export interface ArchiveEntry {
  name: string;
  /** What the entry declares it inflates to. */
  size: number;
  entry: Entry;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** An open archive whose every file entry has passed the checks; folder entries are dropped (folders are made as files need them). */
export class ArchiveReader {
  private constructor(
    private readonly zip: ZipFile,
    /** Every file, by name. */
    readonly files: ReadonlyMap<string, ArchiveEntry>,
  ) {}

  static async open(file: string, limits: ArchiveLimits): Promise<ArchiveReader> {
    const zip = await yauzl
      .openPromise(file, { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true })
      .catch((e: Error) => Promise.reject(new ArchiveRefused(`it is not a zip archive: ${e.message}`)));
    try {
      if (zip.entryCount > limits.entries) throw new ArchiveRefused(`it holds ${zip.entryCount} entries, more than ${limits.entries}`);
      const files = new Map<string, ArchiveEntry>();
      const folders = new Set<string>();
      let declared = 0;
      for await (const entry of zip.eachEntry()) {
        const checked = checkEntry(entry);
        if (checked === null) continue;
        const { name } = checked;
        if (files.has(name)) throw new ArchiveRefused(`entry "${name}" appears twice`);
        declared += checked.size;
        if (declared > limits.bytes) throw new ArchiveRefused(`its entries declare more than ${limits.bytes} bytes unpacked`);
        files.set(name, checked);
        const parts = name.split('/');
        for (let i = 1; i < parts.length; i++) folders.add(parts.slice(0, i).join('/'));
      }
      const clash = [...files.keys()].find((n) => folders.has(n));
      if (clash !== undefined) throw new ArchiveRefused(`entry "${clash}" is both a file and a folder`);
      return new ArchiveReader(zip, files);
    } catch (e) {
      zip.close();
      if (e instanceof ArchiveRefused) throw e;
      throw new ArchiveRefused(`it is not a readable zip archive: ${(e as Error).message}`);
    }
  }

  /** An entry's bytes, for a small file the server reads (the manifest, labels, configs). */
  async read(file: ArchiveEntry, maxBytes: number): Promise<Buffer> {
    if (file.size > maxBytes) throw new ArchiveRefused(`${file.name} is larger than ${maxBytes} bytes`);
    const chunks: Buffer[] = [];
    await this.inflate(file, async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) chunks.push(chunk);
    });
    return Buffer.concat(chunks);
  }

  /** Inflates an entry into a new file (never an existing one, nor through a link). */
  /**
   * Settles only once the file is closed: a refusal can come before the file has even opened,
   * and a caller that then removes the folder must not see the file appear after it.
   */
  async extract(file: ArchiveEntry, to: string): Promise<void> {
    const out = createWriteStream(to, { flags: 'wx', mode: 0o644 });
    try {
      await this.inflate(file, out);
    } finally {
      if (!out.closed) await once(out, 'close').catch(() => undefined);
    }
  }

  close(): void {
    this.zip.close();
  }

  /**
   * The entry's inflated bytes into `sink`, counted. yauzl's refusals (more or fewer bytes than
   * declared, a corrupt deflate stream) are the archive's fault; the file system's errors are not.
   */
  private async inflate(file: ArchiveEntry, sink: NodeJS.WritableStream | ((source: AsyncIterable<Buffer>) => Promise<void>)): Promise<void> {
    try {
      const stream = await this.zip.openReadStreamPromise(file.entry);
      await pipeline(stream, this.counter(file), sink as NodeJS.WritableStream);
    } catch (e) {
      if (e instanceof ArchiveRefused || isSystemError(e)) throw e;
      const message = (e as Error).message;
      if (/^too many bytes/.test(message)) throw this.lying(file);
      throw new ArchiveRefused(`entry "${file.name.slice(0, 200)}" cannot be unpacked: ${message}`);
    }
  }

  private lying(file: ArchiveEntry) {
    return new ArchiveRefused(`entry "${file.name.slice(0, 200)}" inflates to more than the ${file.size} bytes it declares (a zip bomb's lie)`);
  }

  /**
   * Counts inflated bytes against the entry's declared size, as yauzl does too: with the declared
   * sizes' total within the bound, no archive inflates past it, whatever its entries claim.
   */
  private counter(file: ArchiveEntry): Transform {
    const lying = () => this.lying(file);
    let seen = 0;
    return new Transform({
      transform(chunk: Buffer, _encoding, done) {
        seen += chunk.length;
        if (seen > file.size) return done(lying());
        done(null, chunk);
      },
    });
  }
}

/** The entry as a file to unpack, null for a folder, or refused. */
function checkEntry(entry: Entry): ArchiveEntry | null {
  let name: string;
  try {
    name = utf8.decode(entry.fileNameRaw);
  } catch {
    throw new ArchiveRefused('an entry name is not UTF-8');
  }
  const shown = name.slice(0, 200);
  const problem = nameProblem(name);
  if (problem) throw new ArchiveRefused(`entry "${shown}" has ${problem}`);
  const kind = kindOf(name, entry.externalFileAttributes);
  if (kind === 'folder') return null;
  if (kind !== 'file') throw new ArchiveRefused(`entry "${shown}" is ${kind}, not a regular file`);
  if (entry.isEncrypted()) throw new ArchiveRefused(`entry "${shown}" is encrypted`);
  if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8)
    throw new ArchiveRefused(`entry "${shown}" uses compression method ${entry.compressionMethod}; only stored and deflated entries are read`);
  return { name, size: entry.uncompressedSize, entry };
}

/** An error of the file system (a full disk, a read-only store), which is not the archive's fault. */
const isSystemError = (e: unknown): boolean => typeof (e as NodeJS.ErrnoException).syscall === 'string';
