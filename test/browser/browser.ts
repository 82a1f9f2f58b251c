// Shared set-up for the browser tests: Debian's Chromium driven by
// playwright-core, the app listening on a free port on a fresh database, and
// the checks every page of a journey gets (axe-core, no sideways scrolling).
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type Browser, type BrowserContext, type BrowserContextOptions, chromium, type Page } from 'playwright-core';
import { makeApp, type TestApp } from '../helpers.ts';

const root = join(import.meta.dirname, '../..');

/** Debian's Chromium; CI installs it with `apt-get install chromium`. Never `npx playwright install`. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Where screenshots go (gitignored). */
export const ARTIFACTS_DIR = join(root, 'test-artifacts');

/**
 * A whole journey is one test of a dozen pages, each checked with axe: about
 * 10 s alone, but several times that on a busy 2-core machine running every
 * test file at once.
 */
export const JOURNEY_TIMEOUT = 120_000;

export const PHONE = { width: 360, height: 740 };
export const DESKTOP = { width: 1280, height: 900 };

/** Launches Chromium once per test file; fails (never skips) when it is not installed. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM_PATH}, so the browser tests cannot run. ` +
        'Install it with `apt-get install chromium` (or set CHROMIUM_PATH); do not use `npx playwright install`.',
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

/**
 * A browser context whose waits give up after 10 s, well inside the test's
 * timeout, so a page that never arrives fails with Playwright's own message
 * (what it waited for) instead of a bare test timeout.
 */
export async function openContext(browser: Browser, options: BrowserContextOptions): Promise<BrowserContext> {
  const context = await browser.newContext(options);
  context.setDefaultTimeout(10_000);
  return context;
}

export interface Server extends TestApp {
  /** http://127.0.0.1:PORT */
  origin: string;
}

/**
 * Builds the app on a fresh SQLite database and listens on a free local port; `seed` adds what the
 * tests need first (accounts, responses).
 */
export async function startServer(
  options: Parameters<typeof makeApp>[0] = {},
  seed: (test: TestApp) => Promise<void> = async () => {},
): Promise<Server> {
  assertCssBuilt();
  const test = await makeApp(options);
  await seed(test);
  await test.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = test.app.server.address() as AddressInfo;
  return { ...test, origin: `http://127.0.0.1:${port}` };
}

/** Layout checks are meaningless against missing or stale CSS: say so instead of failing obscurely. */
function assertCssBuilt() {
  const css = join(root, 'public/build/app.css');
  const scss = join(root, 'public/scss/app.scss');
  if (!existsSync(css) || statSync(css).mtimeMs < statSync(scss).mtimeMs) {
    throw new Error('public/build/app.css is missing or older than public/scss/app.scss: run `npm run -s build:css`.');
  }
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

interface AxeResult {
  id: string;
  impact: string | null;
  help: string;
  helpUrl: string;
  nodes: { target: unknown[]; failureSummary?: string }[];
}

/**
 * Runs axe-core on the page (JavaScript must be enabled in its context) and
 * returns its violations as readable text: `blocking` (impact serious or
 * critical) and `other` (moderate or minor). `bestPractice` adds axe's
 * best-practice rules to the WCAG ones: "region" (all content inside
 * landmarks), heading order, one main landmark and the like.
 */
export async function axe(
  page: Page,
  label: string,
  { bestPractice = false }: { bestPractice?: boolean } = {},
): Promise<{ blocking: string[]; other: string[] }> {
  // Evaluated through the DevTools protocol: an injected <script> tag would be
  // (rightly) refused by the page's Content-Security-Policy.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(
    async (tags) => {
      const run = (
        window as unknown as { axe: { run: (ctx: unknown, opts: unknown) => Promise<{ violations: AxeResult[] }> } }
      ).axe.run;
      const results = await run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
      return results.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        helpUrl: v.helpUrl,
        nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })),
      }));
    },
    bestPractice ? [...AXE_TAGS, 'best-practice'] : AXE_TAGS,
  );
  const describe = (v: AxeResult) =>
    `${label} (${page.url()}): [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})\n` +
    v.nodes
      .map((n) => `    at ${JSON.stringify(n.target)}: ${(n.failureSummary ?? '').replace(/\n/g, ' ')}`)
      .join('\n');
  const isBlocking = (v: AxeResult) => v.impact === 'serious' || v.impact === 'critical';
  return {
    blocking: violations.filter(isBlocking).map(describe),
    other: violations.filter((v) => !isBlocking(v)).map(describe),
  };
}

/** How far the page is wider than the viewport (0 when there is no sideways scrolling). */
export async function sidewaysOverflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

/** A full-page screenshot in test-artifacts/, for a person to look at. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Check your answers as [question, answer] pairs; an answer with several values is a list. */
export async function summaryRows(page: Page): Promise<[string, string | string[]][]> {
  return page.locator('.govuk-summary-list__row').evaluateAll((rows) =>
    rows.map((row): [string, string | string[]] => {
      const text = (el: Element | null) => (el?.textContent ?? '').trim();
      const value = row.querySelector('.govuk-summary-list__value');
      const items = [...(value?.querySelectorAll('li') ?? [])];
      return [text(row.querySelector('.govuk-summary-list__key')), items.length ? items.map(text) : text(value)];
    }),
  );
}

/** Words of table cells drawn on more than one line: a word broken inside. */
export function splitWords(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const split: string[] = [];
    for (const cell of document.querySelectorAll('main table th, main table td, main table caption')) {
      const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const text = node.textContent ?? '';
        // A line may end after a hyphen ("Alcohol-" / "related"), as in print; never inside a part.
        for (const match of text.matchAll(/[^\s-]+-?/g)) {
          const range = document.createRange();
          range.setStart(node, match.index);
          range.setEnd(node, match.index + match[0].length);
          const lines = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
          if (lines.size > 1) split.push(`${match[0]} (in "${(cell.textContent ?? '').trim().slice(0, 40)}")`);
        }
      }
    }
    return split;
  });
}

/** Elements of the main content reaching past the screen's right edge outside a table's own scrolling region. */
export function outsideScrollRegions(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll('main *')]
      .filter(
        (el) =>
          el.getBoundingClientRect().right > document.documentElement.clientWidth + 1 &&
          !el.closest('.app-table-scroll'),
      )
      .map((el) => `${el.tagName.toLowerCase()}#${el.id}.${[...el.classList].join('.')}`)
      .slice(0, 5),
  );
}

/** The admin account the analysts' browser tests sign in with (see signIn). */
export const ADMIN = { email: 'admin@council.example', password: 'a long enough passphrase' };

/** Signs in to /admin as ADMIN, as a person would: the form, then the dashboard. */
export async function signIn(page: Page, origin: string) {
  await page.goto(`${origin}/admin/login`);
  await page.fill('#email', ADMIN.email);
  await page.fill('#password', ADMIN.password);
  await Promise.all([page.waitForURL(`${origin}/admin`), page.click('button[type=submit]')]);
}

/**
 * What is wrong with an analysts' page as shown, in words (none: an empty list): serious axe
 * findings, words split inside a table, anything past the screen's edge outside a table's own
 * scrolling region, and sideways scrolling.
 */
export async function resultsPageProblems(page: Page, label: string): Promise<string[]> {
  const overflow = await sidewaysOverflow(page);
  return [
    ...(await axe(page, label)).blocking,
    ...(await splitWords(page)).map((word) => `${label}: a word split inside a table: ${word}`),
    ...(await outsideScrollRegions(page)).map((el) => `${label}: past the screen's edge: ${el}`),
    ...(overflow > 0 ? [`${label}: the page scrolls sideways by ${overflow} px`] : []),
  ];
}

/** The narrowest screen every page must fit. */
export const SMALLEST = { width: 320, height: 640 };

/** A page read without JavaScript, and a JavaScript tab to run axe in (see noJsPageCheck). */
export interface CheckTabs {
  noJs: BrowserContext;
  withJs: BrowserContext;
  page: Page;
  axePage: Page;
}

/**
 * A check of the no-JavaScript page as it stands, its problems pushed onto
 * `problems`: axe with its best practices on the same address in the
 * JavaScript tab, given the same cookies (a GET changes nothing), no sideways
 * scrolling at the viewport's size and at 320px, and a screenshot `name-label`.
 */
export function noJsPageCheck(
  tabs: CheckTabs,
  viewport: { width: number; height: number },
  name: string,
  problems: string[],
): (label: string) => Promise<void> {
  return async (label) => {
    await tabs.withJs.addCookies(await tabs.noJs.cookies());
    await tabs.axePage.goto(tabs.page.url());
    const found = await axe(tabs.axePage, label, { bestPractice: true });
    problems.push(...found.blocking, ...found.other);
    for (const at of [viewport, SMALLEST]) {
      await tabs.page.setViewportSize(at);
      const over = await sidewaysOverflow(tabs.page);
      if (over > 0) problems.push(`${label}: ${over}px too wide at ${at.width}px`);
    }
    await tabs.page.setViewportSize(viewport);
    await screenshot(tabs.page, `${name}-${label.replace(/\W+/g, '-')}`);
  };
}
