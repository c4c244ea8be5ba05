// What crosses between the gateway and an image decode process (decode-process.ts, one per decode
// slot; decode-worker.ts inside it): jobs are bytes and numbers, never closures, so that a decode
// can run in a process the gateway may kill. Both sides import this file and nothing else of
// each other.

import type { CropGeometry, Letterbox } from '../../browser-runtime/resize-crop.js';

/** Read an image's header only: its size and EXIF orientation. */
export interface HeaderJob {
  kind: 'header';
  bytes: Uint8Array;
}

/** Decode, orient, resize and crop an image to `crop` x `crop` RGB bytes. */
export interface PixelsJob {
  kind: 'pixels';
  bytes: Uint8Array;
  maxPixels: number;
  /**
   * `warning`: fail on any warning, and decode again failing on errors only when the warning is
   * one known to say nothing of the pixels (a JPEG). `error`: decode once, failing on errors.
   */
  failOn: 'warning' | 'error';
  /** Resample as torchvision does with PIL (no colour profile, resized in pil-resample.ts); else libvips' linear reduce. */
  pil: boolean;
  /** The resized image the crop is cut from. */
  geometry: CropGeometry;
  crop: number;
  /** Instead of the crop: the whole image resized into a square this fills (not with `pil`). */
  letterbox?: Letterbox & { fill: number };
}

export type DecodeJob = HeaderJob | PixelsJob;

export interface ImageHeader {
  width: number;
  height: number;
  orientation: number | undefined;
}

export type JobResult<J extends DecodeJob> = J extends HeaderJob ? ImageHeader : Uint8Array;

/** Gateway to process: one job at a time, sent once the process has said it is ready. */
export interface JobMessage {
  id: number;
  job: DecodeJob;
}

/** Process to gateway: ready once sharp has loaded, then one answer per job. */
export type WorkerMessage = { ready: true } | { id: number; result: ImageHeader | Uint8Array } | { id: number; error: string };
