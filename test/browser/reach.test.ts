// Reaching residents, in Chromium: the printable questionnaire laid out on A4
// (a screenshot in test-artifacts/ for a person to look at, and the PDF), the
// share page's QR codes decoding to their links and its copy buttons, a paper
// questionnaire keyed in and then found in the analysis under the paper
// channel, axe on every new page, and not one request off-site anywhere.
import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import jsqr from 'jsqr';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createAccount, makeAdminApp, type TestApp } from '../helpers.ts';
import {
  ARTIFACTS_DIR,
  axe,
  DESKTOP,
  JOURNEY_TIMEOUT,
  launchChromium,
  openContext,
  screenshot,
  sidewaysOverflow,
} from './browser.ts';

// jsqr is CommonJS: its function is also its `default`, which is what its types describe.
const jsQR = jsqr.default;

const PASSWORD = 'a long enough passphrase';
const EMAIL = 'analyst@council.example';
/** A4 at the 96 CSS pixels to the inch that browsers print at: 210 x 297 mm. */
const A4 = { width: 794, height: 1123 };

let browser: Browser;
let server: TestApp & { origin: string };

/** The app with the admin side, on a fresh database, listening on a free port; with one analyst account. */
async function startServer() {
  const test = await makeAdminApp();
  await createAccount(test.db, EMAIL, 'analyst', PASSWORD);
  await test.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = test.app.server.address() as AddressInfo;
  return { ...test, origin: `http://127.0.0.1:${port}` };
}

beforeAll(async () => {
  [browser, server] = await Promise.all([launchChromium(), startServer()]);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function signIn(page: Page) {
  await page.goto(`${server.origin}/admin/login`);
  await page.getByLabel('Email address').fill(EMAIL);
  await page.getByLabel('Password').fill(PASSWORD);
  await Promise.all([
    page.waitForURL((u) => u.pathname === '/admin'),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ]);
}

describe('the printable questionnaire', () => {
  test(
    'lays out on A4 in print, with nothing cut off, and its PDF comes from the same page',
    async () => {
      const context = await openContext(browser, { viewport: A4 });
      try {
        const page = await context.newPage();
        await page.goto(`${server.origin}/print/csp-2019`);
        await page.emulateMedia({ media: 'print' });
        expect(await sidewaysOverflow(page)).toBe(0);
        // On paper: no site header, footer, or links to download; the questions and their boxes.
        expect(await page.locator('.app-header').isVisible()).toBe(false);
        expect(await page.locator('.app-footer').isVisible()).toBe(false);
        expect(await page.locator('.app-paper__screen-only').isVisible()).toBe(false);
        expect(await page.locator('.app-paper__question').count()).toBe(54);
        const box = await page.locator('.app-paper__option .app-paper__tick').first().boundingBox();
        expect(box?.width).toBeGreaterThanOrEqual(12);
        expect(box?.height).toBeGreaterThanOrEqual(12);
        // Every question fits the width of the page.
        const widest = await page
          .locator('.app-paper__question')
          .evaluateAll((els) => Math.max(...els.map((el) => el.getBoundingClientRect().right)));
        expect(widest).toBeLessThanOrEqual(A4.width);
        await screenshot(page, 'reach-print-a4');

        const pdf = await page.request.get(`${server.origin}/print/csp-2019.pdf`);
        expect(pdf.status()).toBe(200);
        expect(pdf.headers()['content-type']).toBe('application/pdf');
        const body = await pdf.body();
        expect(body.subarray(0, 5).toString()).toBe('%PDF-');
        // A4 pages: 210 x 297 mm is 595 x 842 points.
        const boxes = [...body.toString('latin1').matchAll(/\/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]/g)];
        expect(boxes.length).toBeGreaterThanOrEqual(4);
        for (const [, width, height] of boxes)
          expect([Math.round(Number(width)), Math.round(Number(height))]).toEqual([595, 842]);
        mkdirSync(ARTIFACTS_DIR, { recursive: true });
        writeFileSync(join(ARTIFACTS_DIR, 'reach-questionnaire.pdf'), body);
      } finally {
        await context.close();
      }
    },
    JOURNEY_TIMEOUT,
  );
});

describe('the public pages at phone width', () => {
  test('never scroll sideways', async () => {
    const context = await openContext(browser, { viewport: { width: 320, height: 640 } });
    try {
      const page = await context.newPage();
      for (const path of ['/print/csp-2019', '/privacy', '/accessibility', '/cookies']) {
        await page.goto(`${server.origin}${path}`);
        expect(await sidewaysOverflow(page), path).toBe(0);
      }
    } finally {
      await context.close();
    }
  });
});

describe('staff reaching residents', () => {
  let context: BrowserContext;
  let page: Page;
  const blocking: string[] = [];
  const requested: string[] = [];

  beforeAll(async () => {
    context = await openContext(browser, { viewport: DESKTOP });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.origin });
    context.on('request', (request) => requested.push(request.url()));
    page = await context.newPage();
  });

  afterAll(async () => {
    await context?.close();
  });

  async function checkAccessibility(label: string) {
    blocking.push(...(await axe(page, label)).blocking);
  }

  test(
    'the public pages, statements and questionnaire pass axe and request nothing off-site',
    async () => {
      for (const [path, label] of [
        ['/s/csp-2019', 'start page'],
        ['/privacy', 'privacy notice'],
        ['/accessibility', 'accessibility statement'],
        ['/cookies', 'cookies'],
        ['/print/csp-2019', 'printable questionnaire'],
      ] as const) {
        await page.goto(`${server.origin}${path}`);
        await checkAccessibility(label);
        // The footer links to all three statements.
        const footer = await page.locator('footer a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
        expect(footer, label).toEqual(expect.arrayContaining(['/privacy', '/accessibility', '/cookies']));
      }
      // Into the survey, so the journey's own pages are in the record of requests too.
      await page.goto(`${server.origin}/s/csp-2019?src=poster`);
      await Promise.all([
        page.waitForURL((u) => u.pathname === '/s/csp-2019/area'),
        page.getByRole('button', { name: 'Start now' }).click(),
      ]);
      await page.getByLabel('Dartford').check();
      await Promise.all([
        page.waitForURL((u) => u.pathname === '/s/csp-2019/concern-1'),
        page.getByRole('button', { name: 'Continue' }).click(),
      ]);
    },
    JOURNEY_TIMEOUT,
  );

  test(
    "the share page's QR codes decode to their links, and the copy buttons copy them",
    async () => {
      await signIn(page);
      await page.goto(`${server.origin}/admin/surveys/csp-2019/share`);
      await checkAccessibility('share page');
      const cards = page.locator('.app-share');
      expect(await cards.count()).toBe(6);
      for (const card of await cards.all()) {
        const link = (await card.locator('a[data-copy-link]').textContent())?.trim();
        expect(link).toMatch(/^http:\/\/localhost:3000\/s\/csp-2019(\?src=[a-z]+)?$/);
        const qr = card.locator('img.app-share__qr');
        expect(await qr.getAttribute('alt')).toBe(`QR code for ${link}`);
        await qr.evaluate((img: HTMLImageElement) => img.decode());
        const image = PNG.sync.read(await qr.screenshot());
        expect(jsQR(new Uint8ClampedArray(image.data), image.width, image.height)?.data).toBe(link);
      }
      const poster = page.locator('#channel-poster');
      await poster.getByRole('button', { name: 'Copy link for Poster' }).click();
      await expect.poll(() => poster.getByRole('status').textContent()).toBe('Link copied');
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(
        'http://localhost:3000/s/csp-2019?src=poster',
      );
      await screenshot(page, 'reach-share-page');
    },
    JOURNEY_TIMEOUT,
  );

  test(
    'a paper questionnaire keyed in appears in the analysis under the paper channel',
    async () => {
      await page.goto(`${server.origin}/admin/surveys/csp-2019/paper`);
      await checkAccessibility('paper entry');
      // A mistake first: four ticks where three are allowed.
      await page.locator('#q1').check(); // Dartford
      await page.locator('#q2').check(); // Violence
      for (const id of ['#q3', '#q3-2', '#q3-3', '#q3-4']) await page.locator(id).check();
      await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' && r.status() === 422),
        page.getByRole('button', { name: 'Save this paper questionnaire' }).click(),
      ]);
      await page.locator('.govuk-error-summary').waitFor();
      expect(await page.locator('.govuk-error-summary__list').textContent()).toContain(
        'Question 3: Select up to 3 issues',
      );
      await checkAccessibility('paper entry with an error');
      await page.locator('#q3-4').uncheck();
      await page.locator('#q4').check(); // Yes, a victim
      await page.locator('#q5-2').check(); // Not reported
      await page.getByLabel('54. Postcode').fill('DA11 0AA');
      await Promise.all([
        page.waitForURL((u) => u.searchParams.has('saved')),
        page.getByRole('button', { name: 'Save this paper questionnaire' }).click(),
      ]);
      expect(await page.locator('.govuk-notification-banner__heading').textContent()).toMatch(
        /^Paper questionnaire saved as P-\d{6}$/,
      );
      await screenshot(page, 'reach-paper-entry-saved');

      await page.goto(`${server.origin}/admin/surveys/csp-2019/results/channels`);
      await page.locator('.app-filters summary').click();
      await page.locator('#channel').selectOption('paper');
      await Promise.all([
        page.waitForURL((u) => u.searchParams.get('channel') === 'paper'),
        page.getByRole('button', { name: 'Apply filters' }).click(),
      ]);
      const channels = await page
        .locator('#channels tbody tr')
        .evaluateAll((rows) => rows.map((row) => [...row.children].map((cell) => cell.textContent?.trim())));
      expect(channels).toEqual([['Paper', '1', '0', '1', '100.0%']]);
      const area = await page.locator('#headline, body').first().textContent();
      expect(area).toContain('Dartford');

      await page.goto(`${server.origin}/admin/surveys/csp-2019/share`);
      const paperRow = await page
        .locator('#row-paper')
        .evaluate((row) => [...row.children].map((cell) => cell.textContent?.trim()));
      expect(paperRow).toEqual(['Paper questionnaire', '1', '0', '1', '100.0%']);
    },
    JOURNEY_TIMEOUT,
  );

  test('not one request left the site, and axe found nothing serious or critical', () => {
    expect(requested.length).toBeGreaterThan(20);
    const offSite = requested.filter((url) => !url.startsWith(`${server.origin}/`));
    expect(offSite).toEqual([]);
    expect(blocking, blocking.join('\n\n')).toEqual([]);
  });
});
