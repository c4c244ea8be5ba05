// The demo page's local run on WebGPU, in a Chromium launched with the server's own switches:
// WebGPU on, and SwiftShader as the fallback adapter on a machine without a GPU.

import { expect, test } from '@playwright/test';
import path from 'node:path';
import { toolChromiumFlags } from '../../dist/server/chromium/chromium-flags.js';
import { findChromium } from '../../dist/server/chromium/find-chromium.js';
import { localBars, openDemo } from './demo-helpers.js';

test.use({ launchOptions: { executablePath: findChromium(process.env['CHROME_PATH'] ?? null), args: toolChromiumFlags() } });

test('WebGPU asked for: the page names the adapter and answers as the server does', async ({ page }) => {
  test.setTimeout(600_000);
  await openDemo(page);
  // The int8 model: SwiftShader runs WebGPU on the CPU, where the fp32 model's load and run take
  // it many times longer (the fp32 model on WebGPU is tested in tests/integration).
  const model = page.getByLabel('Model', { exact: true });
  await model.selectOption({ label: (await model.locator('option', { hasText: 'mobilenet_v2_int8' }).textContent())! });
  await page.getByLabel('Backend in this browser').selectOption('webgpu');
  await page.getByLabel('Run in this browser too').check();
  await page.getByRole('button', { name: 'Kitten' }).click();
  await expect(page.getByRole('status')).toHaveText(/Classified kitten\.jpg/, { timeout: 560_000 });
  await expect(page.locator('#local-answer .local-error')).toBeHidden();
  await expect(page.locator('#local-answer .where')).toHaveText(/This browser runs it on WebGPU on .*swiftshader.*\(software fallback\)/i);
  await expect(localBars(page).first().locator('.label')).toHaveText(/^tabby\b/);
  await expect(page.locator('#comparison')).toContainText('Same first class: tabby');
  expect(Number(await page.locator('#max-difference').textContent())).toBeLessThan(0.01);
  await page.screenshot({ path: path.join(import.meta.dirname, '..', '..', 'test-results', 'screenshots', 'demo-webgpu.png'), fullPage: true });
});
