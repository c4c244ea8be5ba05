// The demo page with an object detector (models/yolox_nano) against the real server: the boxes
// of the server's answer drawn over the image, and the run in this browser answering the same.
// And a segmenter's class map drawn from a made-up answer in TorchServe's image_segmenter shape.

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { openDemo } from './demo-helpers.js';

const found = (page: Page, where: 'server' | 'local') => page.locator(`#${where}-answer .found li`);

async function pickModel(page: Page, name: string): Promise<void> {
  const select = page.getByLabel('Model', { exact: true });
  const value = await select.evaluate((s: HTMLSelectElement, name) => [...s.options].find((o) => o.textContent?.startsWith(`${name} `))?.value, name);
  expect(value, `${name} is listed`).toBeDefined();
  await select.selectOption(value!);
}

/** The canvas pixel at a canvas position, and a colour written as CSS rgb(). */
async function canvasPixel(page: Page, where: string, x: number, y: number): Promise<number[]> {
  return page.locator(`#${where}-answer .drawing canvas`).evaluate((c: HTMLCanvasElement, [x, y]) => [...c.getContext('2d')!.getImageData(Math.round(x!), Math.round(y!), 1, 1).data], [x, y]);
}
const rgbOf = (css: string) => css.match(/\d+/g)!.slice(0, 3).map(Number);
const close = (a: number[], b: number[], within: number) => a.slice(0, 3).every((v, i) => Math.abs(v - b[i]!) <= within);

test("the server's boxes drawn over the image: dog, bicycle and car, each in its class's colour", async ({ page }) => {
  await openDemo(page);
  await pickModel(page, 'yolox_nano');
  await page.getByRole('button', { name: 'Dog' }).click();
  await expect(page.getByRole('status')).toHaveText(/Found objects in dog_malamute\.jpg/);

  const labels = await found(page, 'server').evaluateAll((items) => items.map((li) => (li as HTMLElement).dataset['label']));
  for (const label of ['dog', 'bicycle', 'car']) expect(labels).toContain(label);
  const canvas = page.locator('#server-answer .drawing canvas');
  await expect(canvas).toBeVisible();
  await expect(canvas).toHaveAttribute('aria-label', /^The image with \d+ boxes: dog \d+%/);
  await expect(page.locator('#server-answer .bars')).toBeHidden();

  // The dog's box, from the answer's image pixels (768 x 576) to the canvas: its left edge is the dog's colour.
  const dog = found(page, 'server').filter({ has: page.locator('.label', { hasText: /^dog$/ }) });
  const [x1, y1, , y2] = (await dog.getAttribute('data-box'))!.split(',').map(Number) as [number, number, number, number];
  const size = await canvas.evaluate((c: HTMLCanvasElement) => ({ width: c.width, height: c.height }));
  const edge = await canvasPixel(page, 'server', (x1 * size.width) / 768, (((y1 + y2) / 2) * size.height) / 576);
  const colour = rgbOf(await dog.locator('.swatch').evaluate((s) => getComputedStyle(s).backgroundColor));
  expect(close(edge, colour, 12), `pixel ${edge} is the dog's colour ${colour}`).toBe(true);
});

test('run in this browser: the letterboxed image gives the same boxes as the server', async ({ page }) => {
  test.setTimeout(360_000);
  await openDemo(page);
  await pickModel(page, 'yolox_nano');
  await page.getByLabel('Run in this browser too').check();
  await page.getByRole('button', { name: 'Dog' }).click();
  await expect(page.getByRole('status')).toHaveText(/Found objects in dog_malamute\.jpg/, { timeout: 300_000 });

  const labelsOf = (where: 'server' | 'local') => found(page, where).evaluateAll((items) => items.map((li) => (li as HTMLElement).dataset['label']!).sort());
  const local = await labelsOf('local');
  for (const label of ['dog', 'bicycle', 'car']) expect(local).toContain(label);
  expect(local).toEqual(await labelsOf('server'));
  await expect(page.locator('#local-answer .drawing canvas')).toBeVisible();
  await expect(page.locator('#local-answer .timing dt', { hasText: 'letterbox' })).toBeVisible();
  const comparison = page.locator('#comparison');
  await expect(comparison).toContainText('Same objects:');
  await expect(comparison).toHaveAttribute('data-same-labels', 'true');
  // The same input bytes and the same runtime on WASM on both sides: the same boxes, to rounding.
  expect(Number(await comparison.getAttribute('data-max-box-difference'))).toBeLessThan(1);
  // For a person to look at (docs/demo-page.md), as the classifier's test saves its own.
  const screenshots = path.join(import.meta.dirname, '..', '..', 'test-results', 'screenshots');
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: path.join(screenshots, 'demo-detector.png'), fullPage: true });
});

test("a segmenter's class map painted over the image (a made-up answer in TorchServe's shape)", async ({ page }) => {
  // The server has no segmenter: the list gains one, and its predictions answer a 4 x 4 map whose
  // left half is "person" and right half the background.
  await page.route('**/demo/models', async (route) => {
    const res = await route.fetch();
    const body = await res.json();
    const segmenter = structuredClone(body.models[0]);
    Object.assign(segmenter, { modelName: 'made_up_segmenter', isDefault: true, fit: 'resize' });
    segmenter.load.handler = { name: 'image_segmenter', labels: ['__background__', 'person'] };
    body.models.push(segmenter);
    await route.fulfill({ response: res, json: body });
  });
  const row = [
    [1, 0.9],
    [1, 0.8],
    [0, 0.7],
    [0, 0.99],
  ];
  await page.route('**/predictions/made_up_segmenter/**', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify([row, row, row, row]) }));
  await openDemo(page);
  await pickModel(page, 'made_up_segmenter');
  await page.getByRole('button', { name: 'Dog' }).click();
  await expect(page.getByRole('status')).toHaveText(/Segmented dog_malamute\.jpg/);

  // Equal shares list in class order.
  await expect(found(page, 'server')).toHaveText([/__background__\s*50%/, /person\s*50%/]);
  const canvas = page.locator('#server-answer .drawing canvas');
  await expect(canvas).toHaveAttribute('aria-label', 'The image with its class map: __background__ 50%, person 50%');
  // The image alone, drawn the same way at the same size, to compare with.
  const { width, height, plain } = await canvas.evaluate(async (c: HTMLCanvasElement) => {
    const image = await createImageBitmap(await (await fetch('/demo/samples/dog_malamute.jpg')).blob(), { imageOrientation: 'from-image' });
    const other = Object.assign(document.createElement('canvas'), { width: c.width, height: c.height });
    const g = other.getContext('2d')!;
    g.drawImage(image, 0, 0, c.width, c.height);
    return { width: c.width, height: c.height, plain: [...g.getImageData(0, 0, c.width, c.height).data] };
  });
  const under = (x: number, y: number) => plain.slice((y * width + x) * 4, (y * width + x) * 4 + 3);
  const person = rgbOf(
    await found(page, 'server')
      .filter({ hasText: 'person' })
      .locator('.swatch')
      .evaluate((s) => getComputedStyle(s).backgroundColor),
  );
  const [lx, rx, y] = [Math.round(width / 4), Math.round((3 * width) / 4), Math.round(height / 2)];
  // Left: the person's colour laid over the image at the map's opacity. Right: the image as it is.
  const tinted = under(lx, y).map((v, i) => v + (person[i]! - v) * (140 / 255));
  const left = await canvasPixel(page, 'server', lx, y);
  expect(close(left, tinted, 3), `the left half is tinted: ${left} is not ${tinted}`).toBe(true);
  const right = await canvasPixel(page, 'server', rx, y);
  expect(close(right, under(rx, y), 2), `the right half is the image: ${right} is not ${under(rx, y)}`).toBe(true);
});
