// The survey's definition pages in Chromium, without JavaScript, at desktop and
// phone sizes: an admin edits the wording, previews it page by page as a
// resident sees it, publishes it, and copies the survey as next year's wave.
// Each page passes axe (its best practices included) in a JavaScript tab
// holding the same cookies, and never scrolls sideways, down to 320px.
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createAccount } from '../helpers.ts';
import {
  ADMIN as ADMIN_ACCOUNT,
  DESKTOP,
  JOURNEY_TIMEOUT,
  launchChromium,
  noJsPageCheck,
  openContext,
  PHONE,
  type Server,
  signIn,
  startServer,
} from './browser.ts';

const ADMIN = '/admin/surveys/csp-2019';

let browser: Browser;
let server: Server;

beforeAll(async () => {
  browser = await launchChromium();
  server = await startServer({}, async (t) => {
    await createAccount(t.db, ADMIN_ACCOUNT.email, 'admin', ADMIN_ACCOUNT.password);
  });
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('the survey editor in a browser without JavaScript', () => {
  for (const [size, viewport] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const) {
    test(
      `at ${size} size: edit, preview, publish and copy; axe and no sideways scrolling`,
      async () => {
        let noJs: BrowserContext | undefined;
        let withJs: BrowserContext | undefined;
        const problems: string[] = [];
        try {
          noJs = await openContext(browser, { javaScriptEnabled: false, viewport });
          withJs = await openContext(browser, { viewport });
          const page = await noJs.newPage();
          const axePage = await withJs.newPage();
          const check = noJsPageCheck({ noJs, withJs, page, axePage }, viewport, `survey-editor-${size}`, problems);

          await signIn(page, server.origin);
          await page.goto(`${server.origin}${ADMIN}/definition`);
          await check('definition page');

          await page.getByRole('link', { name: 'Edit the wording' }).click();
          await page.waitForURL(`${server.origin}${ADMIN}/wording`);
          await check('wording editor');
          // An emptied title: the error summary, the message beside it, nothing stored.
          await page.fill('#title', '');
          await Promise.all([page.waitForLoadState(), page.getByRole('button', { name: 'Preview' }).click()]);
          expect(await page.locator('.govuk-error-summary').textContent()).toContain('Title cannot be empty');
          await check('wording editor with an error');
          await page.fill('#title', `Community Safety Priorities 2020 (${size})`);
          await page.fill('#thankYou', 'Thank you. Final priorities will be decided by the end of March 2020.');
          await page.fill('#p0-q0-o0', 'Dartford borough');
          await Promise.all([
            page.waitForURL(`${server.origin}${ADMIN}/wording/preview`),
            page.getByRole('button', { name: 'Preview' }).click(),
          ]);
          expect((await page.locator('h1').textContent())?.trim()).toBe(`Community Safety Priorities 2020 (${size})`);
          await check('preview of the start page');
          await page.getByRole('link', { name: 'Next page' }).click();
          await page.waitForURL(/preview\?page=area$/);
          expect(await page.getByLabel('Dartford borough').count()).toBe(1);
          await check('preview of a question page');
          await page.goto(`${server.origin}${ADMIN}/wording/preview?page=thank-you`);
          expect(await page.locator('main').textContent()).toContain('end of March 2020');
          await check('preview of the thank-you page');
          await Promise.all([
            page.waitForURL(/definition\?done=published$/),
            page.getByRole('button', { name: 'Publish as a new version' }).click(),
          ]);
          expect(await page.locator('.govuk-notification-banner__heading').textContent()).toContain('published');
          await check('definition page after publishing');

          await page.getByRole('link', { name: 'Copy as next year’s wave' }).click();
          await page.fill('#id', `csp-2021-${size}`);
          await page.fill('#title', 'Community Safety Priorities 2021');
          await page.fill('#opens', '2021-02-15');
          await page.fill('#closes', '2021-02-28');
          await Promise.all([
            page.waitForURL(`${server.origin}/admin/surveys/csp-2021-${size}/definition?done=copied`),
            page.getByRole('button', { name: 'Create the copy' }).click(),
          ]);
          await check('definition page of the copy');
          await page.goto(`${server.origin}/admin/new-survey`);
          await check('upload a new survey');
          expect(problems).toEqual([]);
        } finally {
          await noJs?.close();
          await withJs?.close();
        }
      },
      JOURNEY_TIMEOUT,
    );
  }
});
