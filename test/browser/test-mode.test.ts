// Test mode in Chromium, without JavaScript, at desktop and phone sizes: an
// admin tries a survey that has not opened yet from its admin page, every page
// shows the test-mode banner, the thank-you page says it was a test, and the
// erase confirmation and its outcome read right. Each page passes axe (its best
// practices included) in a JavaScript tab holding the same cookies, and never
// scrolls sideways, down to 320px.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createAccount, cspSurvey } from '../helpers.ts';
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
const BANNER = 'This response will not be counted: it is stored as a staff test.';

let browser: Browser;
let server: Server;

beforeAll(async () => {
  browser = await launchChromium();
  // Not open until next year: only staff can go through it.
  server = await startServer(
    {
      surveys: [cspSurvey({ opensAt: `${new Date().getUTCFullYear() + 1}-01-10T09:00:00Z` })],
    },
    async (t) => {
      await createAccount(t.db, ADMIN_ACCOUNT.email, 'admin', ADMIN_ACCOUNT.password);
    },
  );
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('test mode in a browser without JavaScript', () => {
  for (const [size, viewport] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const) {
    test(
      `at ${size} size: the banner on every page, the erase confirmation, axe and no sideways scrolling`,
      async () => {
        let noJs: BrowserContext | undefined;
        let withJs: BrowserContext | undefined;
        const problems: string[] = [];
        try {
          noJs = await openContext(browser, { javaScriptEnabled: false, viewport });
          withJs = await openContext(browser, { viewport });
          const page = await noJs.newPage();
          const axePage = await withJs.newPage();

          const check = noJsPageCheck({ noJs, withJs, page, axePage }, viewport, `test-mode-${size}`, problems);
          const banner = (p: Page) => p.locator('.app-test-banner');

          await signIn(page, server.origin);
          await page.goto(`${server.origin}${ADMIN}`);
          await check('survey admin page');
          await Promise.all([
            page.waitForURL(`${server.origin}/s/csp-2019/area`),
            page.getByRole('button', { name: 'Try the survey (test mode)' }).click(),
          ]);

          expect(await banner(page).textContent()).toContain(BANNER);
          expect(await banner(page).isVisible()).toBe(true);
          await check('first question in test mode');
          await page.getByLabel('Dartford').check();
          // Every other page left blank, as a member of staff checking the route might.
          for (let i = 0; i < 12 && !page.url().endsWith('/check-answers'); i++) {
            await Promise.all([
              page.waitForLoadState(),
              page.getByRole('button', { name: 'Continue', exact: true }).click(),
            ]);
            expect(await banner(page).textContent()).toContain(BANNER);
          }
          expect(page.url()).toBe(`${server.origin}/s/csp-2019/check-answers`);
          await check('check your answers in test mode');
          await Promise.all([
            page.waitForURL(`${server.origin}/s/csp-2019/thank-you`),
            page.getByRole('button', { name: 'Send answers' }).click(),
          ]);
          expect(await page.locator('.govuk-panel__body').textContent()).toContain('Your test response has been saved');
          expect(await banner(page).textContent()).toContain(BANNER);
          await check('thank-you in test mode');

          await page.goto(`${server.origin}${ADMIN}/responses/erase-tests`);
          expect((await page.locator('h1').textContent())?.trim()).toBe('Erase the test response?');
          await check('erase confirmation');
          await Promise.all([
            page.waitForURL(/erase-tests\?erased=1$/),
            page.getByRole('button', { name: 'Erase the test response' }).click(),
          ]);
          expect(await page.locator('.govuk-notification-banner__heading').textContent()).toContain(
            '1 test response was erased',
          );
          await check('erased');
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
