// A JPEG's frame, orientation and scan count, read from its markers without decoding anything.
// Each scan of a progressive JPEG is a pass over every block of the image, done inside libjpeg
// before libvips can time it out or cancel it: the count is the only bound that can be put on
// that work, and it has to be put before the decode starts. The size and the EXIF orientation
// are what the resize needs, so a JPEG is decoded in one pass through sharp, not two.

export interface JpegLayout {
  width: number;
  height: number;
  progressive: boolean;
  /** Scans seen, counting stops once past `stopAfter`. */
  scans: number;
  /** EXIF orientation (1 to 8) from the first Exif segment; undefined where there is none. */
  orientation: number | undefined;
}

// SOF markers: C0-CF but for DHT (C4), JPG (C8) and DAC (CC). C2, C6, CA and CE are progressive.
const isFrame = (m: number) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
const isProgressive = (m: number) => m === 0xc2 || m === 0xc6 || m === 0xca || m === 0xce;
// Markers without a length: TEM, RST0-7, SOI.
const standsAlone = (m: number) => m === 0x01 || (m >= 0xd0 && m <= 0xd8);

/** null when `bytes` is not a JPEG or has no frame header; sharp then says what is wrong. */
export function jpegLayout(bytes: Uint8Array, stopAfter = Infinity): JpegLayout | null {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 4 || buf[0] !== 0xff || buf[1] !== 0xd8) return null;
  let layout: JpegLayout | null = null;
  let orientation: number | undefined;
  let exifSeen = false;
  let scans = 0;
  let pos = 2;
  while (pos + 1 < buf.length && scans <= stopAfter) {
    if (buf[pos] !== 0xff) return layout && { ...layout, scans, orientation }; // lost sync: leave it to the decoder
    const marker = buf[pos + 1]!;
    if (marker === 0xff) {
      pos++; // fill byte
      continue;
    }
    if (marker === 0xd9) break; // EOI
    if (standsAlone(marker)) {
      pos += 2;
      continue;
    }
    if (pos + 3 >= buf.length) break;
    const length = buf.readUInt16BE(pos + 2);
    if (isFrame(marker) && pos + 8 < buf.length) {
      layout = { height: buf.readUInt16BE(pos + 5), width: buf.readUInt16BE(pos + 7), progressive: isProgressive(marker), scans: 0, orientation: undefined };
    }
    if (marker === 0xe1 && !exifSeen && buf.toString('latin1', pos + 4, pos + 10) === 'Exif\0\0') {
      exifSeen = true;
      orientation = exifOrientation(buf.subarray(pos + 10, Math.min(buf.length, pos + 2 + length)));
    }
    pos += 2 + length;
    if (marker === 0xda) {
      scans++;
      pos = nextMarker(buf, pos);
    }
  }
  return layout && { ...layout, scans, orientation };
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

/** The position of the marker that ends the entropy-coded data starting at `pos`. */
function nextMarker(buf: Buffer, pos: number): number {
  for (let at = buf.indexOf(0xff, pos); at >= 0; at = buf.indexOf(0xff, at + 1)) {
    const next = buf[at + 1];
    if (next === undefined) return buf.length;
    // FF00 is a stuffed data byte, FFD0-FFD7 restart markers inside the scan, FFFF fill.
    if (next !== 0x00 && !(next >= 0xd0 && next <= 0xd7) && next !== 0xff) return at;
  }
  return buf.length;
}
