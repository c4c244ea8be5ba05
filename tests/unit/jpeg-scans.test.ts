import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { exifOrientation, jpegLayout } from '../../server/jpeg-scans.js';
import { jpegScanBomb, jpegWithFakeEnd } from '../../scripts/hostile/inputs.js';
import { readImage } from '../support/paths.js';

describe('jpegLayout', () => {
  it('reads a baseline JPEG: its size and one scan', async () => {
    const kitten = readImage('kitten.jpg');
    const meta = await sharp(kitten).metadata();
    assert.deepEqual(jpegLayout(kitten), { width: meta.width, height: meta.height, progressive: false, scans: 1, orientation: meta.orientation });
  });

  it('counts the scans of progressive JPEGs as libjpeg writes them', async () => {
    const colour = await sharp(readImage('kitten.jpg')).jpeg({ progressive: true }).toBuffer();
    const grey = await sharp(readImage('kitten.jpg')).greyscale().jpeg({ progressive: true }).toBuffer();
    const c = jpegLayout(colour)!;
    assert.equal(c.progressive, true);
    assert.ok(c.scans >= 6 && c.scans <= 12, `colour: ${c.scans} scans`);
    assert.ok(jpegLayout(grey)!.scans >= 4, 'greyscale');
  });

  it('counts a scan bomb exactly, and stops counting once past the limit', () => {
    const bomb = jpegScanBomb(6000, 6000, 5000);
    assert.deepEqual(jpegLayout(bomb), { width: 6000, height: 6000, progressive: true, scans: 5001, orientation: undefined });
    const t0 = performance.now();
    assert.equal(jpegLayout(bomb, 100)!.scans, 101);
    assert.ok(performance.now() - t0 < 50);
  });

  it('is not fooled by 0xFF bytes inside scan data or by restart markers', async () => {
    const withRestarts = await sharp(readImage('dog_malamute.jpg')).jpeg({ quality: 100 }).toBuffer();
    assert.equal(jpegLayout(withRestarts)!.scans, 1);
  });

  it('answers null for what is not a JPEG, and what it has for a cut one', () => {
    assert.equal(jpegLayout(Buffer.from('not a jpeg')), null);
    assert.equal(jpegLayout(Buffer.from([0xff, 0xd8])), null);
    const cut = jpegWithFakeEnd(readImage('kitten.jpg'));
    assert.equal(jpegLayout(cut)!.scans, 1);
    assert.equal(jpegLayout(readImage('kitten.jpg').subarray(0, 20)), null, 'cut before its frame header');
  });
});

describe('EXIF orientation from the markers', () => {
  it('agrees with libvips for every orientation', async () => {
    const plain = await sharp({ create: { width: 48, height: 32, channels: 3, background: '#808080' } })
      .jpeg()
      .toBuffer();
    assert.equal(jpegLayout(plain)!.orientation, undefined);
    for (let orientation = 1; orientation <= 8; orientation++) {
      const jpeg = await sharp(plain).withMetadata({ orientation }).jpeg().toBuffer();
      const meta = await sharp(jpeg).metadata();
      assert.equal(meta.orientation, orientation);
      assert.equal(jpegLayout(jpeg)!.orientation, orientation);
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
