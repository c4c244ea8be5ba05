import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { describeUnknownBody, sniffRasterFormat, type RasterFormat } from '../../server/image/image-format.js';

const base = () => sharp({ create: { width: 8, height: 8, channels: 3, background: '#f00' } });

/** An ISO BMFF file start: a 'ftyp' box with the given major brand, padded to 32 bytes. */
function ftyp(brand: string): Buffer {
  const out = Buffer.alloc(32);
  out.writeUInt32BE(24, 0);
  out.write('ftyp', 4, 'latin1');
  out.write(brand, 8, 'latin1');
  out.write('mif1miaf', 16, 'latin1');
  return out;
}

const text = (s: string) => Buffer.from(s, 'utf8');

describe('sniffRasterFormat', () => {
  const encoded = new Map<RasterFormat, Buffer>();

  before(async () => {
    encoded.set('jpeg', await base().jpeg().toBuffer());
    encoded.set('png', await base().png().toBuffer());
    encoded.set('gif', await base().gif().toBuffer());
    encoded.set('webp', await base().webp().toBuffer());
    encoded.set('tiff', await base().tiff().toBuffer());
    encoded.set('avif', await base().avif().toBuffer());
  });

  for (const format of ['jpeg', 'png', 'gif', 'webp', 'tiff', 'avif'] as const) {
    it(`recognises a ${format} file written by sharp`, async () => {
      const bytes = encoded.get(format)!;
      // Check that sharp really wrote that format, so the test does not depend on sniffRasterFormat alone.
      assert.equal((await sharp(bytes).metadata()).format, format === 'avif' ? 'heif' : format);
      assert.equal(sniffRasterFormat(bytes), format);
      assert.equal(sniffRasterFormat(new Uint8Array(bytes)), format, 'a plain Uint8Array works too');
    });
  }

  it('needs only the first 12 bytes', () => {
    for (const [format, bytes] of encoded) assert.equal(sniffRasterFormat(bytes.subarray(0, 12)), format, format);
  });

  it('recognises GIF87a and big-endian TIFF headers', () => {
    assert.equal(sniffRasterFormat(Buffer.concat([text('GIF87a'), Buffer.alloc(10)])), 'gif');
    assert.equal(sniffRasterFormat(Buffer.from([0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8, 0, 0, 0, 0])), 'tiff');
  });

  it('tells AVIF from HEIF by the ftyp brand', () => {
    assert.equal(sniffRasterFormat(ftyp('avif')), 'avif');
    assert.equal(sniffRasterFormat(ftyp('avis')), 'avif');
    for (const brand of ['heic', 'heix', 'mif1', 'msf1']) assert.equal(sniffRasterFormat(ftyp(brand)), 'heif', brand);
    assert.equal(sniffRasterFormat(ftyp('mp42')), null, 'an MP4 video is not an image');
    assert.equal(sniffRasterFormat(ftyp('isom')), null);
  });

  it('returns null for text, SVG, PDF and other bodies', () => {
    const bodies: Array<[string, Uint8Array]> = [
      ['text', text('hello, this is plain text')],
      ['json', text('{"data": "aGVsbG8gd29ybGQ="}')],
      ['svg', text('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"></svg>')],
      ['xml svg', text('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>')],
      ['pdf', text('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj')],
      ['zeros', new Uint8Array(64)],
      ['RIFF but not WEBP', Buffer.concat([text('RIFF'), Buffer.alloc(4), text('WAVEfmt ')])],
      ['truncated PNG signature', Buffer.concat([Buffer.from([0x89]), text('PNG\r\n\x1a'), Buffer.alloc(8)])],
      ['GIF88a', Buffer.concat([text('GIF88a'), Buffer.alloc(10)])],
      ['JPEG with two marker bytes only', Buffer.concat([Buffer.from([0xff, 0xd8, 0x00]), Buffer.alloc(12)])],
    ];
    for (const [name, bytes] of bodies) assert.equal(sniffRasterFormat(bytes), null, name);
  });

  it('returns null for fewer than 12 bytes, even with a valid signature', () => {
    assert.equal(sniffRasterFormat(new Uint8Array(0)), null);
    assert.equal(sniffRasterFormat(Buffer.from([0xff, 0xd8, 0xff, 0xe0])), null);
    assert.equal(sniffRasterFormat(encoded.get('png')!.subarray(0, 11)), null);
    assert.equal(sniffRasterFormat(encoded.get('jpeg')!.subarray(0, 11)), null);
  });
});

describe('describeUnknownBody', () => {
  it('labels SVG, with or without an XML declaration or leading whitespace', () => {
    const svg = 'SVG (vector images are not accepted)';
    assert.equal(describeUnknownBody(text('<svg xmlns="http://www.w3.org/2000/svg"></svg>')), svg);
    assert.equal(describeUnknownBody(text('\n\t  <SVG width="1"></SVG>')), svg);
    assert.equal(describeUnknownBody(text('<?xml version="1.0" encoding="UTF-8"?>\n<root/>')), svg);
    assert.equal(describeUnknownBody(text('<!-- generator: x -->\n<svg></svg>')), svg);
  });

  it('labels PDF', () => {
    assert.equal(describeUnknownBody(text('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n')), 'PDF');
    assert.equal(describeUnknownBody(text('  %pdf-1.7')), 'PDF');
  });

  it('labels printable ASCII as text', () => {
    assert.equal(describeUnknownBody(text('hello world\r\n\tline two')), 'text');
    assert.equal(describeUnknownBody(text('{"instances": [[1, 2, 3]]}')), 'text');
    assert.equal(describeUnknownBody(text('--boundary\r\nContent-Disposition: form-data; name="data"\r\n')), 'text');
  });

  it('labels anything else as unrecognised bytes', () => {
    assert.equal(describeUnknownBody(new Uint8Array([0x00, 0x01, 0x02, 0xff, 0xfe])), 'unrecognised bytes');
    assert.equal(describeUnknownBody(Buffer.from('text with a NUL\0 inside', 'latin1')), 'unrecognised bytes');
    assert.equal(describeUnknownBody(text('caf\u00e9')), 'unrecognised bytes', 'non-ASCII UTF-8 is not plain text');
  });

  it('looks only at the first 256 bytes', () => {
    const body = Buffer.concat([text('a'.repeat(256)), new Uint8Array([0, 1, 2, 3])]);
    assert.equal(describeUnknownBody(body), 'text');
    const late = Buffer.concat([text(' '.repeat(300)), text('<svg/>')]);
    assert.equal(describeUnknownBody(late), 'text', 'an <svg> after 256 bytes of blanks is not seen');
  });
});
