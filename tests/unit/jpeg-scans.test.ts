import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { exifOrientation, type JpegLayout, type JpegRefusal, jpegLayout } from '../../server/image/jpeg-scans.js';
import { jpegScanBomb, jpegWithFakeEnd } from '../../scripts/hostile/inputs.js';
import { jpegPassedOverVariants, jpegRefusedVariants } from '../../scripts/hostile/jpeg-markers.js';
import { readImage } from '../support/paths.js';

function layoutOf(bytes: Uint8Array, stopAfter?: number): JpegLayout {
  const layout = jpegLayout(bytes, stopAfter);
  assert.ok(!('refused' in layout), `refused: ${(layout as JpegRefusal).refused}`);
  return layout;
}

function refusal(bytes: Uint8Array): string {
  const layout = jpegLayout(bytes);
  assert.ok('refused' in layout, `not refused: ${JSON.stringify(layout)}`);
  return layout.refused;
}

/** Every pixel libjpeg makes of `jpeg`, failing on errors only (libjpeg warns of the bytes it passes over). */
const pixels = (jpeg: Buffer) => sharp(jpeg, { failOn: 'error' }).raw().toBuffer();

describe('jpegLayout', () => {
  it('reads a baseline JPEG: its size and one scan', async () => {
    const kitten = readImage('kitten.jpg');
    const meta = await sharp(kitten).metadata();
    assert.deepEqual(jpegLayout(kitten), { width: meta.width, height: meta.height, progressive: false, scans: 1, orientation: meta.orientation, strayBytesBeforeScans: false });
  });

  it('counts the scans of progressive JPEGs as libjpeg writes them', async () => {
    const colour = await sharp(readImage('kitten.jpg')).jpeg({ progressive: true }).toBuffer();
    const grey = await sharp(readImage('kitten.jpg')).greyscale().jpeg({ progressive: true }).toBuffer();
    const c = layoutOf(colour);
    assert.equal(c.progressive, true);
    assert.ok(c.scans >= 6 && c.scans <= 12, `colour: ${c.scans} scans`);
    assert.ok(layoutOf(grey).scans >= 4, 'greyscale');
  });

  it('counts a scan bomb exactly, and stops counting once past the limit', () => {
    const bomb = jpegScanBomb(6000, 6000, 5000);
    assert.deepEqual(jpegLayout(bomb), { width: 6000, height: 6000, progressive: true, scans: 5001, orientation: undefined, strayBytesBeforeScans: false });
    assert.equal(layoutOf(bomb, 100).scans, 101);
  });

  it('is not fooled by 0xFF bytes inside scan data or by restart markers', async () => {
    const withRestarts = await sharp(readImage('dog_malamute.jpg')).jpeg({ quality: 100 }).toBuffer();
    assert.equal(layoutOf(withRestarts).scans, 1);
  });

  it('reads a JPEG cut short as far as it goes', () => {
    assert.equal(layoutOf(jpegWithFakeEnd(readImage('kitten.jpg'))).scans, 1);
    assert.equal(layoutOf(readImage('kitten.jpg').subarray(0, 2000)).scans, 1, 'cut inside its scan');
  });

  it('refuses what libjpeg would not decode at all: not a JPEG, no frame header', () => {
    assert.match(refusal(Buffer.from('not a jpeg')), /does not begin with a start-of-image marker/);
    assert.match(refusal(Buffer.from([0xff, 0xd8])), /no frame header/);
    assert.match(refusal(readImage('kitten.jpg').subarray(0, 20)), /no frame header/, 'cut before its frame header');
    assert.match(refusal(Buffer.from([0xff, 0xd8, 0xff, 0xd9, ...readImage('kitten.jpg')])), /no frame header/, 'an end marker first');
  });
});

describe('jpegLayout follows the markers as libjpeg does', () => {
  // The report's bypass, a scan bomb with one 0x00 byte after its frame header, and its kin.
  for (const v of jpegPassedOverVariants(jpegScanBomb(64, 64, 3000))) {
    it(`a scan bomb with ${v.name}: every scan counted`, () => {
      const layout = layoutOf(v.bytes);
      assert.equal(layout.scans, 3001);
      assert.equal(layout.strayBytesBeforeScans, v.stray);
      assert.equal(layoutOf(v.bytes, 100).scans, 101, 'and refused under max_jpeg_scans 100');
    });
  }

  it('libjpeg decodes every scan of each of them: the pixels are those of the JPEG as it was', async () => {
    // Progressive, so that each scan refines the pixels: a scan libjpeg lost would show.
    const jpeg = await sharp(readImage('kitten.jpg')).jpeg({ progressive: true }).toBuffer();
    const { scans } = layoutOf(jpeg);
    const expected = await pixels(jpeg);
    for (const v of jpegPassedOverVariants(jpeg)) {
      assert.equal(layoutOf(v.bytes).scans, scans, v.name);
      assert.ok((await pixels(v.bytes)).equals(expected), `${v.name}: libjpeg decoded other pixels`);
    }
  });

  it('says when libjpeg will warn of stray bytes before the first scan, as libjpeg does', async () => {
    const jpeg = await sharp(readImage('kitten.jpg')).jpeg({ progressive: true }).toBuffer();
    const failingOnWarnings = (bytes: Buffer) => sharp(bytes, { failOn: 'warning' }).raw().toBuffer();
    for (const v of jpegPassedOverVariants(jpeg).filter((v) => !/after the first scan/.test(v.name))) {
      if (v.stray) await assert.rejects(failingOnWarnings(v.bytes), /extraneous bytes before marker/, v.name);
      else await assert.doesNotReject(failingOnWarnings(v.bytes), v.name);
    }
  });

  it('refuses markers libjpeg refuses, which libjpeg does refuse', async () => {
    const jpeg = await sharp(readImage('kitten.jpg')).jpeg({ progressive: true }).toBuffer();
    const reasons = new Map([
      ['an unknown marker (0xFF02)', /a marker libjpeg does not decode \(0xFF02 at byte \d+\)/],
      ['a second start-of-image marker', /a second start-of-image marker/],
      ['a second frame header', /a second frame header/],
      ['a scan header before the frame header', /comes before the frame header/],
      ['a differential frame (SOF5)', /a marker libjpeg does not decode \(0xFFC5/],
    ]);
    for (const v of jpegRefusedVariants(jpeg)) {
      assert.match(refusal(v.bytes), reasons.get(v.name)!, v.name);
      await assert.rejects(pixels(v.bytes), `${v.name}: libjpeg decoded it`);
    }
  });

  it('refuses frame and scan headers whose length does not match their components', () => {
    const bomb = jpegScanBomb(64, 64, 2);
    const sof = bomb.indexOf(Buffer.from([0xff, 0xc2]));
    const badFrame = Buffer.from(bomb);
    badFrame.writeUInt16BE(12, sof + 2);
    assert.match(refusal(badFrame), /frame header \(0xFFC2\) has a length/);
    const sos = bomb.indexOf(Buffer.from([0xff, 0xda]));
    const badScan = Buffer.from(bomb);
    badScan.writeUInt16BE(1, sos + 2);
    assert.match(refusal(badScan), /scan header \(SOS at byte \d+\) has a length/);
  });
});

describe('EXIF orientation from the markers', () => {
  it('agrees with libvips for every orientation', async () => {
    const plain = await sharp({ create: { width: 48, height: 32, channels: 3, background: '#808080' } })
      .jpeg()
      .toBuffer();
    assert.equal(layoutOf(plain).orientation, undefined);
    for (let orientation = 1; orientation <= 8; orientation++) {
      const jpeg = await sharp(plain).withMetadata({ orientation }).jpeg().toBuffer();
      const meta = await sharp(jpeg).metadata();
      assert.equal(meta.orientation, orientation);
      assert.equal(layoutOf(jpeg).orientation, orientation);
    }
  });

  it('reads both byte orders and refuses what is malformed', () => {
    // A TIFF header and one IFD entry: tag 0x0112, SHORT, count 1, value 6.
    const big = Buffer.from([0x4d, 0x4d, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]);
    const little = Buffer.from([0x49, 0x49, 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0]);
    assert.equal(exifOrientation(big), 6);
    assert.equal(exifOrientation(little), 6);
    assert.equal(exifOrientation(big.subarray(0, 15)), undefined, 'cut inside the entry');
    const outOfRange = Buffer.from(big);
    outOfRange[19] = 9;
    assert.equal(exifOrientation(outOfRange), undefined);
    const badOffset = Buffer.from(big);
    badOffset.writeUInt32BE(1000, 4);
    assert.equal(exifOrientation(badOffset), undefined);
  });
});
