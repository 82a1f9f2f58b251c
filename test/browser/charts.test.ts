// Every kind of inline chart on a page styled as the analysts' pages are, at a
// phone's width and a desktop's: text never drawn under 12 px, nothing wider
// than the screen or cut off at the chart's edge, no two labels on top of each
// other. Each download is parsed by Chromium's own XML parser.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chartFigure, chartSvg } from '../../src/charts/index.ts';
import { SAMPLES } from '../unit/charts/samples.ts';
import { axe, DESKTOP, launchChromium, openContext, PHONE, screenshot } from './browser.ts';

const CSS = readFileSync(join(import.meta.dirname, '../../public/build/app.css'), 'utf8');

/** Each chart beside a stand-in for its table, as the analysis page pairs them, and once across the full width. */
function page(): string {
  const figures = Object.entries(SAMPLES).map(([name, chart]) => {
    const table = `<table class="govuk-table" id="table-${name}"><caption class="govuk-table__caption">${chart.title}</caption><tbody class="govuk-table__body"><tr class="govuk-table__row"><td class="govuk-table__cell">The figures</td></tr></tbody></table>`;
    return (
      `<section class="app-section"><h2 class="govuk-heading-m">${chart.title}</h2>` +
      `<div class="app-chart-pair">${chartFigure(chart, { id: `chart-${name}`, tableId: `table-${name}` })}${table}</div>` +
      `${chartFigure(chart, { id: `wide-${name}`, tableId: `table-${name}` })}</section>`
    );
  });
  return (
    '<!DOCTYPE html><html lang="en-GB" class="govuk-template"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1"><title>Charts</title>' +
    `<style>${CSS}</style></head><body class="govuk-template__body"><div class="govuk-width-container">` +
    `<main class="govuk-main-wrapper" id="main-content"><h1 class="govuk-heading-l">Charts</h1>${figures.join('')}</main></div></body></html>`
  );
}

interface Box {
  text: string;
  chart: string;
  size: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

describe('inline charts in Chromium', () => {
  for (const viewport of [{ width: 320, height: 640 }, PHONE, DESKTOP]) {
    it(`at ${viewport.width}×${viewport.height}: text at least 12 px, inside its chart and the screen, no labels overlapping`, async () => {
      const context = await openContext(browser, { viewport });
      try {
        const tab = await context.newPage();
        await tab.setContent(page());
        await screenshot(tab, `charts-${viewport.width}`);

        const { scrollWidth, innerWidth } = await tab.evaluate(() => ({
          scrollWidth: document.documentElement.scrollWidth,
          innerWidth: window.innerWidth,
        }));
        expect(scrollWidth).toBeLessThanOrEqual(innerWidth);

        const { texts, outside } = await tab.evaluate(() => {
          const texts: Box[] = [];
          const outside: string[] = [];
          // Chromium's checkVisibility() says true inside an SVG <g display="none">: ask each ancestor.
          const shown = (element: Element) => {
            for (let e: Element | null = element; e; e = e.parentElement)
              if (getComputedStyle(e).display === 'none') return false;
            return true;
          };
          for (const svg of document.querySelectorAll<SVGSVGElement>('figure > svg')) {
            const frame = svg.getBoundingClientRect();
            const chart = svg.parentElement?.id ?? '';
            for (const text of svg.querySelectorAll('text')) {
              // One of the two sets of dates is hidden by the stylesheet.
              if (!shown(text)) continue;
              const box = text.getBoundingClientRect();
              // The size as drawn: the computed size times any scaling on the way to the screen.
              const scale = text.getScreenCTM()?.a ?? 1;
              const size = Number.parseFloat(getComputedStyle(text).fontSize) * scale;
              texts.push({ text: text.textContent ?? '', chart, size, ...box.toJSON() });
            }
            for (const shape of svg.querySelectorAll('text, rect, line, circle, path')) {
              if (shape.closest('pattern') || !shown(shape)) continue;
              const box = shape.getBoundingClientRect();
              if (box.width === 0 && box.height === 0) continue;
              const out =
                box.left < frame.left - 1 ||
                box.right > frame.right + 1 ||
                box.top < frame.top - 1 ||
                box.bottom > frame.bottom + 1;
              if (out)
                outside.push(
                  `${chart}: <${shape.tagName}> "${shape.textContent}" ${box.left}–${box.right} of ${frame.left}–${frame.right}`,
                );
            }
          }
          return { texts, outside };
        });

        expect(texts.length).toBeGreaterThan(50);
        expect(texts.filter((t) => t.size < 12).map((t) => `${t.chart}: "${t.text}" at ${t.size}px`)).toEqual([]);
        expect(outside).toEqual([]);

        const overlapping: string[] = [];
        for (const [i, a] of texts.entries()) {
          for (const b of texts.slice(i + 1)) {
            if (a.chart !== b.chart) continue;
            const apart =
              a.right <= b.left + 0.5 || b.right <= a.left + 0.5 || a.bottom <= b.top + 0.5 || b.bottom <= a.top + 0.5;
            if (!apart) overlapping.push(`${a.chart}: "${a.text}" and "${b.text}"`);
          }
        }
        expect(overlapping).toEqual([]);

        // The closer set of dates shows only in a figure wide enough for it.
        const wideDates = await tab.evaluate(() =>
          ['#chart-days', '#wide-days'].map((id) => {
            const figure = document.querySelector(id) as Element;
            const dates = figure.querySelector('.chart-dates--wide') as SVGGElement;
            const shown = getComputedStyle(dates).display !== 'none';
            return { wide: figure.getBoundingClientRect().width >= 600, shown };
          }),
        );
        for (const { wide, shown } of wideDates) expect(shown).toBe(wide);
        if (viewport.width === DESKTOP.width) expect(wideDates.map((d) => d.shown)).toContain(true);

        const { blocking } = await axe(tab, `charts at ${viewport.width}`);
        expect(blocking).toEqual([]);
      } finally {
        await context.close();
      }
    }, 60_000);
  }
});

describe('downloads in Chromium', () => {
  it('every standalone SVG parses as XML and loads as an image of its stated size', async () => {
    const context = await openContext(browser, { viewport: DESKTOP });
    try {
      const tab = await context.newPage();
      await tab.setContent('<!DOCTYPE html><title>Downloads</title>');
      for (const [name, chart] of Object.entries(SAMPLES)) {
        const svg = chartSvg(chart, { mode: 'standalone' });
        const result = await tab.evaluate(async (source) => {
          const doc = new DOMParser().parseFromString(source, 'image/svg+xml');
          const error = doc.querySelector('parsererror')?.textContent ?? null;
          const image = new Image();
          image.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(source)}`;
          await image.decode();
          return { error, width: image.naturalWidth, height: image.naturalHeight, root: doc.documentElement.nodeName };
        }, svg);
        expect(result.error, name).toBeNull();
        expect(result.root, name).toBe('svg');
        expect(result.width, name).toBe(1200);
        expect(result.height, name).toBe(Number(/height="(\d+)"/.exec(svg)?.[1]));
      }
    } finally {
      await context.close();
    }
  });
});
