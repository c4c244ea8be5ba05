// The Inference API through Playwright's request context and through a page, against the
// real server started by playwright.config.ts.

import { expect, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const images = path.join(import.meta.dirname, '..', 'fixtures', 'images');
const kitten = readFileSync(path.join(images, 'kitten.jpg'));
const expected = JSON.parse(readFileSync(path.join(images, 'expected.json'), 'utf8'));
const labels = readFileSync(path.join(import.meta.dirname, '..', '..', 'models', 'mobilenet_v2', 'labels.txt'), 'utf8').split('\n');

type Classes = Array<{ class: string; probability: number }>;

test('GET /ping is healthy', async ({ request }) => {
  const res = await request.get('/ping');
  expect(res.status()).toBe(200);
  expect(await res.json()).toEqual({ health: 'healthy!', status: 'Healthy' });
});

test('the kitten is a tabby, raw, PUT, multipart and versioned alike', async ({ request }) => {
  const raw = await request.post('/predictions/mobilenet_v2', { data: kitten, headers: { 'content-type': 'image/jpeg' } });
  expect(raw.status()).toBe(200);
  const answer = (await raw.json()) as Classes;
  expect(answer).toHaveLength(5);
  expect(answer[0]!.class).toBe('n02123045 tabby, tabby cat');
  expect(Math.abs(answer[0]!.probability - expected['kitten.jpg'].fp32_dequant_top1_prob)).toBeLessThan(0.05);
  expect(raw.headers()['server-timing']).toMatch(/infer;dur=/);

  const put = await request.put('/predictions/mobilenet_v2', { data: kitten });
  const form = await request.post('/predictions/mobilenet_v2', { multipart: { data: { name: 'kitten.jpg', mimeType: 'image/jpeg', buffer: kitten } } });
  const versioned = await request.post('/predictions/mobilenet_v2/1.0', { data: kitten });
  for (const r of [put, form, versioned]) expect(await r.json()).toEqual(answer);
});

for (const file of ['cat_chelsea.png', 'dog_malamute.jpg', 'espresso_coffee.png', 'bald_eagle.jpg']) {
  test(`${file} answers its expected class`, async ({ request }) => {
    const res = await request.post('/predictions/mobilenet_v2', { data: readFileSync(path.join(images, file)) });
    const answer = (await res.json()) as Classes;
    expect(labels.indexOf(answer[0]!.class)).toBe(expected[file].expected_top1);
  });
}

test('errors are TorchServe JSON and the server keeps serving', async ({ request }) => {
  const missing = await request.post('/predictions/resnet-18', { data: kitten });
  expect(missing.status()).toBe(404);
  expect(await missing.json()).toEqual({ code: 404, type: 'ModelNotFoundException', message: 'Model not found: resnet-18' });
  const text = await request.post('/predictions/mobilenet_v2', { data: 'I am not a picture' });
  expect(text.status()).toBe(400);
  expect((await text.json()).type).toBe('BadRequestException');
  const method = await request.get('/predictions/mobilenet_v2');
  expect(method.status()).toBe(405);
  expect((await method.json()).type).toBe('MethodNotAllowedException');
  expect((await request.get('/nothing/here')).status()).toBe(404);
  expect((await (await request.post('/predictions/mobilenet_v2', { data: kitten })).json())[0].class).toBe('n02123045 tabby, tabby cat');
});

test('OPTIONS / describes the API', async ({ request }) => {
  const res = await request.fetch('/', { method: 'OPTIONS' });
  const doc = await res.json();
  expect(doc.openapi).toBe('3.0.1');
  expect(Object.keys(doc.paths)).toContain('/predictions/{model_name}/{model_version}');
});

test('a browser page can call the API with fetch and FormData', async ({ page, baseURL }) => {
  await page.goto(`${baseURL}/ping`);
  const answer = await page.evaluate(
    async (bytes) => {
      const form = new FormData();
      form.append('data', new Blob([new Uint8Array(bytes)], { type: 'image/jpeg' }), 'kitten.jpg');
      const res = await fetch('/predictions/mobilenet_v2?topk=2', { method: 'POST', body: form });
      return { status: res.status, body: await res.json() };
    },
    [...kitten],
  );
  expect(answer.status).toBe(200);
  expect(answer.body).toHaveLength(2);
  expect(answer.body[0].class).toBe('n02123045 tabby, tabby cat');
});
