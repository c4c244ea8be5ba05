// Image bytes to the uint8 RGB square the runtime page normalises. The only place sharp is used.

import sharp, { type Metadata } from 'sharp';
import { badRequest, imageTooLarge } from './errors.js';
import { describeUnknownBody, sniffRasterFormat } from './image-format.js';
import { resizeGeometry } from '../browser-runtime/resize-crop.js';

export interface PreprocessOptions {
  /** Shorter side after the resize. */
  resize: number;
  /** Side of the centre crop. */
  crop: number;
  maxPixels: number;
}

// Orientations 5 to 8 swap width and height.
const swapsSides = (orientation: number | undefined) => orientation !== undefined && orientation >= 5 && orientation <= 8;

export async function preprocess(body: Uint8Array, opts: PreprocessOptions): Promise<Buffer> {
  if (body.length === 0) throw badRequest('The request body is empty; send an image (raw, or as the "data" field of a multipart form).');
  const format = sniffRasterFormat(body);
  if (!format) throw badRequest(`The request body is not a supported image (it looks like ${describeUnknownBody(body)}); send JPEG, PNG, WebP, GIF, TIFF or AVIF.`);

  // failOn 'error' rejects truncated and corrupt files instead of returning grey pixels.
  const input = { failOn: 'error', limitInputPixels: opts.maxPixels, pages: 1 } as const;
  let meta: Metadata;
  try {
    // Header only, no pixel limit: the limit is checked below with a message that names it.
    meta = await sharp(body, { ...input, limitInputPixels: false }).metadata();
  } catch (e) {
    throw badRequest(`The ${format.toUpperCase()} image could not be read: ${cleanSharpMessage(e)}.`);
  }
  if (!meta.width || !meta.height) throw badRequest(`The ${format.toUpperCase()} image has no dimensions.`);
  if (meta.width * meta.height > opts.maxPixels) {
    throw imageTooLarge(meta.width, meta.height, opts.maxPixels);
  }
  const [w, h] = swapsSides(meta.orientation) ? [meta.height, meta.width] : [meta.width, meta.height];
  const g = resizeGeometry(w, h, opts.resize, opts.crop);
  try {
    const { data, info } = await sharp(body, input)
      .rotate() // EXIF orientation
      .removeAlpha()
      .toColourspace('srgb') // greyscale and CMYK become RGB
      .resize(g.width, g.height, { kernel: 'linear', fit: 'fill' })
      .extract({ left: g.left, top: g.top, width: opts.crop, height: opts.crop })
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || data.length !== opts.crop * opts.crop * 3) {
      throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}`);
    }
    return data;
  } catch (e) {
    throw badRequest(`The ${format.toUpperCase()} image could not be decoded: ${cleanSharpMessage(e)}.`);
  }
}

/** sharp's messages are useful but may carry a native file path; keep the first line, no paths. */
function cleanSharpMessage(e: unknown): string {
  const first = (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
  return first.replace(/(?:\/[\w.\-]+)+/g, '').replace(/[.:\s]+$/, '').slice(0, 200) || 'unknown error';
}
