// Image bytes to the uint8 RGB square the runtime page normalises. The only place sharp is used.
//
// Untrusted images are checked before any pixel is decoded: the format from the first bytes,
// a JPEG's scan count from its markers, the size from the header. What is left costs at most a
// known amount, and runs through a gate (the decode pool) that bounds how many decodes run at
// once and for how long a request waits for one.

import sharp, { type FailOnOptions, type Metadata } from 'sharp';
import { ApiError, badRequest, imageTooLarge } from './errors.js';
import { describeUnknownBody, sniffRasterFormat, type RasterFormat } from './image-format.js';
import { jpegLayout, type JpegLayout } from './jpeg-scans.js';
import { resizeGeometry } from '../browser-runtime/resize-crop.js';
import type { Resampling } from './model-config.js';
import { pilResizeAndCrop, torchvisionGeometry } from './pil-resample.js';

// libvips' operation cache keeps recent results keyed by their input; every request's input is
// new, so the cache would only hold memory.
sharp.cache(false);

export interface PreprocessOptions {
  /** Shorter side after the resize. */
  resize: number;
  /** Side of the centre crop. */
  crop: number;
  maxPixels: number;
  /** Most scans a JPEG may have (max_jpeg_scans). */
  maxJpegScans: number;
  /**
   * `sharp` (the default): libvips' linear reduce, JPEGs shrunk while they load. `pil`: as
   * TorchServe's torchvision does it with PIL: decoded whole without colour profile, then
   * resized and cropped in pil-resample.ts.
   */
  resampling?: Resampling;
}

/**
 * Where sharp's work runs. `heavy` work (large or many-pass images) may be held back so that
 * ordinary images keep a slot; `timeoutSeconds` is what libvips may spend before giving up.
 */
export interface DecodeGate {
  run<T>(heavy: boolean, work: (timeoutSeconds: number) => Promise<T>): Promise<T>;
}

/** No bound at all: for tools and tests that decode their own images. */
export const UNGATED: DecodeGate = { run: (_heavy, work) => work(0) };

// Orientations 5 to 8 swap width and height.
const swapsSides = (orientation: number | undefined) => orientation !== undefined && orientation >= 5 && orientation <= 8;

// libjpeg only warns when data is missing (a file cut short and given an end marker decodes to
// grey), so JPEGs are decoded failing on warnings. The warnings that say nothing of the pixels
// (extra bytes between segments, odd SOS parameters: common in camera files) are recognised by
// their text and the JPEG decoded again, failing on errors only. Any other warning refuses it,
// including one whose text is lost: libvips keeps one error buffer for all threads, and under
// concurrent failures sharp may report only "Warning treated as error".
const HARMLESS_WARNING = /extraneous bytes before marker|invalid SOS parameters|unknown JFIF revision|unknown Adobe color transform|bad ICC marker|inconsistent progression sequence/i;

/**
 * What decoding will cost, roughly, in ns per pixel (measured on a 2-core Xeon): baseline JPEGs
 * are shrunk while they load; each scan of a progressive one is a pass over every block; other
 * formats decode in full. With `pil` resampling every image is decoded whole and resampled in
 * JavaScript, about 10 ns a pixel more, and a baseline JPEG about 15 more (2-core EPYC).
 */
function nsPerPixel(format: RasterFormat, jpeg: JpegLayout | null, pil: boolean): number {
  const resample = pil ? 10 : 0;
  if (format !== 'jpeg' || !jpeg) return 10 + resample;
  if (jpeg.progressive) return 4 + 0.5 * jpeg.scans + resample;
  return pil ? 2 + 15 + resample : 2;
}

/** Decodes that take longer than this run in the heavy lane. */
const HEAVY_MS = 50;

export async function preprocess(body: Uint8Array, opts: PreprocessOptions, gate: DecodeGate): Promise<Buffer> {
  if (body.length === 0) throw badRequest('The request body is empty; send an image (raw, or as the "data" field of a multipart form).');
  const format = sniffRasterFormat(body);
  if (!format) throw badRequest(`The request body is not a supported image (it looks like ${describeUnknownBody(body)}); send JPEG, PNG, WebP, GIF, TIFF or AVIF.`);
  const name = format.toUpperCase();
  const jpeg = format === 'jpeg' ? jpegLayout(body, opts.maxJpegScans) : null;
  if (jpeg && jpeg.scans > opts.maxJpegScans) {
    throw badRequest(`The JPEG image has more than ${opts.maxJpegScans} scans (max_jpeg_scans), each a pass over the whole image; encoders write 1 to 12. Re-encode it.`);
  }

  const input = { limitInputPixels: opts.maxPixels, pages: 1, sequentialRead: true } as const;
  let meta: Pick<Metadata, 'width' | 'height' | 'orientation'>;
  if (jpeg) {
    // Read from the markers already walked: one pass through libvips, not a header read first.
    meta = jpeg;
  } else {
    try {
      // Header only, no pixel limit: the limit is checked below with a message that names it.
      meta = await gate.run(false, () => sharp(body, { ...input, limitInputPixels: false }).metadata());
    } catch (e) {
      throw readFailure(e, `The ${name} image could not be read`);
    }
  }
  if (!meta.width || !meta.height) throw badRequest(`The ${name} image has no dimensions.`);
  const pixels = meta.width * meta.height;
  if (pixels > opts.maxPixels) throw imageTooLarge(meta.width, meta.height, opts.maxPixels);

  const [w, h] = swapsSides(meta.orientation) ? [meta.height, meta.width] : [meta.width, meta.height];
  const pil = opts.resampling === 'pil';
  const g = pil ? torchvisionGeometry(w, h, opts.resize, opts.crop) : resizeGeometry(w, h, opts.resize, opts.crop);
  const decode = async (failOn: FailOnOptions, timeoutSeconds: number) => {
    // PIL applies no colour profile.
    const pipeline = sharp(body, { ...input, failOn, ignoreIcc: pil })
      .rotate() // EXIF orientation
      .removeAlpha()
      .toColourspace('srgb'); // greyscale and CMYK become RGB
    if (!pil) pipeline.resize(g.width, g.height, { kernel: 'linear', fit: 'fill' }).extract({ left: g.left, top: g.top, width: opts.crop, height: opts.crop });
    pipeline.raw({ depth: 'uchar' });
    if (timeoutSeconds > 0) pipeline.timeout({ seconds: Math.min(3600, timeoutSeconds) });
    const { data, info } = await pipeline.toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}`);
    return pil ? Buffer.from(pilResizeAndCrop(data, info.width, info.height, g, opts.crop).buffer) : data;
  };
  const heavy = (pixels * nsPerPixel(format, jpeg, pil)) / 1e6 > HEAVY_MS;
  try {
    const data = await gate.run(heavy, async (timeoutSeconds) => {
      if (format !== 'jpeg') return decode('error', timeoutSeconds);
      try {
        return await decode('warning', timeoutSeconds);
      } catch (e) {
        if (!HARMLESS_WARNING.test(String(e))) throw e;
        return decode('error', timeoutSeconds);
      }
    });
    if (data.length !== opts.crop * opts.crop * 3) throw new Error(`decoded to ${data.length} bytes`);
    return data;
  } catch (e) {
    throw readFailure(e, `The ${name} image could not be decoded`);
  }
}

/** An ApiError from the gate (503, 504) passes as it is; sharp's own failures become 400. */
function readFailure(e: unknown, what: string): Error {
  if (e instanceof ApiError) return e;
  return badRequest(`${what}: ${cleanSharpMessage(e)}.`);
}

/** sharp's messages are useful but may carry a native file path; keep the first line, no paths. */
function cleanSharpMessage(e: unknown): string {
  const first = (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
  return (
    first
      .replace(/(?:\/[\w.-]+)+/g, '')
      .replace(/[.:\s]+$/, '')
      .slice(0, 200) || 'unknown error'
  );
}
