// The real sharp on images made here, checked against pixels computed by hand.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import sharp, { type Sharp } from 'sharp';
import type { DecodeJob } from '../../server/image/decode-messages.js';
import { ApiError } from '../../server/errors.js';
import { type DecodeGate, preprocess, UNGATED } from '../../server/image/preprocess.js';
import { jpegScanBomb, jpegWithExtraneousBytes, jpegWithFakeEnd } from '../../scripts/hostile/inputs.js';
import { jpegPassedOverVariants, jpegRefusedVariants } from '../../scripts/hostile/jpeg-markers.js';
import { resizeGeometry } from '../../browser-runtime/resize-crop.js';

const OPTS = { resize: 256, crop: 224, maxPixels: 40_000_000, maxJpegScans: 100 };
const px = (out: Uint8Array, x: number, y: number) => [...out.subarray((y * 224 + x) * 3, (y * 224 + x) * 3 + 3)];

/** width x height RGB, left half `left`, right half `right`. */
async function halves(width: number, height: number, left: number[], right: number[]): Promise<Sharp> {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) raw.set(x < width / 2 ? left : right, (y * width + x) * 3);
  return sharp(raw, { raw: { width, height, channels: 3 } });
}

const solid = (width: number, height: number, channels: 1 | 3 | 4, value: number[]) =>
  sharp({
    create: {
      width,
      height,
      channels: channels === 1 ? 3 : channels,
      background: channels === 4 ? { r: value[0]!, g: value[1]!, b: value[2]!, alpha: value[3]! / 255 } : { r: value[0]!, g: value[1] ?? value[0]!, b: value[2] ?? value[0]! },
    },
  });

describe('resizeGeometry (torchvision Resize(256) + CenterCrop(224))', () => {
  it('640x480 landscape', () => {
    // 480 -> 256: scale 0.5333; 640 * 0.5333 = 341.33 -> 341; crop offsets floor((341-224)/2)=58, (256-224)/2=16
    assert.deepEqual(resizeGeometry(640, 480, 256, 224), { width: 341, height: 256, left: 58, top: 16 });
  });
  it('portrait and square', () => {
    assert.deepEqual(resizeGeometry(300, 600, 256, 224), { width: 256, height: 512, left: 16, top: 144 });
    assert.deepEqual(resizeGeometry(224, 224, 256, 224), { width: 256, height: 256, left: 16, top: 16 });
  });
  it('a very thin image never gets a side shorter than the crop', () => {
    const g = resizeGeometry(10000, 10, 256, 224);
    assert.equal(g.height, 256);
    assert.ok(g.width >= 224);
  });
});

describe('preprocess', () => {
  it('crops the centre: a 512x256 red|blue image keeps the split at column 112', async () => {
    const png = await (await halves(512, 256, [255, 0, 0], [0, 0, 255])).png().toBuffer();
    const out = await preprocess(png, OPTS, UNGATED);
    assert.equal(out.length, 224 * 224 * 3);
    // No resize (shorter side is already 256); crop from x=144: columns 144..255 red, 256..367 blue.
    assert.deepEqual(px(out, 0, 0), [255, 0, 0]);
    assert.deepEqual(px(out, 111, 100), [255, 0, 0]);
    assert.deepEqual(px(out, 112, 100), [0, 0, 255]);
    assert.deepEqual(px(out, 223, 223), [0, 0, 255]);
  });

  it('applies EXIF orientation before cropping', async () => {
    // Stored 512x256 left red / right blue, orientation 6 = shown rotated 90 degrees clockwise:
    // 256 wide, 512 tall, red on top. The crop starts at y=144, so rows 0..111 red, 112.. blue.
    const jpeg = await (await halves(512, 256, [255, 0, 0], [0, 0, 255])).withMetadata({ orientation: 6 }).jpeg({ quality: 100 }).toBuffer();
    const out = await preprocess(jpeg, OPTS, UNGATED);
    const near = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - b[i]!) <= 8);
    assert.ok(near(px(out, 100, 20), [255, 0, 0]), `top ${px(out, 100, 20)}`);
    assert.ok(near(px(out, 100, 200), [0, 0, 255]), `bottom ${px(out, 100, 200)}`);
  });

  it('expands greyscale to RGB and drops alpha', async () => {
    const grey = await solid(300, 300, 3, [77]).toColourspace('b-w').png().toBuffer();
    assert.equal((await sharp(grey).metadata()).channels, 1);
    assert.deepEqual(px(await preprocess(grey, OPTS, UNGATED), 5, 5), [77, 77, 77]);
    const rgba = await sharp(Buffer.alloc(300 * 300 * 4).fill(Buffer.from([10, 20, 30, 128])), { raw: { width: 300, height: 300, channels: 4 } })
      .png()
      .toBuffer();
    assert.equal((await sharp(rgba).metadata()).channels, 4);
    // sharp resizes with premultiplied alpha: one level of rounding is allowed.
    const p = px(await preprocess(rgba, OPTS, UNGATED), 5, 5);
    assert.ok(
      p.every((v, i) => Math.abs(v - [10, 20, 30][i]!) <= 1),
      `rgba -> ${p}`,
    );
  });

  it('converts CMYK and 16-bit images to 8-bit RGB', async () => {
    const cmyk = await solid(300, 300, 3, [200, 100, 50]).toColourspace('cmyk').jpeg({ quality: 100 }).toBuffer();
    assert.equal((await sharp(cmyk).metadata()).space, 'cmyk');
    const c = px(await preprocess(cmyk, OPTS, UNGATED), 50, 50);
    // CMYK round trips through colour profiles are not exact; the hue must survive.
    assert.ok(Math.abs(c[0]! - 200) < 20 && c[0]! > c[1]! && c[1]! > c[2]!, `cmyk -> ${c}`);
    const deep = await solid(300, 300, 3, [255, 128, 0]).toColourspace('rgb16').png().toBuffer();
    assert.equal((await sharp(deep).metadata()).depth, 'ushort');
    const d = px(await preprocess(deep, OPTS, UNGATED), 50, 50);
    assert.ok(Math.abs(d[0]! - 255) <= 1 && Math.abs(d[1]! - 128) <= 1 && d[2]! <= 1, `16-bit -> ${d}`);
  });

  for (const format of ['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif'] as const) {
    it(`decodes ${format}`, async () => {
      const bytes = await solid(320, 240, 3, [40, 160, 220]).toFormat(format).toBuffer();
      const p = px(await preprocess(bytes, OPTS, UNGATED), 112, 112);
      assert.ok(
        p.every((v, i) => Math.abs(v - [40, 160, 220][i]!) <= 12),
        `${format} -> ${p}`,
      );
    });
  }

  it('refuses an image over max_image_pixels with 413 before decoding it', async () => {
    const big = await solid(2000, 1000, 3, [0, 0, 0]).png().toBuffer();
    await assert.rejects(preprocess(big, { ...OPTS, maxPixels: 1_000_000 }, UNGATED), (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.status, 413);
      assert.match(e.message, /2000x1000.*max_image_pixels/);
      return true;
    });
  });

  it('refuses empty, non-raster and truncated bodies with 400', async () => {
    const jpeg = await solid(320, 240, 3, [1, 2, 3]).jpeg().toBuffer();
    for (const [body, message] of [
      [Buffer.alloc(0), /empty/],
      [Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'), /SVG/],
      [jpeg.subarray(0, jpeg.length / 2), /could not be/],
      [Buffer.concat([jpeg.subarray(0, 12), Buffer.alloc(500, 7)]), /could not be/],
    ] as const) {
      await assert.rejects(preprocess(body, OPTS, UNGATED), (e: unknown) => {
        assert.ok(e instanceof ApiError && e.status === 400, String(e));
        assert.match(e.message, message);
        return true;
      });
    }
  });

  it('refuses a JPEG cut short behind a fake end marker, every time, and decodes one whose warning is harmless', async () => {
    const whole = await solid(320, 240, 3, [10, 200, 30]).jpeg().toBuffer();
    const fake = jpegWithFakeEnd(whole);
    // Many at once: libvips' one error buffer may lose the warning's text under concurrency.
    const results = await Promise.allSettled(Array.from({ length: 32 }, () => preprocess(fake, OPTS, UNGATED)));
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.ok(r.reason instanceof ApiError && r.reason.status === 400, String(r.reason));
    }
    const odd = jpegWithExtraneousBytes(whole);
    assert.deepEqual(await preprocess(odd, OPTS, UNGATED), await preprocess(whole, OPTS, UNGATED));
  });

  it('decodes a JPEG with bytes libjpeg passes over between its segments as the JPEG without them', async () => {
    const jpeg = await (await halves(512, 256, [255, 0, 0], [0, 0, 255])).jpeg({ progressive: true }).toBuffer();
    const expected = await preprocess(jpeg, OPTS, UNGATED);
    for (const v of jpegPassedOverVariants(jpeg)) assert.deepEqual(await preprocess(v.bytes, OPTS, UNGATED), expected, v.name);
  });

  it('refuses, before any decode, scan bombs that pass bytes over and JPEGs whose markers libjpeg refuses', async () => {
    const jobs: DecodeJob[] = [];
    const watched: DecodeGate = { run: (heavy, job) => (jobs.push(job), UNGATED.run(heavy, job)) };
    for (const v of jpegPassedOverVariants(jpegScanBomb(64, 64, 3000))) {
      await assert.rejects(preprocess(v.bytes, OPTS, watched), (e: unknown) => e instanceof ApiError && e.status === 400 && /more than 100 scans \(max_jpeg_scans\)/.test(e.message), v.name);
    }
    const jpeg = await solid(320, 240, 3, [1, 2, 3]).jpeg({ progressive: true }).toBuffer();
    for (const v of jpegRefusedVariants(jpeg)) {
      await assert.rejects(preprocess(v.bytes, OPTS, watched), (e: unknown) => e instanceof ApiError && e.status === 400 && /^The JPEG image could not be read: /.test(e.message), v.name);
    }
    assert.deepEqual(jobs, []);
  });

  it('sends the gate one job per JPEG, failing on errors at once when its first warning is known to be harmless', async () => {
    const jobs: Array<{ heavy: boolean; job: DecodeJob }> = [];
    const watched: DecodeGate = { run: (heavy, job) => (jobs.push({ heavy, job }), UNGATED.run(heavy, job)) };
    const jpeg = await solid(320, 240, 3, [10, 200, 30]).jpeg({ progressive: true }).toBuffer();
    const [stray] = jpegPassedOverVariants(jpeg).filter((v) => v.stray);
    await preprocess(jpeg, OPTS, watched);
    await preprocess(stray!.bytes, OPTS, watched);
    assert.deepEqual(
      jobs.map(({ heavy, job }) => ({ heavy, kind: job.kind, failOn: job.kind === 'pixels' && job.failOn })),
      [
        { heavy: false, kind: 'pixels', failOn: 'warning' },
        { heavy: false, kind: 'pixels', failOn: 'error' },
      ],
    );
    jobs.length = 0;
    const png = await solid(6000, 4000, 3, [10, 200, 30]).png({ compressionLevel: 1 }).toBuffer();
    await preprocess(png, OPTS, watched);
    assert.deepEqual(
      jobs.map(({ heavy, job }) => ({ heavy, kind: job.kind })),
      [
        { heavy: false, kind: 'header' },
        { heavy: true, kind: 'pixels' },
      ],
      'a PNG: its header read, then a decode heavy for its size',
    );
  });
});
