// A JPEG's frame, orientation and scan count, read from its markers without decoding anything.
// Each scan of a progressive JPEG is a pass over every block of the image, done inside libjpeg
// before libvips can time it out or cancel it: the count is the only bound that can be put on
// that work before the decode starts. The size and the EXIF orientation are what the resize
// needs, so a JPEG is decoded in one pass through sharp, not two.
//
// The count is only worth something if it is the count libjpeg will decode, so the markers are
// followed as libjpeg's jdmarker.c follows them, never by a rule of our own: between segments
// (and at the end of a scan's entropy-coded data, where the decoder stops at the first marker)
// any byte but 0xFF is skipped, fill 0xFF bytes are skipped, and an FF00 pair is skipped as
// data; restart markers and TEM stand alone; a segment is skipped by its length, and a length
// below 2 skips the two length bytes alone. A marker libjpeg refuses (an unknown one, a second
// SOI or SOF, a scan before the frame) refuses the image here, with a reason, so the walk never
// has to guess what the decoder would do next; and it goes on to EOI or the end of the data,
// however the bytes between the markers look.

export interface JpegLayout {
  width: number;
  height: number;
  progressive: boolean;
  /** Scan headers (SOS) libjpeg will read; counting stops once past `stopAfter`. */
  scans: number;
  /** EXIF orientation (1 to 8) from the first Exif segment; undefined where there is none. */
  orientation: number | undefined;
  /**
   * libjpeg skips bytes ahead of a marker before the first scan: its first warning will be
   * "extraneous bytes before marker", one of those known to say nothing of the pixels.
   */
  strayBytesBeforeScans: boolean;
}

/** Why libjpeg would not decode the image as it is either. */
export interface JpegRefusal {
  refused: string;
}

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const APP1 = 0xe1;
// Frame headers libjpeg reads: SOF0-3 and SOF9-11 (SOF5-7, JPG and SOF13-15 it refuses).
const FRAMES = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc9, 0xca, 0xcb]);
const PROGRESSIVE = new Set([0xc2, 0xca]);
// RST0-7 and TEM carry nothing and are passed over, inside a scan's data or between segments.
const standsAlone = (m: number) => m === 0x01 || (m >= 0xd0 && m <= 0xd7);
// Tables, restart interval, DNL, APP0-15 and COM: libjpeg reads each by its length.
const isTable = (m: number) => m === 0xc4 || m === 0xcc || m === 0xdb || m === 0xdc || m === 0xdd || (m >= 0xe0 && m <= 0xef) || m === 0xfe;

const hex = (m: number) => `0xFF${m.toString(16).toUpperCase().padStart(2, '0')}`;

export function jpegLayout(bytes: Uint8Array, stopAfter = Number.POSITIVE_INFINITY): JpegLayout | JpegRefusal {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 2 || buf[0] !== 0xff || buf[1] !== SOI) return { refused: 'it does not begin with a start-of-image marker' };
  let frame: Pick<JpegLayout, 'width' | 'height' | 'progressive'> | null = null;
  let orientation: number | undefined;
  let exifSeen = false;
  let scans = 0;
  let strayBytesBeforeScans = false;
  for (let pos = 2; scans <= stopAfter; ) {
    const found = nextMarker(buf, pos);
    if (!found) break; // the data ends: libjpeg fails or makes up an EOI, and reads no more scans
    const { marker, at } = found;
    if (scans === 0 && found.stray) strayBytesBeforeScans = true;
    pos = at + 1;
    if (marker === EOI) break;
    if (standsAlone(marker)) continue;
    if (marker === SOI) return { refused: `it has a second start-of-image marker (at byte ${at - 1})` };
    if (!FRAMES.has(marker) && marker !== SOS && !isTable(marker)) return { refused: `it has a marker libjpeg does not decode (${hex(marker)} at byte ${at - 1})` };
    if (pos + 2 > buf.length) break;
    const length = buf.readUInt16BE(pos);
    if (FRAMES.has(marker)) {
      if (frame) return { refused: `it has a second frame header (${hex(marker)} at byte ${at - 1})` };
      if (pos + 8 > buf.length) break;
      if (length !== 8 + 3 * buf[pos + 7]!) return { refused: `its frame header (${hex(marker)}) has a length that does not match its components` };
      frame = { height: buf.readUInt16BE(pos + 3), width: buf.readUInt16BE(pos + 5), progressive: PROGRESSIVE.has(marker) };
    } else if (marker === SOS) {
      if (!frame) return { refused: `a scan (SOS at byte ${at - 1}) comes before the frame header` };
      if (pos + 3 > buf.length) break;
      const components = buf[pos + 2]!;
      if (components < 1 || components > 4 || length !== 6 + 2 * components) return { refused: `a scan header (SOS at byte ${at - 1}) has a length that does not match its components` };
      scans++;
    } else if (marker === APP1 && !exifSeen && length >= 8 && buf.toString('latin1', pos + 2, pos + 8) === 'Exif\0\0') {
      exifSeen = true;
      orientation = exifOrientation(buf.subarray(pos + 8, Math.min(buf.length, pos + length)));
    }
    pos += Math.max(2, length);
  }
  if (!frame) return { refused: 'it has no frame header (SOF) before its data ends' };
  return { ...frame, scans, orientation, strayBytesBeforeScans };
}

/**
 * The next marker from `from`, as libjpeg's next_marker finds it: `at` is the index of its code
 * byte, `stray` whether any byte was skipped on the way (fill 0xFF bytes are not). null when the
 * data ends first.
 */
function nextMarker(buf: Buffer, from: number): { marker: number; at: number; stray: boolean } | null {
  let stray = false;
  for (let pos = from; ; ) {
    const ff = buf.indexOf(0xff, pos);
    if (ff < 0) return null;
    if (ff > pos) stray = true;
    let at = ff + 1;
    while (at < buf.length && buf[at] === 0xff) at++;
    if (at >= buf.length) return null;
    if (buf[at] !== 0x00) return { marker: buf[at]!, at, stray };
    stray = true; // FF00: a data byte, skipped
    pos = at + 1;
  }
}

/** Tag 0x0112 of the first IFD of an Exif block (a TIFF structure); undefined if absent or malformed. */
export function exifOrientation(tiff: Buffer): number | undefined {
  if (tiff.length < 8) return undefined;
  const order = tiff.toString('latin1', 0, 2);
  if (order !== 'II' && order !== 'MM') return undefined;
  const le = order === 'II';
  const u16 = (at: number) => (le ? tiff.readUInt16LE(at) : tiff.readUInt16BE(at));
  const u32 = (at: number) => (le ? tiff.readUInt32LE(at) : tiff.readUInt32BE(at));
  if (u16(2) !== 42) return undefined;
  const ifd = u32(4);
  if (ifd + 2 > tiff.length) return undefined;
  const entries = u16(ifd);
  for (let i = 0; i < entries; i++) {
    const at = ifd + 2 + i * 12;
    if (at + 12 > tiff.length) return undefined;
    // SHORT (3), one value, kept in the first two bytes of the value field.
    if (u16(at) === 0x0112 && u16(at + 2) === 3) {
      const value = u16(at + 8);
      return value >= 1 && value <= 8 ? value : undefined;
    }
  }
  return undefined;
}
