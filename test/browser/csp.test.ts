// The Content-Security-Policy in a real browser: every page of a respondent's
// journey and the analysis page (with its SVG chart, loaded as an image) work
// with the policy enforced, and the browser reports no violation.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createAccount } from '../helpers.ts';
import { DESKTOP, JOURNEY_TIMEOUT, launchChromium, openContext, type Server, startServer } from './browser.ts';

let browser: Browser;
let server: Server;

beforeAll(async () => {
  [browser, server] = await Promise.all([launchChromium(), startServer()]);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('the Content-Security-Policy in Chromium', () => {
  let context: BrowserContext;
  let page: Page;
  const violations: string[] = [];

  beforeAll(async () => {
    context = await openContext(browser, { viewport: DESKTOP });
    // Listens from the start of every document, before the page's own script runs.
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (event) => {
        console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`);
      });
    });
    page = await context.newPage();
    page.on('console', (message) => {
      if (/Content Security Policy|CSP violation/i.test(message.text()))
        violations.push(`${page.url()}: ${message.text()}`);
    });
  });

  afterAll(async () => {
    await context?.close();
  });

  test(
    'a respondent journey and the analysis page run with no violation, the chart drawn',
    async () => {
      await page.goto(`${server.origin}/s/csp-2019`);
      const policy = await page.evaluate(async () =>
        (await fetch(location.href)).headers.get('content-security-policy'),
      );
      expect(policy).toContain("script-src 'self'");
      await Promise.all([page.waitForURL(/\/area$/), page.getByRole('button', { name: /Start now/ }).click()]);
      await page.getByLabel('Gravesham').check();
      await Promise.all([page.waitForURL(/\/concern-1$/), page.getByRole('button', { name: 'Continue' }).click()]);
      await page.getByLabel('Anti-social behaviour').check();
      await Promise.all([page.waitForURL(/\/concern-1-asb$/), page.getByRole('button', { name: 'Continue' }).click()]);
      // The script is allowed to run: it counts ticks as they are made.
      await page.getByLabel('Fly-tipping').check();
      await expect.poll(() => page.locator('.app-choice-count').textContent()).toContain('You have selected 1');
      // The stylesheet is applied: the honeypot is not displayed.
      expect(await page.locator('#website-url').isVisible()).toBe(false);

      await createAccount(server.db, 'analyst@council.example', 'analyst', 'a long enough passphrase');
      await page.goto(`${server.origin}/admin/login`);
      await page.getByLabel('Email address').fill('analyst@council.example');
      await page.getByLabel('Password').fill('a long enough passphrase');
      await Promise.all([page.waitForURL(/\/admin$/), page.getByRole('button', { name: 'Sign in' }).click()]);
      await page.goto(`${server.origin}/admin/surveys/csp-2019`);
      // Charts are inline SVG: drawn, with their styles allowed by the policy.
      const chart = page.locator('svg.app-chart-figure__svg').first();
      await chart.waitFor();
      expect((await chart.boundingBox())?.height ?? 0).toBeGreaterThan(50);

      expect(violations).toEqual([]);
    },
    JOURNEY_TIMEOUT,
  );
});
