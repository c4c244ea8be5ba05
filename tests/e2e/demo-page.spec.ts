// The demo page at GET /, in the system Chromium, against the real server started by
// playwright.config.ts: the server's answer, a local run of the same model in the page, errors.

import { expect, test, type Page } from '@playwright/test';
import { localBars, openDemo, serverBars } from './demo-helpers.js';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

const images = path.join(import.meta.dirname, '..', 'fixtures', 'images');
const screenshots = path.join(import.meta.dirname, '..', '..', 'test-results', 'screenshots');

/** Every request the page makes, to check that none leaves the server. */
function recordRequests(page: Page): string[] {
  const urls: string[] = [];
  page.on('request', (r) => urls.push(r.url()));
  return urls;
}

test('the kitten uploaded: tabby first, with its probability and the server time split', async ({ page }) => {
  const requests = recordRequests(page);
  await openDemo(page);
  await page.getByLabel('Image file').setInputFiles(path.join(images, 'kitten.jpg'));
  await expect(page.getByRole('status')).toHaveText(/Classified kitten\.jpg/);

  await expect(serverBars(page)).toHaveCount(5);
  const first = serverBars(page).first();
  await expect(first.locator('.label')).toHaveText(/^tabby\b/);
  await expect(first.locator('.value')).toHaveText(/^4\d\.\d%$/);
  const p = Number(await first.getAttribute('data-probability'));
  expect(Math.abs(p - 0.4612)).toBeLessThan(0.01);
  for (const stage of ['decode, resize, crop', 'normalise, run, rank', 'total on the server']) {
    await expect(page.locator('#server-answer .timing dt', { hasText: stage })).toBeVisible();
  }
  await expect(page.locator('#server-answer .where')).toHaveText(/The server runs it on WASM/);
  expect(requests.filter((u) => !u.startsWith('http://127.0.0.1:') && !u.startsWith('blob:'))).toEqual([]);
});

test('run in this browser: the same first class, a probability difference under 0.01', async ({ page }) => {
  test.setTimeout(360_000);
  await openDemo(page);
  await page.getByLabel('Run in this browser too').check();
  await page.getByRole('button', { name: 'Kitten' }).click();
  await expect(page.getByRole('status')).toHaveText(/Classified kitten\.jpg/, { timeout: 300_000 });

  await expect(localBars(page)).toHaveCount(5);
  await expect(localBars(page).first().locator('.label')).toHaveText(/^tabby\b/);
  await expect(page.locator('#local-answer .where')).toHaveText(/This browser runs it on (WASM|WebGPU)/);
  await expect(page.locator('#local-answer .timing dt', { hasText: 'load the model (once)' })).toBeVisible();
  const comparison = page.locator('#comparison');
  await expect(comparison).toContainText('Same first class: tabby');
  await expect(comparison).toContainText('over 1000 classes');
  const shown = Number(await page.locator('#max-difference').textContent());
  expect(shown).toBeGreaterThanOrEqual(0);
  expect(shown).toBeLessThan(0.01);
  // The shown figure is the one computed, not a rounding of something larger.
  expect(Number(await comparison.getAttribute('data-max-difference'))).toBeLessThan(0.01);

  mkdirSync(screenshots, { recursive: true });
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.screenshot({ path: path.join(screenshots, 'demo.png'), fullPage: true });

  // A second image reuses the loaded model: no load stage this time.
  await page.getByRole('button', { name: 'Coffee' }).click();
  await expect(page.getByRole('status')).toHaveText(/Classified espresso_coffee\.png/);
  await expect(localBars(page).first().locator('.label')).toHaveText(/^espresso\b/);
  await expect(page.locator('#local-answer .timing dt', { hasText: 'load the model (once)' })).toHaveCount(0);
});

test('an image dropped on the box or pasted is classified like a chosen one', async ({ page }) => {
  await openDemo(page);
  const withFile = (sample: string, name: string) =>
    page.evaluateHandle(
      async ([sample, name]) => {
        const blob = await (await fetch(`/demo/samples/${sample}`)).blob();
        const transfer = new DataTransfer();
        transfer.items.add(new File([blob], name, { type: blob.type }));
        return transfer;
      },
      [sample, name] as const,
    );
  await page.dispatchEvent('#drop', 'drop', { dataTransfer: await withFile('bald_eagle.jpg', 'dropped-eagle.jpg') });
  await expect(page.getByRole('status')).toHaveText(/Classified dropped-eagle\.jpg/);
  await expect(serverBars(page).first().locator('.label')).toHaveText(/bald eagle/);

  const clipboard = await withFile('espresso_coffee.png', 'screenshot.png');
  await page.evaluate((data) => document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data })), clipboard);
  await expect(page.getByRole('status')).toHaveText(/Classified screenshot\.png/);
  await expect(serverBars(page).first().locator('.label')).toHaveText(/espresso/);
});

test('a text file shows the server error in plain words, and the page keeps working', async ({ page }) => {
  await openDemo(page);
  await page.getByLabel('Image file').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('these are my notes, not a picture\n') });
  const error = page.getByRole('alert').filter({ hasText: 'could not use this file' });
  await expect(error).toBeVisible();
  await expect(error).toContainText('not a supported image');
  await expect(error).toContainText('400 BadRequestException');

  await page.getByRole('button', { name: 'Dog' }).click();
  await expect(page.getByRole('status')).toHaveText(/Classified dog_malamute\.jpg/);
  await expect(error).toBeHidden();
  await expect(serverBars(page).first().locator('.label')).toHaveText(/malamute/);
});

test('a file over the size limit says so, with the limit the server named', async ({ page }) => {
  await openDemo(page);
  // A JPEG signature and 7 MB of padding: over the default max_request_size (6,553,500 bytes).
  const big = Buffer.alloc(7_000_000);
  big.set([0xff, 0xd8, 0xff, 0xe0]);
  await page.getByLabel('Image file').setInputFiles({ name: 'huge.jpg', mimeType: 'image/jpeg', buffer: big });
  const error = page.getByRole('alert').filter({ hasText: 'too large for the server' });
  await expect(error).toBeVisible();
  await expect(error).toContainText('max_request_size');

  await page.getByRole('button', { name: 'Kitten' }).click();
  await expect(page.getByRole('status')).toHaveText(/Classified kitten\.jpg/);
  await expect(error).toBeHidden();
});

test('a server that asks for a key: the page asks for it and sends it', async ({ page }) => {
  // This server has token authorization off; the route plays a server with it on (the server side is
  // tested in tests/unit/auth.test.ts), answering 401 in TorchServe's form until the key comes.
  const key = 'k3y-from-key_file.json';
  const sent: string[] = [];
  await page.route(/\/(demo\/models|predictions\/)/, async (route) => {
    const auth = route.request().headers()['authorization'] ?? '';
    sent.push(auth);
    if (auth === `Bearer ${key}`) return route.continue();
    await route.fulfill({
      status: 401,
      contentType: 'application/json',
      body: JSON.stringify({ code: 401, type: 'InvalidKeyException', message: 'Token Authorization failed. Token either incorrect, expired, or not provided correctly.' }),
    });
  });
  await page.goto('/');
  await expect(page.getByRole('alert').filter({ hasText: 'asks for an inference key' })).toBeVisible();
  await page.getByLabel('Inference key').fill(key);
  await page.getByLabel('Inference key').press('Enter');
  await expect(page.getByLabel('Model', { exact: true })).toBeEnabled();
  await expect(page.getByLabel('Inference key')).toBeHidden();
  await page.getByRole('button', { name: 'Kitten' }).click();
  await expect(page.getByRole('status')).toHaveText(/Classified kitten\.jpg/);
  expect(sent.at(-1)).toBe(`Bearer ${key}`);
});

test('opened while the server still loads its models: the page says so, and looks again', async ({ page }) => {
  // The first list is the real one with every model marked loading, as right after `npm start`.
  let calls = 0;
  await page.route('**/demo/models', async (route) => {
    const res = await route.fetch();
    const body = await res.json();
    if (calls++ === 0) for (const m of body.models) m.status = 'loading';
    await route.fulfill({ response: res, json: body });
  });
  await page.goto('/');
  await expect(page.locator('#model-info')).toHaveText(/The server's copy is loading/);
  await expect(page.locator('#model-info')).toHaveText(/The server runs it on WASM/);
  expect(calls).toBe(2);
});

test('keyboard only: pick the other model and a sample without a pointer', async ({ page }) => {
  await openDemo(page);
  await page.getByLabel('Model', { exact: true }).focus();
  await page.keyboard.press('ArrowDown');
  await expect(page.locator('#model-info')).toBeVisible();
  await page.getByRole('button', { name: 'Eagle' }).focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('status')).toHaveText(/Classified bald_eagle\.jpg/);
  await expect(serverBars(page).first().locator('.label')).toHaveText(/bald eagle/);
  const picked = await page.getByLabel('Model', { exact: true }).evaluate((s: HTMLSelectElement) => s.selectedOptions[0]?.textContent);
  expect(picked).toMatch(/mobilenet_v2_int8/);
});

test('a phone-sized viewport: one column, nothing wider than the screen', async ({ page }) => {
  await page.setViewportSize({ width: 375, height: 740 });
  await openDemo(page);
  await page.getByRole('button', { name: 'Kitten' }).click();
  await expect(page.getByRole('status')).toHaveText(/Classified kitten\.jpg/);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(width).toBeLessThanOrEqual(375);
  const font = await page
    .locator('#server-answer .bars .label')
    .first()
    .evaluate((e) => parseFloat(getComputedStyle(e).fontSize));
  expect(font).toBeGreaterThanOrEqual(14);
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: path.join(screenshots, 'demo-phone.png'), fullPage: true });
});

test('a model the server does not have, and a server that is gone, are said in plain words', async ({ page }) => {
  await openDemo(page);
  // Another client unregisters the model between the list and the request: the page reads the 404 body.
  await page.route('**/predictions/**', (route) => route.continue({ url: route.request().url().replace('/predictions/mobilenet_v2/', '/predictions/no_such_model/') }));
  await page.getByRole('button', { name: 'Kitten' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'does not have this model' })).toContainText('Model not found: no_such_model');
  await page.unroute('**/predictions/**');

  await page.route('**/predictions/**', (route) => route.abort('connectionrefused'));
  await page.getByRole('button', { name: 'Coffee' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'No answer from the server' })).toBeVisible();
});
