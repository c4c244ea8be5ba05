// Image bytes to the uint8 RGB square the runtime page normalises.
//
// Untrusted images are checked before any pixel is decoded: the format from the first bytes,
// a JPEG's scan count from its markers, the size from the header. What is left costs at most a
// known amount, and runs as a job (decode-messages.ts) through a gate: the decode pool, which
// bounds how many decodes run at once, for how long a request waits for one, and for how long
// one runs (its process is killed at the deadline).

import { type Fit, letterboxGeometry, placementIn, resizeGeometry } from '../../browser-runtime/resize-crop.js';
import type { DecodeJob, ImageHeader, JobResult } from './decode-messages.js';
import { ApiError, badRequest, imageTooLarge } from '../errors.js';
import { describeUnknownBody, sniffRasterFormat, type RasterFormat } from './image-format.js';
import { jpegLayout, type JpegLayout } from './jpeg-scans.js';
import type { Resampling } from '../store/model-config.js';
import type { Placement } from '../../browser-runtime/handler-api.js';
import { torchvisionGeometry } from './pil-resample.js';

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
  /** `crop` (the default): shorter side to `resize`, then the centre square; `letterbox`: the whole image in the square, padded; `resize`: the whole image stretched to it. */
  fit?: Fit;
  /** The letterbox's grey, 0 to 255, and where the image sits in it. */
  fill?: number;
  align?: 'top-left' | 'centre';
}

/**
 * Where the model's input came from: the image's size once oriented, the scale it was resized by
 * on each axis and where it sits in the input, so that a position in the input maps back to the
 * image: x = (x' - left) / scaleX. A custom handler is given the same numbers.
 */
export type { Placement };

/** The pixels of the model's input, and where they came from. */
export interface Placed {
  pixels: Buffer;
  placement: Placement;
}

/** Where decode jobs run. `heavy` ones (large or many-pass images) may be held back so that ordinary images keep a slot. */
export interface DecodeGate {
  run<J extends DecodeJob>(heavy: boolean, job: J): Promise<JobResult<J>>;
}

/**
 * In this process, no bound at all: for tools and tests that decode their own images. sharp is
 * loaded on first use, so that the server, whose decodes run in their own processes, never loads it.
 */
export const UNGATED: DecodeGate = {
  run: async <J extends DecodeJob>(_heavy: boolean, job: J) => (await (await import('./decode-job.js')).runDecodeJob(job)) as JobResult<J>,
};

// Orientations 5 to 8 swap width and height.
const swapsSides = (orientation: number | undefined) => orientation !== undefined && orientation >= 5 && orientation <= 8;

/**
 * What decoding will cost, roughly, in ns per pixel: a cost model for choosing the lane, not a
 * promise, its constants rounded from decode timings on a small machine. Baseline JPEGs are shrunk
 * while they load; each scan of a progressive (or many-scan) one is a pass over every block; other
 * formats decode in full. With `pil` resampling every image is decoded whole and resampled in
 * JavaScript, which adds to every format, and most to a baseline JPEG that is no longer shrunk.
 */
function nsPerPixel(format: RasterFormat, jpeg: JpegLayout | null, pil: boolean): number {
  const resample = pil ? 10 : 0;
  if (format !== 'jpeg' || !jpeg) return 10 + resample;
  if (jpeg.progressive || jpeg.scans > 1) return 4 + 0.5 * jpeg.scans + resample;
  return pil ? 2 + 15 + resample : 2;
}

/** Decodes that take longer than this run in the heavy lane. */
const HEAVY_MS = 50;

export async function preprocess(body: Uint8Array, opts: PreprocessOptions, gate: DecodeGate): Promise<Buffer> {
  return (await preprocessPlaced(body, opts, gate)).pixels;
}

export async function preprocessPlaced(body: Uint8Array, opts: PreprocessOptions, gate: DecodeGate): Promise<Placed> {
  if (body.length === 0) throw badRequest('The request body is empty; send an image (raw, or as the "data" field of a multipart form).');
  const format = sniffRasterFormat(body);
  if (!format) throw badRequest(`The request body is not a supported image (it looks like ${describeUnknownBody(body)}); send JPEG, PNG, WebP, GIF, TIFF or AVIF.`);
  const name = format.toUpperCase();
  let jpeg: JpegLayout | null = null;
  if (format === 'jpeg') {
    const layout = jpegLayout(body, opts.maxJpegScans);
    if ('refused' in layout) throw badRequest(`The JPEG image could not be read: ${layout.refused}.`);
    if (layout.scans > opts.maxJpegScans) {
      throw badRequest(`The JPEG image has more than ${opts.maxJpegScans} scans (max_jpeg_scans), each a pass over the whole image; encoders write 1 to 12. Re-encode it.`);
    }
    jpeg = layout;
  }

  let meta: ImageHeader;
  if (jpeg) {
    // Read from the markers already walked: one pass through libvips, not a header read first.
    meta = jpeg;
  } else {
    try {
      meta = await gate.run(false, { kind: 'header', bytes: body });
    } catch (e) {
      throw readFailure(e, `The ${name} image could not be read`);
    }
  }
  if (!meta.width || !meta.height) throw badRequest(`The ${name} image has no dimensions.`);
  const pixels = meta.width * meta.height;
  if (pixels > opts.maxPixels) throw imageTooLarge(meta.width, meta.height, opts.maxPixels);

  const [w, h] = swapsSides(meta.orientation) ? [meta.height, meta.width] : [meta.width, meta.height];
  const pil = opts.resampling === 'pil';
  const fit = opts.fit ?? 'crop';
  const geometry = fit === 'resize' ? { width: opts.crop, height: opts.crop, left: 0, top: 0 } : pil ? torchvisionGeometry(w, h, opts.resize, opts.crop) : resizeGeometry(w, h, opts.resize, opts.crop);
  const letterbox = fit === 'letterbox' ? { ...letterboxGeometry(w, h, opts.crop, opts.align ?? 'top-left'), fill: opts.fill ?? 114 } : undefined;
  const placement = placementIn(w, h, letterbox ?? geometry);
  const heavy = (pixels * nsPerPixel(format, jpeg, pil)) / 1e6 > HEAVY_MS;
  // A JPEG is decoded failing on warnings (decode-job.ts) unless its first warning is known to be
  // harmless already: stray bytes before its first scan. It would then be decoded twice.
  const failOn = jpeg && !jpeg.strayBytesBeforeScans ? 'warning' : 'error';
  try {
    const data = await gate.run(heavy, { kind: 'pixels', bytes: body, maxPixels: opts.maxPixels, failOn, pil: pil && !letterbox, geometry, crop: opts.crop, ...(letterbox ? { letterbox } : {}) });
    if (data.length !== opts.crop * opts.crop * 3) throw new Error(`decoded to ${data.length} bytes`);
    return { pixels: Buffer.from(data.buffer, data.byteOffset, data.byteLength), placement };
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
