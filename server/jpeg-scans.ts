// A JPEG's frame and scan count, read from its markers without decoding anything. Each scan of a
// progressive JPEG is a pass over every block of the image, done inside libjpeg before libvips
// can time it out or cancel it: the count is the only bound that can be put on that work, and
// it has to be put before the decode starts.

export interface JpegLayout {
  width: number;
  height: number;
  progressive: boolean;
  /** Scans seen, counting stops once past `stopAfter`. */
  scans: number;
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
  let scans = 0;
  let pos = 2;
  while (pos + 1 < buf.length && scans <= stopAfter) {
    if (buf[pos] !== 0xff) return layout && { ...layout, scans }; // lost sync: leave it to the decoder
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
      layout = { height: buf.readUInt16BE(pos + 5), width: buf.readUInt16BE(pos + 7), progressive: isProgressive(marker), scans: 0 };
    }
    pos += 2 + length;
    if (marker === 0xda) {
      scans++;
      pos = nextMarker(buf, pos);
    }
  }
  return layout && { ...layout, scans };
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
