// The analysts' side in Chromium: sign in, the analysis page with the 2019
// responses (filtered by area through the form, as a person would), the import
// and accounts pages: axe finds nothing serious, and nothing but the wide
// cross-tabs (which scroll inside their own region) runs off a phone's screen.
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { importResponses } from '../../src/exports/import.ts';
import { createAccount, cspSurvey, makeAdminApp, type TestApp } from '../helpers.ts';
import {
  axe,
  DESKTOP,
  JOURNEY_TIMEOUT,
  launchChromium,
  openContext,
  PHONE,
  screenshot,
  sidewaysOverflow,
} from './browser.ts';

const PASSWORD = 'a long enough passphrase';
const fixture = readFileSync(join(import.meta.dirname, '../fixtures/csp-2019-published.csv'));

let browser: Browser;
let server: TestApp & { origin: string };

beforeAll(async () => {
  browser = await launchChromium();
  const t = await makeAdminApp();
  await createAccount(t.db, 'admin@council.example', 'admin', PASSWORD);
  await importResponses(t.db, cspSurvey(), fixture);
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  server = { ...t, origin: `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}` };
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function signIn(page: Page) {
  await page.goto(`${server.origin}/admin/login`);
  await page.fill('#email', 'admin@council.example');
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL(`${server.origin}/admin`), page.click('button[type=submit]')]);
}

describe('the analysts’ pages in a browser', () => {
  test(
    'sign in, read the published tables, filter by area with the form; axe on every page',
    async () => {
      const context = await openContext(browser, { viewport: DESKTOP });
      const page = await context.newPage();
      await page.goto(`${server.origin}/admin/login`);
      expect((await axe(page, 'login')).blocking).toEqual([]);
      await signIn(page);
      expect((await axe(page, 'dashboard')).blocking).toEqual([]);

      await page.click('text=Community Safety Priorities – Public Opinion Survey 2019');
      await page.waitForURL(/\/admin\/surveys\/csp-2019$/);
      const headline = page.locator('table#concern_1');
      await expect
        // biome-ignore lint/performance/useDomNodeTextContent: the visible text keeps spaces between the cells
        .poll(() => headline.locator('tbody tr').first().innerText())
        .toMatch(/Anti-social behaviour\s+163\s+40\.0%/);
      expect(await page.locator('text=Of 407 respondents to this question').count()).toBeGreaterThan(0);
      const chart = page.locator('img.app-chart');
      expect(await chart.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
      expect((await axe(page, 'analysis')).blocking).toEqual([]);
      await screenshot(page, 'admin-analysis-desktop');

      await page.selectOption('#area', 'dartford');
      await Promise.all([page.waitForURL(/area=dartford/), page.click('button:has-text("Apply filters")')]);
      expect(await page.locator('text=area: Dartford').count()).toBe(1);
      const areaRows = await page.locator('table#area tbody tr').allInnerTexts();
      expect(areaRows.join('\n')).toMatch(/Dartford\s+121\s+100\.0%/);

      await page.goto(`${server.origin}/admin/surveys/csp-2019/import`);
      expect((await axe(page, 'import')).blocking).toEqual([]);
      await page.goto(`${server.origin}/admin/accounts`);
      expect((await axe(page, 'accounts')).blocking).toEqual([]);
      await page.click('text=Change your password');
      await page.waitForURL(/\/admin\/password$/);
      expect((await axe(page, 'own password')).blocking).toEqual([]);
      await Promise.all([page.waitForLoadState('load'), page.click('button:has-text("Change password")')]);
      expect(await page.locator('.govuk-error-summary').count()).toBe(1);
      expect((await axe(page, 'own password, with errors')).blocking).toEqual([]);
      await context.close();
    },
    JOURNEY_TIMEOUT,
  );

  test(
    'the analysis page reads on a phone: only the cross-tabs scroll, inside their own region',
    async () => {
      const context = await openContext(browser, { viewport: PHONE });
      const page = await context.newPage();
      await signIn(page);
      await page.goto(`${server.origin}/admin/surveys/csp-2019`);
      const wide = await page.evaluate(() =>
        [...document.querySelectorAll('main *')]
          .filter(
            (el) =>
              el.getBoundingClientRect().right > document.documentElement.clientWidth + 1 &&
              !el.closest('.app-table-scroll'),
          )
          .map((el) => `${el.tagName.toLowerCase()}#${el.id}.${[...el.classList].join('.')}`)
          .slice(0, 12),
      );
      expect(wide).toEqual([]);
      expect(await sidewaysOverflow(page)).toBeLessThanOrEqual(0);
      const regions = page.locator('.app-table-scroll[role=region][tabindex="0"]');
      expect(await regions.count()).toBe(5);
      await screenshot(page, 'admin-analysis-phone');
      await context.close();
    },
    JOURNEY_TIMEOUT,
  );
});
