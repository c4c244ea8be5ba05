// A well-formed JPEG rewritten at its marker level, two ways: with bytes between its segments
// that libjpeg passes over on its way to the next marker (the image decodes the same, every scan
// of it), and with markers libjpeg refuses. A scan counter that loses its way on the first kind
// counts too few scans; used by tests/unit/jpeg-scans.test.ts and tests/integration/hostile-jpeg.test.ts.

export interface JpegVariant {
  name: string;
  bytes: Buffer;
  /** Whether libjpeg skips bytes before the first scan (and warns of "extraneous bytes"). */
  stray: boolean;
}

/** Where a well-formed JPEG's frame header and first scan header start, and where the first scan's data ends. */
function landmarks(jpeg: Buffer): { frame: number; afterFrame: number; firstScan: number; afterFirstScan: number } {
  let frame = -1;
  let pos = 2;
  while (jpeg[pos + 1] !== 0xda) {
    if (jpeg[pos] !== 0xff) throw new Error(`not a well-formed JPEG: no marker at byte ${pos}`);
    if ([0xc0, 0xc1, 0xc2].includes(jpeg[pos + 1]!)) frame = pos;
    pos += 2 + jpeg.readUInt16BE(pos + 2);
  }
  const firstScan = pos;
  let afterFirstScan = firstScan + 2 + jpeg.readUInt16BE(firstScan + 2);
  // Entropy-coded data: FF00 is a data byte, FFD0-FFD7 restart markers; the next marker ends it.
  for (;;) {
    afterFirstScan = jpeg.indexOf(0xff, afterFirstScan);
    const next = jpeg[afterFirstScan + 1]!;
    if (next !== 0x00 && !(next >= 0xd0 && next <= 0xd7)) break;
    afterFirstScan += 2;
  }
  if (frame < 0 || jpeg[afterFirstScan + 1] === 0xd9) throw new Error('not a JPEG of two scans or more');
  return { frame, afterFrame: frame + 2 + jpeg.readUInt16BE(frame + 2), firstScan, afterFirstScan };
}

const insert = (jpeg: Buffer, at: number, bytes: number[]) => Buffer.concat([jpeg.subarray(0, at), Buffer.from(bytes), jpeg.subarray(at)]);

/** `jpeg` (progressive, two scans or more) with bytes libjpeg passes over, each in its own copy, then all at once. */
export function jpegPassedOverVariants(jpeg: Buffer): JpegVariant[] {
  const { afterFrame, afterFirstScan } = landmarks(jpeg);
  const afterTheFrame: Array<[string, number[], boolean]> = [
    ['one 0x00 byte after the frame header', [0x00], true],
    ['stray bytes after the frame header', [0x12, 0x34, 0x56], true],
    ['fill bytes (0xFF) before a marker', [0xff, 0xff, 0xff], false],
    ['a restart marker between segments', [0xff, 0xd3], false],
    ['a TEM marker between segments', [0xff, 0x01], false],
    ['a stuffed FF00 between segments', [0xff, 0x00], true],
    ['an APP15 segment of length 0', [0xff, 0xef, 0x00, 0x00], false],
    ['a COM segment of length 1', [0xff, 0xfe, 0x00, 0x01], false],
    ['a DNL segment of length 0', [0xff, 0xdc, 0x00, 0x00], false],
  ];
  const betweenScans: Array<[string, number[]]> = [
    ['stray bytes and a restart marker after the first scan', [0x00, 0x07, 0xff, 0xd0, 0x07]],
    ['an APP5 segment of length 0 after the first scan', [0xff, 0xe5, 0x00, 0x00]],
  ];
  const variants: JpegVariant[] = [
    ...afterTheFrame.map(([name, bytes, stray]) => ({ name, bytes: insert(jpeg, afterFrame, bytes), stray })),
    ...betweenScans.map(([name, bytes]) => ({ name, bytes: insert(jpeg, afterFirstScan, bytes), stray: false })),
  ];
  const bytesOf = (list: Array<[string, number[], ...unknown[]]>) => list.flatMap((entry) => entry[1]);
  const all = insert(insert(jpeg, afterFirstScan, bytesOf(betweenScans)), afterFrame, bytesOf(afterTheFrame));
  return [...variants, { name: 'all of them at once', bytes: all, stray: true }];
}

/** `jpeg` (progressive, two scans or more) with a marker libjpeg refuses, each in its own copy. */
export function jpegRefusedVariants(jpeg: Buffer): Array<{ name: string; bytes: Buffer }> {
  const { frame, afterFrame, firstScan } = landmarks(jpeg);
  const sof = [...jpeg.subarray(frame, afterFrame)];
  const sos = [...jpeg.subarray(firstScan, firstScan + 2 + jpeg.readUInt16BE(firstScan + 2))];
  const sof5 = Buffer.from(jpeg);
  sof5[frame + 1] = 0xc5;
  return [
    { name: 'an unknown marker (0xFF02)', bytes: insert(jpeg, afterFrame, [0xff, 0x02, 0x00, 0x04, 0x00, 0x00]) },
    { name: 'a second start-of-image marker', bytes: insert(jpeg, afterFrame, [0xff, 0xd8]) },
    { name: 'a second frame header', bytes: insert(jpeg, afterFrame, sof) },
    { name: 'a scan header before the frame header', bytes: insert(jpeg, frame, sos) },
    { name: 'a differential frame (SOF5)', bytes: sof5 },
  ];
}
