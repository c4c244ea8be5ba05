// Hostile inputs, made on the fly: nothing large is stored in the repository. Used by the tests
// (tests/integration/hostile-input.test.ts, the bad-input corpus) and by `npm run soak`.

import zlib from 'node:zlib';

export interface FormPart {
  name: string;
  filename?: string;
  body: Buffer;
}

/** A multipart/form-data body, written out by hand so that it can be cut anywhere. */
export function multipart(parts: FormPart[], boundary = 'XBOUNDARYX'): { body: Buffer; type: string } {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"${p.filename ? `; filename="${p.filename}"` : ''}\r\n\r\n`), p.body, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), type: `multipart/form-data; boundary=${boundary}` };
}

/**
 * Every length at which `body` (a form from `multipart`) is cut before its closing delimiter,
 * each named by where the cut falls: in a delimiter, in a part's headers, in a field, in a file,
 * or between parts. Every one of them is an incomplete form.
 */
export function multipartCuts(body: Buffer, boundary = 'XBOUNDARYX'): Array<{ at: number; where: string }> {
  const text = body.toString('latin1');
  const end = text.lastIndexOf(`--${boundary}--`);
  const cuts: Array<{ at: number; where: string }> = [];
  for (let at = 0; at < end + 2 + boundary.length + 2; at++) {
    const partStart = text.lastIndexOf(`--${boundary}`, at - 1);
    const headersEnd = partStart < 0 ? -1 : text.indexOf('\r\n\r\n', partStart);
    let where: string;
    if (partStart < 0 || at < partStart + boundary.length + 2) where = 'in a delimiter';
    else if (partStart >= end) where = 'in the closing delimiter';
    else if (at < headersEnd + 4) where = 'in part headers';
    else {
      const nextDelimiter = text.indexOf(`\r\n--${boundary}`, headersEnd);
      const isFile = /filename="/.test(text.slice(partStart, headersEnd));
      where = at <= nextDelimiter ? (isFile ? 'in a file' : 'in a field') : 'between parts';
    }
    cuts.push({ at, where });
  }
  return cuts;
}

/**
 * A progressive JPEG of `scans` identical AC scans over a grey `width` x `height` image: each
 * scan is a few dozen bytes (one end-of-band run covers the whole image) yet costs the decoder
 * a pass over every block. The attack from libjpeg-turbo's "Two Issues with the JPEG Standard".
 */
export function jpegScanBomb(width: number, height: number, scans: number): Buffer {
  const head: number[] = [0xff, 0xd8];
  const u16 = (n: number) => [n >> 8, n & 255];
  const segment = (marker: number, body: number[]) => head.push(0xff, marker, ...u16(body.length + 2), ...body);
  segment(0xdb, [0, ...new Array<number>(64).fill(1)]); // one quantisation table of ones
  segment(0xc2, [8, ...u16(height), ...u16(width), 1, 1, 0x11, 0]); // progressive, one component
  segment(0xc4, [0x00, 1, ...new Array<number>(15).fill(0), 0x00]); // DC: category 0 is "0"
  // AC: every end-of-band run length class; r = 14 (runs of 16384 to 32767 blocks) is "0",
  // r = 0..13 are "10000" + r.
  segment(0xc4, [0x10, 1, 0, 0, 0, 14, ...new Array<number>(11).fill(0), 0xe0, ...Array.from({ length: 14 }, (_, r) => r << 4)]);
  const blocks = Math.ceil(width / 8) * Math.ceil(height / 8);
  const dc = entropyCoded((put) => {
    for (let i = 0; i < blocks; i++) put(0, 1);
  });
  const firstScan = Buffer.from([...head, 0xff, 0xda, ...u16(8), 1, 1, 0x00, 0, 0, 0x00, ...dc]);
  const ac = entropyCoded((put) => {
    for (let left = blocks; left > 0; ) {
      const run = Math.min(left, (1 << 15) - 1);
      const r = 31 - Math.clz32(run);
      if (r === 14) put(0, 1);
      else put(16 + r, 5);
      put(run - (1 << r), r);
      left -= run;
    }
  });
  const scan = Buffer.from([0xff, 0xda, ...u16(8), 1, 1, 0x00, 1, 63, 0x00, ...ac]);
  const body = Buffer.alloc(scan.length * scans);
  for (let i = 0; i < scans; i++) scan.copy(body, i * scan.length);
  return Buffer.concat([firstScan, body, Buffer.from([0xff, 0xd9])]);
}

/** Bits to bytes as JPEG entropy-coded data: MSB first, 0xFF stuffed with 0x00, padded with ones. */
function entropyCoded(write: (put: (value: number, bits: number) => void) => void): number[] {
  const bytes: number[] = [];
  let acc = 0;
  let n = 0;
  const put = (value: number, bits: number) => {
    for (let i = bits - 1; i >= 0; i--) {
      acc = (acc << 1) | ((value >> i) & 1);
      if (++n === 8) {
        bytes.push(acc);
        if (acc === 0xff) bytes.push(0);
        acc = 0;
        n = 0;
      }
    }
  };
  write(put);
  if (n > 0) put(0xff, 8 - n);
  return bytes;
}

/** A JPEG cut in the middle of its data and given an end marker, so that it looks complete. */
export function jpegWithFakeEnd(jpeg: Buffer, fraction = 0.5): Buffer {
  return Buffer.concat([jpeg.subarray(0, Math.floor(jpeg.length * fraction)), Buffer.from([0xff, 0xd9])]);
}

/** A whole JPEG with junk bytes after its first segment: libjpeg warns, but no pixel is missing. */
export function jpegWithExtraneousBytes(jpeg: Buffer): Buffer {
  const afterFirstSegment = 4 + jpeg.readUInt16BE(4);
  return Buffer.concat([jpeg.subarray(0, afterFirstSegment), Buffer.from([1, 2, 3]), jpeg.subarray(afterFirstSegment)]);
}

/** A PNG that declares width x height but carries almost no data: a decompression bomb's header. */
export function pngBomb(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(Buffer.alloc(1024))), chunk('IEND', Buffer.alloc(0))]);
}

/** JSON whose "data" is an array nested `depth` deep: a parser or flattener that recurses overflows its stack. */
export function deeplyNestedV2Request(depth: number, inputName = 'input'): string {
  return `{"inputs":[{"name":"${inputName}","shape":[1,3,224,224],"datatype":"FP32","data":${'['.repeat(depth)}1${']'.repeat(depth)}}]}`;
}

/** A KServe v2 infer request with the binary tensor data extension: a zero tensor of `shape`. */
export function v2BinaryRequest(shape: number[], inputName = 'input'): { body: Buffer; headers: Record<string, string> } {
  const bytes = shape.reduce((a, b) => a * b, 1) * 4;
  const json = Buffer.from(JSON.stringify({ inputs: [{ name: inputName, shape, datatype: 'FP32', parameters: { binary_data_size: bytes } }] }));
  return { body: Buffer.concat([json, Buffer.alloc(bytes)]), headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(json.length) } };
}

/**
 * Other spellings of `path` that a lax router, or an access check that reads the path as a
 * string, might take for it: other letter cases, a trailing slash, percent-encoded letters and
 * slashes, doubled slashes, dot segments.
 */
export function pathSpellings(path: string): string[] {
  const segments = path.split('/');
  const encodeFirst = (s: string) => (s ? `%${s.charCodeAt(0).toString(16).toUpperCase()}${s.slice(1)}` : s);
  const mixed = [...path].map((c, i) => (i % 2 ? c.toUpperCase() : c.toLowerCase())).join('');
  const capitalised = segments.map((s) => s.charAt(0).toUpperCase() + s.slice(1)).join('/');
  const spellings = [
    path.toUpperCase(),
    mixed,
    capitalised,
    `${path}/`,
    segments.map(encodeFirst).join('/'),
    `/${segments.slice(1).join('%2F')}`,
    `/${segments.slice(1).join('%2f')}`,
    `/${path}`,
    path.replace(/\//g, '//'),
    `${segments.slice(0, 2).join('/')}/./${segments.slice(2).join('/')}`,
    `${segments.slice(0, 2).join('/')}/x/../${segments.slice(2).join('/')}`,
    `${path}%00`,
    `${path};`,
  ];
  return [...new Set(spellings)].filter((s) => s !== path);
}
