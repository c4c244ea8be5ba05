// Untrusted uploads against the real server and browser: each bad input gets its TorchServe
// error (or, for odd but valid images, an answer), the server never falls over, and afterwards
// it is healthy and still right. Then a fuzz run of mutated JPEGs.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import sharp from 'sharp';
import { jpegScanBomb, jpegWithFakeEnd, multipart, pngBomb } from '../../scripts/hostile/inputs.js';
import type { RunningServer } from '../../server/server.js';
import { readImage } from '../support/paths.js';
import { call, postImage, startTestServer, type Answer } from '../support/server-harness.js';
import { tempStore } from '../support/temp-store.js';

const kitten = readImage('kitten.jpg');

interface Case {
  name: string;
  send: (api: string) => Promise<Answer>;
  status: number;
  type?: string;
}

describe('bad input against the real server', () => {
  const store = tempStore([
    // One image a run: batches are not under test here, and warm-up then runs no larger batch.
    { name: 'mobilenet_v2', from: 'mobilenet_v2', config: { batch_size: 1 } },
    // The fuzz's target: what it tests is decoding and the gateway, not the answer, so its
    // mutated kittens that still decode cost no MobileNet run each. MobileNet classifies the
    // kitten after it.
    { name: 'null_model', from: 'null_model', config: { batch_size: 4 } },
  ]);
  let server: RunningServer;
  let api: string;
  const cases: Case[] = [];
  const raw = (name: string, body: Buffer | Uint8Array, status: number, type?: string, contentType?: string) =>
    cases.push({ name, send: (a) => postImage(`${a}/predictions/mobilenet_v2`, body, 'POST', contentType), status, type });
  const path = (name: string, p: string, status: number, type: string, method = 'POST') =>
    cases.push({ name, send: (a) => call(`${a}${p}`, { method, body: method === 'GET' ? undefined : kitten }), status, type });

  before(async () => {
    server = await startTestServer({ model_store: store.root, backend: 'wasm', wasm_threads: '1', max_image_pixels: '40000000' });
    api = server.inferenceUrl;
    const png = await sharp(kitten).png().toBuffer();
    const bad = 'BadRequestException';
    raw('empty body', Buffer.alloc(0), 400, bad);
    raw('one byte', Buffer.from([0xff]), 400, bad);
    raw('truncated JPEG', kitten.subarray(0, kitten.length / 2), 400, bad);
    raw('JPEG header only', kitten.subarray(0, 600), 400, bad);
    raw('truncated PNG', png.subarray(0, png.length / 2), 400, bad);
    raw('random bytes', Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 251)), 400, bad);
    raw('a text file', Buffer.from('hello\nthis is a text file\n'.repeat(20)), 400, bad);
    raw('JSON', Buffer.from(JSON.stringify({ image: 'kitten.jpg' })), 400, bad);
    raw(
      'SVG with an external reference',
      Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><image xlink:href="file:///etc/passwd" width="10" height="10"/></svg>'),
      400,
      bad,
    );
    raw('PDF', Buffer.from('%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF'), 400, bad);
    raw('HTML', Buffer.from('<html><body><img src="/etc/passwd"></body></html>'), 400, bad);
    raw('PNG decompression bomb (50000x50000 declared)', pngBomb(50000, 50000), 413, 'RequestEntityTooLargeException');
    raw('JPEG cut short and given a fake end marker', jpegWithFakeEnd(kitten), 400, bad);
    raw('progressive JPEG scan bomb (6000x6000, 100,000 scans)', jpegScanBomb(6000, 6000, 100_000), 400, bad);
    cases.push({
      name: 'multipart ending inside its file part (73 bytes)',
      send: (a) => postImage(`${a}/predictions/mobilenet_v2`, Buffer.from('--B\r\nContent-Disposition: form-data; name="data"; filename="x"\r\n\r\nabc'), 'POST', 'multipart/form-data; boundary=B'),
      status: 400,
      type: bad,
    });
    raw('PNG declaring 0x0', pngBomb(0, 0), 400, bad);
    raw('GIF header only', Buffer.from('GIF89a\x10\x00\x10\x00\x00\x00\x00', 'latin1'), 400, bad);
    raw('a JPEG sent as image/png (lying Content-Type)', kitten, 200, undefined, 'image/png');
    raw('a JPEG sent as text/plain', kitten, 200, undefined, 'text/plain');
    raw('CMYK JPEG', await sharp(kitten).toColourspace('cmyk').jpeg().toBuffer(), 200);
    raw('16-bit PNG', await sharp(kitten).toColourspace('rgb16').png().toBuffer(), 200);
    raw('grey + alpha PNG', await sharp(kitten).toColourspace('b-w').ensureAlpha(0.5).png().toBuffer(), 200);
    raw(
      '1x1 pixel PNG',
      await sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } })
        .png()
        .toBuffer(),
      200,
    );
    raw(
      '10000x1 sliver',
      await sharp({ create: { width: 10000, height: 1, channels: 3, background: '#808080' } })
        .png()
        .toBuffer(),
      200,
    );
    raw(
      'animated GIF with 300 frames',
      await sharp({ create: { width: 32, height: 32 * 300, channels: 3, background: '#336699' } })
        .gif()
        .toBuffer()
        .then((b) =>
          sharp(b, { pageHeight: 32 } as never)
            .gif()
            .toBuffer(),
        )
        .catch(() =>
          sharp({ create: { width: 32, height: 32, channels: 3, background: '#336699' } })
            .gif()
            .toBuffer(),
        ),
      200,
    );
    cases.push({
      name: 'multipart without a file',
      send: (a) => {
        const m = multipart([{ name: 'note', body: Buffer.from('') }]);
        return postImage(`${a}/predictions/mobilenet_v2`, Buffer.alloc(0), 'POST', m.type).then(() => postImage(`${a}/predictions/mobilenet_v2`, m.body, 'POST', m.type));
      },
      status: 400,
      type: bad,
    });
    cases.push({
      name: 'multipart with two files',
      send: (a) => {
        const m = multipart([
          { name: 'other', filename: 'x.txt', body: Buffer.from('nope') },
          { name: 'data', filename: 'k.jpg', body: kitten },
        ]);
        return postImage(`${a}/predictions/mobilenet_v2`, m.body, 'POST', m.type);
      },
      status: 200,
    });
    cases.push({
      name: 'multipart with a broken boundary',
      send: (a) => {
        const m = multipart([{ name: 'data', filename: 'k.jpg', body: kitten }]);
        return postImage(`${a}/predictions/mobilenet_v2`, m.body, 'POST', 'multipart/form-data; boundary=SOMETHINGELSE');
      },
      status: 400,
      type: bad,
    });
    cases.push({ name: 'multipart without a boundary', send: (a) => postImage(`${a}/predictions/mobilenet_v2`, kitten, 'POST', 'multipart/form-data'), status: 400, type: bad });
    cases.push({
      name: 'multipart whose file is text',
      send: (a) => {
        const m = multipart([{ name: 'data', filename: 'a.txt', body: Buffer.from('text') }]);
        return postImage(`${a}/predictions/mobilenet_v2`, m.body, 'POST', m.type);
      },
      status: 400,
      type: bad,
    });
    path('percent-encoded traversal as model name', '/predictions/..%2F..%2Fetc%2Fpasswd', 404, 'ModelNotFoundException');
    path('double-encoded dots as model name', '/predictions/%252e%252e', 404, 'ModelNotFoundException');
    path('dots as version', '/predictions/mobilenet_v2/..%2F1.0', 404, 'ModelVersionNotFoundException');
    path('NUL in model name', '/predictions/mobilenet_v2%00', 404, 'ModelNotFoundException');
    path('a 10 kB URL', `/predictions/${'a'.repeat(10_000)}`, 404, 'ModelNotFoundException');
    path('malformed percent-encoding', '/predictions/%E0%A4%A', 400, bad);
    path('topk=abc', '/predictions/mobilenet_v2?topk=abc', 400, bad);
    path('topk=-1', '/predictions/mobilenet_v2?topk=-1', 400, bad);
    path('topk=100000', '/predictions/mobilenet_v2?topk=100000', 400, bad);
    path('topk twice', '/predictions/mobilenet_v2?topk=1&topk=2', 400, bad);
    path('GET on predictions', '/predictions/mobilenet_v2', 405, 'MethodNotAllowedException', 'GET');
    path('DELETE on ping', '/ping', 405, 'MethodNotAllowedException', 'DELETE');
  });
  after(async () => {
    await server?.close();
    store.remove();
  });

  it('answers each of at least 30 bad inputs with its status and TorchServe type', async () => {
    assert.ok(cases.length >= 30, `${cases.length} cases`);
    const failures: string[] = [];
    for (const c of cases) {
      const r = await c.send(api);
      const got = `${r.status} ${typeof r.body === 'object' && r.body && 'type' in r.body ? r.body.type : ''}`.trim();
      if (r.status !== c.status || (c.type && r.body?.type !== c.type)) failures.push(`${c.name}: expected ${c.status} ${c.type ?? ''}, got ${got} ${JSON.stringify(r.body).slice(0, 200)}`);
      if (r.status >= 400) {
        assert.equal(typeof r.body?.message, 'string', c.name);
        assert.doesNotMatch(r.body.message, /\n\s+at |\/(usr|home|root|work|tmp)\//, `${c.name}: no stack trace or path`);
      }
    }
    assert.deepEqual(failures, []);
  });

  it('a client that disconnects mid-upload leaves nothing hanging', async () => {
    const { hostname, port } = new URL(api);
    for (let i = 0; i < 3; i++) {
      const socket = net.connect(Number(port), hostname);
      await new Promise((r) => socket.once('connect', r));
      socket.write(`POST /predictions/mobilenet_v2 HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n`);
      socket.write(kitten.subarray(0, 20_000));
      socket.destroy();
    }
    assert.equal((await call(`${api}/ping`)).status, 200);
  });

  it('fuzz: 300 mutated kittens answer 200 or 4xx, never 5xx, and the server stays up', async () => {
    // mulberry32: a small PRNG with good low bits, seeded so a failure can be replayed.
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
    };
    const statuses = new Map<number, number>();
    const mutate = (): Buffer => {
      const b = Buffer.from(kitten);
      switch (rand(5)) {
        case 0: // flip bytes
          for (let i = 0, n = 1 + rand(20); i < n; i++) b[rand(b.length)] = rand(256);
          return b;
        case 1: // truncate
          return b.subarray(0, rand(b.length));
        case 4: // cut, and given an end marker so that it looks whole
          return jpegWithFakeEnd(b, rand(1000) / 1000);
        case 2: // insert junk
          return Buffer.concat([b.subarray(0, rand(b.length)), Buffer.from(Array.from({ length: 1 + rand(500) }, () => rand(256))), b.subarray(rand(b.length))]);
        default: // zero a run, headers included
          return b.fill(0, rand(2000), rand(2000) + rand(3000));
      }
    };
    const inputs = Array.from({ length: 300 }, mutate);
    for (let i = 0; i < inputs.length; i += 10) {
      const answers = await Promise.all(inputs.slice(i, i + 10).map((body) => postImage(`${api}/predictions/null_model`, body)));
      for (const a of answers) {
        statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
        assert.ok(a.status === 200 || (a.status >= 400 && a.status < 500), `status ${a.status}: ${JSON.stringify(a.body).slice(0, 200)}`);
        if (a.status >= 400) assert.doesNotMatch(a.body.message, /\n\s+at |\/(usr|home|root|work|tmp)\//);
      }
    }
    console.log(`fuzz statuses: ${JSON.stringify(Object.fromEntries(statuses))}`);
    assert.equal((await call(`${api}/ping`)).status, 200);
    assert.equal((await postImage(`${api}/predictions/mobilenet_v2`, kitten)).body[0].class, 'n02123045 tabby, tabby cat');
  });
});
