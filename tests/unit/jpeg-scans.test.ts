import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { jpegLayout } from '../../server/jpeg-scans.js';
import { jpegScanBomb, jpegWithFakeEnd } from '../../scripts/hostile/inputs.js';
import { readImage } from '../support/paths.js';

describe('jpegLayout', () => {
  it('reads a baseline JPEG: its size and one scan', async () => {
    const kitten = readImage('kitten.jpg');
    const meta = await sharp(kitten).metadata();
    assert.deepEqual(jpegLayout(kitten), { width: meta.width, height: meta.height, progressive: false, scans: 1 });
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
    assert.deepEqual(jpegLayout(bomb), { width: 6000, height: 6000, progressive: true, scans: 5001 });
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
