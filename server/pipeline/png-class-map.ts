// A class map as a PNG: 8-bit greyscale, one channel, each pixel's value its class index, the
// size of the model's output. Written here rather than by sharp, which lives in the decode
// processes: the only heavy step is the deflate, which node:zlib runs on its thread pool, off the
// event loop.

import { promisify } from 'node:util';
import { crc32, deflate } from 'node:zlib';

const deflateAsync = promisify(deflate);

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const GREYSCALE = 0;

/** A PNG chunk: length, type, data, and the CRC-32 of type and data. */
function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(data, crc32(head.subarray(4))), 0);
  return Buffer.concat([head, data, crc]);
}

/** `values` (width x height bytes, row by row) as a greyscale PNG. */
export async function greyscalePng(values: Uint8Array, width: number, height: number): Promise<Buffer> {
  if (values.length !== width * height || width < 1 || height < 1) throw new RangeError(`${values.length} values are not ${width}x${height} pixels`);
  // Each row starts with its filter type: 0, none (class maps are flat runs deflate takes well as they are).
  const rows = Buffer.alloc(height * (width + 1));
  for (let y = 0; y < height; y++) rows.set(values.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = GREYSCALE;
  // compression 0 (deflate), filter 0 (adaptive, per row), interlace 0 (none)
  return Buffer.concat([SIGNATURE, chunk('IHDR', header), chunk('IDAT', await deflateAsync(rows)), chunk('IEND', Buffer.alloc(0))]);
}
