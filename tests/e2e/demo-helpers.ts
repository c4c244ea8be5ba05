// What the demo page tests share.

import { expect, type Page } from '@playwright/test';

export async function openDemo(page: Page): Promise<void> {
  await page.goto('/');
  await expect(page.locator('html')).toHaveAttribute('data-demo', 'ready');
  await expect(page.getByLabel('Model', { exact: true })).toBeEnabled();
}

export const serverBars = (page: Page) => page.locator('#server-answer .bars li');
export const localBars = (page: Page) => page.locator('#local-answer .bars li');
