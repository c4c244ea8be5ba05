// The sharp work of one decode job: the only place sharp is used. It runs inside an image decode
// process (decode-worker.ts) for the server, or in the calling process for tools and tests that
// decode their own images (preprocess.ts's UNGATED).

import sharp, { type FailOnOptions } from 'sharp';
import type { DecodeJob, ImageHeader, PixelsJob } from './decode-messages.js';
import { pilResizeAndCrop } from './pil-resample.js';

// libvips' operation cache keeps recent results keyed by their input; every request's input is
// new, so the cache would only hold memory.
sharp.cache(false);

// libjpeg only warns when data is missing (a file cut short and given an end marker decodes to
// grey), so JPEGs are decoded failing on warnings. The warnings that say nothing of the pixels
// (extra bytes between segments, odd SOS parameters: common in camera files) are recognised by
// their text and the JPEG decoded again, failing on errors only. Any other warning refuses it,
// including one whose text is lost: libvips keeps one error buffer for all threads, and under
// concurrent failures in one process sharp may report only "Warning treated as error".
const HARMLESS_WARNING = /extraneous bytes before marker|invalid SOS parameters|unknown JFIF revision|unknown Adobe color transform|bad ICC marker|inconsistent progression sequence/i;

const INPUT = { pages: 1, sequentialRead: true } as const;

export async function runDecodeJob(job: DecodeJob): Promise<ImageHeader | Uint8Array> {
  const bytes = Buffer.from(job.bytes.buffer, job.bytes.byteOffset, job.bytes.byteLength);
  if (job.kind === 'header') {
    // No pixel limit: the caller checks it, with a message that names the setting.
    const meta = await sharp(bytes, { ...INPUT, limitInputPixels: false }).metadata();
    return { width: meta.width, height: meta.height, orientation: meta.orientation };
  }
  if (job.failOn === 'error') return decode(bytes, job, 'error');
  try {
    return await decode(bytes, job, 'warning');
  } catch (e) {
    if (!HARMLESS_WARNING.test(String(e))) throw e;
    return decode(bytes, job, 'error');
  }
}

async function decode(bytes: Buffer, job: PixelsJob, failOn: FailOnOptions): Promise<Uint8Array> {
  const { geometry: g, crop, pil } = job;
  // PIL applies no colour profile.
  const pipeline = sharp(bytes, { ...INPUT, limitInputPixels: job.maxPixels, failOn, ignoreIcc: pil })
    .rotate() // EXIF orientation
    .removeAlpha()
    .toColourspace('srgb'); // greyscale and CMYK become RGB
  const box = job.letterbox;
  if (box) {
    const grey = { r: box.fill, g: box.fill, b: box.fill };
    // extend() pads the resized image, not the input: one pipeline, no second decode.
    pipeline
      .resize(box.width, box.height, { kernel: 'linear', fit: 'fill' })
      .extend({ left: box.left, top: box.top, right: box.size - box.width - box.left, bottom: box.size - box.height - box.top, background: grey });
  } else if (!pil) pipeline.resize(g.width, g.height, { kernel: 'linear', fit: 'fill' }).extract({ left: g.left, top: g.top, width: crop, height: crop });
  const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}`);
  return pil ? pilResizeAndCrop(data, info.width, info.height, g, crop) : data;
}
