// The comparison of two waves in Chromium: chosen with the filters form with
// JavaScript off (a plain GET form), then each compared page at desktop and
// phone sizes checked with axe, for words split inside a table and for
// sideways scrolling; and the trend across waves on the overview.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { importResponses } from '../../src/exports/import.ts';
import { createAccount, cspSurvey, cspWave, laterWaveCsv } from '../helpers.ts';
import {
  ADMIN,
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
const SURVEY = '/admin/surveys/csp-2020';
const PAGES = [
  '?compare=csp-2019',
  '/results/priorities?compare=csp-2019&area=dartford',
  '/results/about-you?compare=csp-2019',
  '/results/priorities?compare=nope',
];

let browser: Browser;
let server: Server;

beforeAll(async () => {
  browser = await launchChromium();
  const wave2019 = cspSurvey();
  const wave2020 = cspWave(2020);
  server = await startServer({ surveys: [wave2019, wave2020] }, async (t) => {
    await createAccount(t.db, ADMIN.email, 'admin', ADMIN.password);
    await importResponses(t.db, wave2019, fixture);
    await importResponses(t.db, wave2020, Buffer.from(laterWaveCsv(fixture, 2020, 80)));
  });
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('comparing waves in a browser', () => {
  test(
    'the comparison is chosen in the filters form without JavaScript, and kept when moving between sections',
    async () => {
      const context = await openContext(browser, { viewport: DESKTOP, javaScriptEnabled: false });
      const page = await context.newPage();
      await signIn(page, server.origin);
      await page.goto(`${server.origin}${SURVEY}/results/priorities`);
      await page.click('summary:has-text("Filters")');
      await page.selectOption('#compare', 'csp-2019');
      await page.selectOption('#area', 'gravesham');
      await Promise.all([page.waitForURL(/compare=csp-2019/), page.click('button:has-text("Apply filters")')]);
      expect(page.url()).toContain('area=gravesham');
      expect(await page.locator('#comparison h2').textContent()).toBe('Compared with 2019');
      const headers = await page.locator('table#concern_1 thead th').allInnerTexts();
      expect(headers).toEqual(['Answer', 'Count (2020)', '2019 %', '2020 %', 'Change (points)', 'Significant change?']);
      await Promise.all([
        page.waitForURL(/results\/victims/),
        page.click('nav[aria-label=Results] >> text=Victims and reporting'),
      ]);
      expect(page.url()).toContain('compare=csp-2019');
      expect(await page.locator('#compare').inputValue()).toBe('csp-2019');
      await context.close();
    },
    JOURNEY_TIMEOUT,
  );

  for (const [size, viewport] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const) {
    test(
      `compared pages at ${size} size: axe, no word split inside a table, no sideways scrolling`,
      async () => {
        const context = await openContext(browser, { viewport });
        const page = await context.newPage();
        await signIn(page, server.origin);
        for (const path of PAGES) {
          await page.goto(`${server.origin}${SURVEY}${path}`);
          const label = `${size} ${path}`;
          expect(await resultsPageProblems(page, label)).toEqual([]);
        }
        // The significance is said in words in the table, not by colour alone.
        await page.goto(`${server.origin}${SURVEY}/results/priorities?compare=csp-2019`);
        const asb = await page.locator('table#concern_1 tr', { hasText: 'Antisocial behaviour' }).textContent();
        expect(asb).toContain('Yes, down ▼');
        await screenshot(page, `waves-priorities-${size}`);
        // The overview's trend: its chart, with the table it is drawn from.
        await page.goto(`${server.origin}${SURVEY}`);
        expect(await page.locator('#chart-trend-headline > svg').count()).toBe(1);
        expect(await page.locator('table#trend-headline tbody tr').count()).toBe(5);
        await screenshot(page, `waves-overview-${size}`);
        await context.close();
      },
      JOURNEY_TIMEOUT,
    );
  }
});
