// Issue 17's "Done means", end to end in Chromium without JavaScript: an admin
// copies csp-2019 as csp-2020, corrects the thank-you text, previews it,
// publishes it and opens the survey; residents answer (one in the browser, the
// rest over HTTP); and csp-2020's priorities, compared with 2019 in the filters
// form, show both waves side by side with the significant changes marked.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { importResponses } from '../../src/exports/import.ts';
import { createAccount, cspSurvey, Respondent } from '../helpers.ts';
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
const WAVE = '/admin/surveys/csp-2020';
const THANK_YOU =
  'Thank you for taking the time to complete this survey. Final priorities will be decided by the CSP by the end of March 2020.';

/**
 * The most important issue of the residents answering over HTTP: substance misuse, chosen by 8% in
 * 2019, now by most; property crime about as often as in 2019 (23%); anti-social behaviour, 40% in
 * 2019, far less. The resident in the browser adds one more property crime.
 */
const ISSUES = [...Array(40).fill('substance'), ...Array(14).fill('property'), ...Array(6).fill('asb')] as string[];

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

/** Presses a button and waits for the page it leads to. */
async function press(page: Page, name: string, url: string | RegExp) {
  await Promise.all([page.waitForURL(url), page.getByRole('button', { name, exact: true }).click()]);
}

/** A resident answering csp-2020 over HTTP from their own address: the area, `issue` first, the rest left blank. */
async function respond(address: string, issue: string) {
  const resident = new Respondent(server.app, 'csp-2020', address);
  await resident.start();
  let page = await resident.answer('area', { area: 'gravesham' });
  while (page !== 'check-answers') page = await resident.answer(page, page === 'concern-1' ? { concern_1: issue } : {});
  const sent = await resident.post('check-answers');
  expect(sent.headers.location).toBe('/s/csp-2020/thank-you');
}

describe('next year’s wave, from the copy to the comparison', () => {
  test(
    'copy csp-2019 as csp-2020, correct the thank-you text, preview, publish, open; after the first responses 2020 is shown beside 2019 with the significant changes marked',
    async () => {
      const admin = await openContext(browser, { viewport: DESKTOP, javaScriptEnabled: false });
      const residents = await openContext(browser, { viewport: PHONE, javaScriptEnabled: false });
      const axeTab = await openContext(browser, { viewport: DESKTOP });
      try {
        const page = await admin.newPage();
        await signIn(page, server.origin);

        // Copy: 2020's dates name the wave "2020" (the year it opens).
        await page.goto(`${server.origin}/admin/surveys/csp-2019/definition`);
        await page.getByRole('link', { name: 'Copy as next year’s wave' }).click();
        await page.fill('#id', 'csp-2020');
        await page.fill('#title', 'Community Safety Priorities – Public Opinion Survey 2020');
        await page.fill('#opens', '2020-02-17');
        await page.fill('#closes', '2020-03-31');
        await press(page, 'Create the copy', `${server.origin}${WAVE}/definition?done=copied`);

        // Edit the wording: the copy still thanks residents with 2019's date.
        await page.getByRole('link', { name: 'Edit the wording' }).click();
        await page.waitForURL(`${server.origin}${WAVE}/wording`);
        expect(await page.inputValue('#thankYou')).toContain('end of March 2019');
        await page.fill('#thankYou', THANK_YOU);
        await press(page, 'Preview', `${server.origin}${WAVE}/wording/preview`);
        await page.goto(`${server.origin}${WAVE}/wording/preview?page=thank-you`);
        const preview = (await page.locator('main').textContent()) ?? '';
        expect(preview).toContain(THANK_YOU);
        expect(preview).not.toContain('March 2019');
        await press(page, 'Publish as a new version', `${server.origin}${WAVE}/definition?done=published`);

        // Open it: its 2020 dates are past, so the admin opens it now in its Settings.
        await page.getByRole('link', { name: 'Settings', exact: true }).click();
        await page.waitForURL(`${server.origin}${WAVE}/settings`);
        expect(await page.locator('#schedule + p .govuk-tag').textContent()).toBe('Not open');
        await press(page, 'Open the survey now', `${server.origin}${WAVE}/settings`);
        expect(await page.locator('#schedule + p .govuk-tag').textContent()).toBe('Open');

        // A resident answers in the browser and is thanked with the corrected text.
        const resident = await residents.newPage();
        await resident.goto(`${server.origin}/s/csp-2020`);
        await press(resident, 'Start now', `${server.origin}/s/csp-2020/area`);
        await resident.getByLabel('Dartford', { exact: true }).check();
        await press(resident, 'Continue', `${server.origin}/s/csp-2020/concern-1`);
        await resident.getByLabel('Property crime', { exact: true }).check();
        for (let i = 0; i < 12 && !resident.url().endsWith('/check-answers'); i++)
          await Promise.all([
            resident.waitForLoadState(),
            resident.getByRole('button', { name: 'Continue', exact: true }).click(),
          ]);
        await press(resident, 'Send answers', `${server.origin}/s/csp-2020/thank-you`);
        const thanks = (await resident.locator('main').textContent()) ?? '';
        expect(thanks).toContain(THANK_YOU);
        expect(thanks).not.toContain('March 2019');
        await screenshot(resident, 'next-wave-thank-you');

        // The other first responses, over HTTP.
        for (const [i, issue] of ISSUES.entries()) await respond(`10.20.0.${i + 1}`, issue);

        // Compare with 2019 in the filters form: a plain GET form, no JavaScript.
        await page.goto(`${server.origin}${WAVE}/results/priorities`);
        await page.click('summary:has-text("Filters")');
        expect(await page.locator('#compare option[value="csp-2019"]').textContent()).toContain('2019');
        await page.selectOption('#compare', 'csp-2019');
        await press(page, 'Apply filters', /compare=csp-2019/);
        expect(await page.locator('#comparison h2').textContent()).toBe('Compared with 2019');
        const table = page.locator('table#concern_1');
        expect(await table.locator('thead th').allInnerTexts()).toEqual([
          'Answer',
          'Count (2020)',
          '2019 %',
          '2020 %',
          'Change (points)',
          'Significant change?',
        ]);
        const row = (answer: string) =>
          table.locator('tbody tr', { hasText: answer }).locator('th, td').allInnerTexts();
        // Substance misuse: 33 of 407 in 2019, 40 of 61 in 2020.
        const substance = await row('Substance misuse');
        expect(substance.slice(0, 5)).toEqual(['Substance misuse', '40', '8.1%', '65.6%', '+57.5']);
        expect(substance[5]).toMatch(/^Yes, up ▲/);
        // Anti-social behaviour: 163 of 407, then 6 of 61.
        expect((await row('Anti-social behaviour'))[5]).toMatch(/^Yes, down ▼/);
        // Property crime: 94 of 407 (23.1%), then 15 of 61 (24.6%): no significant change.
        const property = await row('Property crime');
        expect(property.slice(0, 4)).toEqual(['Property crime', '15', '23.1%', '24.6%']);
        expect(property[5]).toMatch(/^No \(z = /);
        await screenshot(page, 'next-wave-compared-priorities');

        // The compared page, checked as every analysts' page is (axe with JavaScript, same cookies).
        await axeTab.addCookies(await admin.cookies());
        const axePage = await axeTab.newPage();
        await axePage.goto(page.url());
        expect(await resultsPageProblems(axePage, 'csp-2020 priorities compared with 2019')).toEqual([]);
      } finally {
        await admin.close();
        await residents.close();
        await axeTab.close();
      }
    },
    JOURNEY_TIMEOUT,
  );
});
