/**
 * The status page at `/`, in a real headless Chromium (Debian's, through playwright-core): it lists
 * the models with their versions and states, says ready, and shows a live request rate once
 * requests arrive.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import type { ReefServer } from '../../src/serve/server.js';
import { sharedPath } from '../shared.js';
import { MODELS, post, start } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
let server: ReefServer;
let browser: Browser;

beforeAll(async () => {
  server = await start({ model: sharedPath(MODELS.hello), interpreters: 1 });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

it('shows models, versions, states, and the live request rate', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => document.querySelectorAll('#models tr').length === 1);
  expect(await page.textContent('#ready')).toBe('ready');
  const cells = await page.$$eval('#models tr td', (tds) => tds.map((td) => td.textContent));
  expect(cells.slice(0, 6)).toEqual(['hello_world_float', '1', 'AVAILABLE', '1', '0', '0']);
  // Requests while the page watches: the rate cell turns into a number above 0.
  const stop = Date.now() + 3000;
  const load = (async () => {
    while (Date.now() < stop) await post(`${server.url}/v1/models/hello_world_float:predict`, { instances: [[0.5]] });
  })();
  await page.waitForFunction(() => Number(document.querySelectorAll('#models tr td')[6]?.textContent) > 0, undefined, { timeout: 5000 });
  await load;
  const latency = await page.$$eval('#models tr td', (tds) => tds[7].textContent);
  expect(Number(latency)).toBeGreaterThan(0);
  expect(await page.$eval('#models tr td:nth-child(3)', (td) => td.className)).toBe('AVAILABLE');
  await page.close();
});
