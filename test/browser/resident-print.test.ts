// The printed questionnaire for older residents, as Chromium lays it out for
// print: every word at 12 pt or more (hints included), no text on tinted
// blocks, the return address before the first question; and the page passes
// axe with its best practices.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { axe, JOURNEY_TIMEOUT, launchChromium, openContext, type Server, screenshot, startServer } from './browser.ts';

/** A4 at 96 CSS pixels to the inch. */
const A4 = { width: 794, height: 1123 };
/** 12 pt is 16 CSS pixels. */
const TWELVE_POINT_PX = 16;

let browser: Browser;
let server: Server;

beforeAll(async () => {
  [browser, server] = await Promise.all([launchChromium(), startServer()]);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('the printed questionnaire', () => {
  test(
    'prints every word at 12 pt or more, on white, with the return address first',
    async () => {
      const context = await openContext(browser, { viewport: A4 });
      try {
        const page = await context.newPage();
        await page.goto(`${server.origin}/print/csp-2019`);
        const found = await axe(page, 'printable questionnaire', { bestPractice: true });
        expect([...found.blocking, ...found.other]).toEqual([]);

        await page.emulateMedia({ media: 'print' });
        const text = await page.locator('.app-paper').evaluate((paper) => {
          const smallest: { text: string; px: number }[] = [];
          const tinted: string[] = [];
          for (const el of paper.querySelectorAll<HTMLElement>('*')) {
            if (!el.offsetParent && getComputedStyle(el).position !== 'fixed') continue;
            const style = getComputedStyle(el);
            const own = [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent?.trim());
            if (own)
              smallest.push({
                text: (el.textContent ?? '').trim().slice(0, 40),
                px: Number.parseFloat(style.fontSize),
              });
            const bg = style.backgroundColor;
            if (own && bg !== 'rgba(0, 0, 0, 0)' && bg !== 'rgb(255, 255, 255)') tinted.push(`${el.className}: ${bg}`);
          }
          return { smallest: smallest.sort((a, b) => a.px - b.px).slice(0, 3), tinted };
        });
        expect(text.smallest[0]?.px, JSON.stringify(text.smallest)).toBeGreaterThanOrEqual(TWELVE_POINT_PX);
        expect(text.tinted).toEqual([]);
        // Where and by when to return it, before the first question.
        const order = await page.evaluate(() => {
          const returning = document.getElementById('returning')?.getBoundingClientRect().top ?? Number.NaN;
          const first = document.querySelector('.app-paper__question')?.getBoundingClientRect().top ?? Number.NaN;
          return { returning, first };
        });
        expect(order.returning).toBeLessThan(order.first);
        await screenshot(page, 'resident-print-a4');
        const pdf = await page.pdf({ format: 'A4', printBackground: true, preferCSSPageSize: true });
        const pages = pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g)?.length ?? 0;
        console.info(`the questionnaire at 12 pt prints on ${pages} A4 pages`);
      } finally {
        await context.close();
      }
    },
    JOURNEY_TIMEOUT,
  );
});
