// A flood of large requests: big photos on /predictions and 6 MB tensors on KServe v2, many at
// once. What the gateway's memory does during and after it is the point: it must stay bounded
// while the flood lasts (max_inflight_bytes) and be given back to the system once it is over.

import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { v2BinaryRequest } from '../hostile/inputs.js';

/** A photo-sized JPEG of noise, which compresses badly: ~4 MB at 3000x2000. */
export async function largeNoisyJpeg(width = 3000, height = 2000): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  let seed = 1;
  for (let i = 0; i < pixels.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    pixels[i] = ((i % (width * 3)) / 12 + (seed >>> 28)) & 255;
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** Resident memory of one process, MiB. */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

export interface FloodOptions {
  url: string;
  images: number;
  tensors: number;
  concurrency: number;
  headers?: Record<string, string>;
  /** The model flooded (default mobilenet_v2). */
  model?: string;
}

/** Sends the flood; answers the count of each status. */
export async function flood(opts: FloodOptions): Promise<Record<string, number>> {
  const photo = await largeNoisyJpeg();
  const tensor = v2BinaryRequest([10, 3, 224, 224]);
  const model = opts.model ?? 'mobilenet_v2';
  const jobs = [
    ...Array.from({ length: opts.images }, () => ({ path: `/predictions/${model}?topk=1`, body: photo, headers: {} })),
    ...Array.from({ length: opts.tensors }, () => ({ path: `/v2/models/${model}/infer`, body: tensor.body, headers: tensor.headers })),
  ];
  const statuses: Record<string, number> = {};
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      let status = 'error';
      try {
        const res = await fetch(`${opts.url}${job.path}`, {
          method: 'POST',
          body: job.body as Uint8Array<ArrayBuffer>,
          headers: { ...job.headers, ...opts.headers },
          signal: AbortSignal.timeout(120_000),
        });
        await res.arrayBuffer();
        status = String(res.status);
      } catch (e) {
        status = e instanceof Error ? e.name : 'error';
      }
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  return statuses;
}
