// The analysts' side in Chromium, with the 2019 responses: every results page
// at desktop and phone sizes (axe finds nothing serious, no word is split
// across lines inside a table, the page never scrolls sideways), the way to
// the rank-2 top 3 tables, a cross-tab with its test printed on one A4 page,
// and the import and accounts pages.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { importResponses } from '../../src/exports/import.ts';
import { createAccount, cspSurvey } from '../helpers.ts';
import {
  ADMIN,
  ARTIFACTS_DIR,
  axe,
  DESKTOP,
  JOURNEY_TIMEOUT,
  launchChromium,
  openContext,
  PHONE,
  resultsPageProblems,
  type Server,
  screenshot,
  signIn,
  startServer,
} from './browser.ts';

const fixture = readFileSync(join(import.meta.dirname, '../fixtures/csp-2019-published.csv'));
const SURVEY = '/admin/surveys/csp-2019';
const PAGES = [
  '',
  '/results/priorities',
  '/results/victims',
  '/results/about-you',
  '/results/crosstabs?row=concern_1&column=ethnicity&measure=row',
  '/results/channels',
  '/results/quality',
  '/settings',
];

let browser: Browser;
let server: Server;

beforeAll(async () => {
  browser = await launchChromium();
  server = await startServer({}, async (t) => {
    await createAccount(t.db, ADMIN.email, 'admin', ADMIN.password);
    await importResponses(t.db, cspSurvey(), fixture);
  });
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('the analysts’ pages in a browser', () => {
  for (const [size, viewport] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const) {
    test(
      `every results page at ${size} size: axe, no word split inside a table, no sideways scrolling`,
      async () => {
        const context = await openContext(browser, { viewport });
        const page = await context.newPage();
        await signIn(page, server.origin);
        for (const path of PAGES) {
          await page.goto(`${server.origin}${SURVEY}${path}`);
          // Wide tables scroll inside their own labelled region, never the page.
          expect(await resultsPageProblems(page, `${size} ${path}`)).toEqual([]);
          // Chart text is never drawn smaller than 12 px.
          const smallest = await page.evaluate(() =>
            Math.min(
              ...[...document.querySelectorAll('main svg text')].map((t) =>
                Number.parseFloat(getComputedStyle(t).fontSize),
              ),
              99,
            ),
          );
          expect(smallest, `${size} ${path}`).toBeGreaterThanOrEqual(12);
        }
        await page.goto(`${server.origin}${SURVEY}/results/priorities`);
        await screenshot(page, `admin-priorities-${size}`);
        await context.close();
      },
      JOURNEY_TIMEOUT,
    );
  }

  test(
    'the rank-2 top 3 tables are two clicks from the results, and a cross-tab with its test prints on one A4 page',
    async () => {
      const context = await openContext(browser, { viewport: DESKTOP });
      const page = await context.newPage();
      await signIn(page, server.origin);
      await page.goto(`${server.origin}${SURVEY}`);
      // One: Priorities. Two: the contents link.
      await Promise.all([
        page.waitForURL(/results\/priorities/),
        page.click('nav[aria-label=Results] >> text=Priorities'),
      ]);
      await page.click('a[href="#concern_2_top3-asb"]');
      await expect.poll(() => page.evaluate(() => location.hash)).toBe('#concern_2_top3-asb');
      const caption = await page.locator('#concern_2_top3-asb caption').textContent();
      expect(caption).toContain('second most important issue');

      // Most important issue by disability, with its significance, through the form.
      await page.goto(`${server.origin}${SURVEY}/results/crosstabs`);
      await page.selectOption('#row', 'concern_1');
      await page.selectOption('#column', 'disability');
      await Promise.all([page.waitForURL(/column=disability/), page.click('button:has-text("Show the cross-tab")')]);
      expect(await page.locator('text=Chi-square test of independence').count()).toBe(1);
      expect((await axe(page, 'crosstab')).blocking).toEqual([]);
      await page.emulateMedia({ media: 'print' });
      const pdf = await page.pdf({ format: 'A4', path: join(ARTIFACTS_DIR, 'admin-crosstab-print.pdf') });
      const pages = pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) ?? [];
      expect(pages.length).toBe(1);
      // Nothing of the table is cut off on the page.
      const cut = await page.evaluate(() => {
        const table = document.querySelector('#crosstab');
        const region = table?.closest('.app-table-scroll');
        return table && region ? table.scrollWidth - region.clientWidth : 0;
      });
      expect(cut).toBeLessThanOrEqual(0);
      await context.close();
    },
    JOURNEY_TIMEOUT,
  );

  test(
    'filter by area with the form, and the import and accounts pages; axe on each',
    async () => {
      const context = await openContext(browser, { viewport: DESKTOP });
      const page = await context.newPage();
      await page.goto(`${server.origin}/admin/login`);
      expect((await axe(page, 'login')).blocking).toEqual([]);
      await signIn(page, server.origin);
      expect((await axe(page, 'dashboard')).blocking).toEqual([]);
      await page.click('text=Community Safety Priorities – Public Opinion Survey 2019');
      await page.waitForURL(/\/admin\/surveys\/csp-2019$/);
      await page.click('summary:has-text("Filters")');
      await page.selectOption('#area', 'dartford');
      await Promise.all([page.waitForURL(/area=dartford/), page.click('button:has-text("Apply filters")')]);
      expect(await page.locator('text=area: Dartford').count()).toBe(1);
      const areaRows = await page.locator('table#area tbody tr').allInnerTexts();
      expect(areaRows.join('\n')).toMatch(/Dartford\s+121\s+100\.0%/);
      await page.goto(`${server.origin}${SURVEY}/import`);
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
});
