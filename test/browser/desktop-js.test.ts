// The survey at desktop size with JavaScript on, along another branch than the
// phone test: the live tick counter, the error summary taking focus, the Back
// link, a Change link from check your answers, and axe-core on every page.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  axe,
  DESKTOP,
  JOURNEY_TIMEOUT,
  launchChromium,
  openContext,
  type Server,
  screenshot,
  startServer,
  summaryRows,
} from './browser.ts';

let browser: Browser;
let server: Server;

beforeAll(async () => {
  [browser, server] = await Promise.all([launchChromium(), startServer()]);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('the survey on a desktop browser with JavaScript', () => {
  let context: BrowserContext;
  let page: Page;
  const blocking: string[] = [];
  const minor: string[] = [];

  const path = (rest: string) => `/s/csp-2019${rest ? `/${rest}` : ''}`;
  const url = (rest: string) => `${server.origin}${path(rest)}`;

  beforeAll(async () => {
    context = await openContext(browser, { viewport: DESKTOP });
    page = await context.newPage();
  });

  afterAll(async () => {
    await context?.close();
  });

  async function checkAccessibility(label: string) {
    const found = await axe(page, label, { bestPractice: true });
    blocking.push(...found.blocking);
    minor.push(...found.other);
  }

  /** Clicks a button or link and waits for the page at `rest` (any query string) to load. */
  async function goTo(rest: string, click: () => Promise<void>) {
    await Promise.all([page.waitForURL((u) => u.pathname === path(rest)), click()]);
  }

  const continueTo = (rest: string) =>
    goTo(rest, () => page.getByRole('button', { name: 'Continue', exact: true }).click());

  /** Presses Continue expecting the same page back with errors (422); waits for our script to run. */
  async function continueExpectingErrors() {
    await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.status() === 422),
      page.getByRole('button', { name: 'Continue', exact: true }).click(),
    ]);
    await page.locator('.govuk-error-summary').waitFor();
    await page.waitForLoadState('load');
  }

  const focused = () =>
    page.evaluate(() => {
      const el = document.activeElement;
      return el ? `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}.${[...el.classList].join('.')}` : '';
    });

  const counter = () => page.locator('.app-choice-count');
  const radioLabels = () => page.locator('.govuk-radios__label').allTextContents();
  const heading = async () => (await page.locator('h1').textContent())?.trim();

  test(
    'a respondent from a Facebook link completes the survey, with a mistake, Back and Change',
    async () => {
      const started = Date.now();

      await page.goto(`${url('')}?src=facebook`);
      await checkAccessibility('start page');
      await goTo('area', () => page.getByRole('button', { name: 'Start now' }).click());

      await checkAccessibility('area');
      await page.getByLabel('Dartford').check();
      await continueTo('concern-1');

      // Coming back to the start page offers to carry on; the button-like link answers the space key.
      await page.goto(url(''));
      expect(await page.locator('.govuk-inset-text').textContent()).toContain('You have already started this survey');
      await checkAccessibility('start page, resuming');
      await page.getByRole('button', { name: 'Continue where you left off' }).focus();
      await goTo('concern-1', () => page.keyboard.press('Space'));

      await checkAccessibility('concern-1');
      await page.getByLabel('Anti-social behaviour').check();
      await continueTo('concern-1-asb');

      // The Top 3 page under its short heading: a live count of the ticks, warning at the fourth.
      expect(await heading()).toBe('Top 3 Anti-Social Behaviour (ASB) issues');
      expect(await page.locator('.app-lead').first().textContent()).toContain(
        'You have stated that Anti-Social Behaviour (ASB) is your most important issue.',
      );
      expect(await counter().getAttribute('aria-live')).toBe('polite');
      expect(await counter().textContent()).toBe('You have selected 0 of up to 3.');
      await checkAccessibility('concern-1-asb');
      for (const label of ['Litter and dog fouling', 'Fly-tipping', 'Nuisance vehicles/bikes']) {
        await page.getByLabel(label, { exact: true }).check();
      }
      expect(await counter().textContent()).toBe('You have selected 3 of up to 3.');
      await page.getByLabel('Parking/irresponsible driving', { exact: true }).check();
      expect(await counter().textContent()).toBe('You have selected 4. Select up to 3: untick 1.');
      expect(await counter().getAttribute('class')).toContain('govuk-error-message');
      await page.getByLabel('No', { exact: true }).check();

      // Sending four anyway: the error summary, focused, and "Error: " in the title.
      await continueExpectingErrors();
      expect(page.url()).toBe(url('concern-1-asb'));
      expect(await page.title()).toMatch(/^Error: Top 3 Anti-Social Behaviour \(ASB\) issues – /);
      expect(await page.locator('.govuk-error-summary__title').textContent()).toBe('There is a problem');
      expect(await focused()).toContain('govuk-error-summary');
      expect(await page.locator('.govuk-checkboxes__input:checked').count()).toBe(4);
      expect(await page.getByLabel('No', { exact: true }).isChecked()).toBe(true);
      expect(await counter().textContent()).toBe('You have selected 4. Select up to 3: untick 1.');
      await checkAccessibility('concern-1-asb with an error');
      await screenshot(page, 'desktop-follow-up-error');
      // The summary's link goes to the first box, with the question and its error message in view.
      await page.getByRole('link', { name: 'Select up to 3 issues' }).click();
      expect(await focused()).toBe('input#concern_1_top3.govuk-checkboxes__input');
      const legendTop = await page
        .locator('legend')
        .first()
        .evaluate((el) => el.getBoundingClientRect().top);
      expect(legendTop).toBeGreaterThanOrEqual(0);
      expect(legendTop).toBeLessThan(DESKTOP.height / 2);

      await page.getByLabel('Parking/irresponsible driving', { exact: true }).uncheck();
      expect(await counter().textContent()).toBe('You have selected 3 of up to 3.');
      await continueTo('concern-2');

      // No to the victim question: no "Did you report" page. The first concern is not offered again.
      expect(await radioLabels()).toEqual(['Violence', 'Property crime', 'Town Centre safety', 'Substance misuse']);
      await checkAccessibility('concern-2');

      // Back, once: the answers are still there.
      await goTo('concern-1-asb', () => page.getByRole('link', { name: 'Back' }).click());
      expect(await page.locator('.govuk-checkboxes__input:checked').count()).toBe(3);
      expect(await page.getByLabel('No', { exact: true }).isChecked()).toBe(true);
      expect(await counter().textContent()).toBe('You have selected 3 of up to 3.');
      await continueTo('concern-2');

      // The second concern left blank: on to the third, which offers all but the first.
      await continueTo('concern-3');
      expect(await radioLabels()).toEqual(['Violence', 'Property crime', 'Town Centre safety', 'Substance misuse']);
      await checkAccessibility('concern-3');
      await page.getByLabel('Substance misuse').check();
      await continueTo('concern-3-substance');

      expect(await heading()).toBe('Top 3 Substance Misuse issues');
      expect(await page.locator('.app-lead').first().textContent()).toContain(
        'You have stated that Substance Misuse is your third most important issue.',
      );
      await checkAccessibility('concern-3-substance');
      await page.getByLabel('Drug dealing', { exact: true }).check();
      await page.getByLabel('Yes', { exact: true }).check();
      await continueTo('concern-3-substance-reported');

      await checkAccessibility('concern-3-substance-reported');
      await page.getByLabel('Yes', { exact: true }).check();
      await continueTo('about-you');

      // About you: only the age given.
      await checkAccessibility('about-you');
      await page.getByLabel('25-34').check();
      await continueTo('postcode');

      // A postcode that is not one: the error, then "Prefer not to say" instead.
      await checkAccessibility('postcode');
      await page.getByLabel('Postcode', { exact: true }).fill('not a postcode');
      await continueExpectingErrors();
      expect(await page.title()).toMatch(/^Error: Postcode/);
      expect(await focused()).toContain('govuk-error-summary');
      expect(await page.locator('.govuk-error-message').textContent()).toContain(
        'Enter a real postcode, like DA12 1AU',
      );
      expect(await page.getByLabel('Postcode', { exact: true }).inputValue()).toBe('not a postcode');
      await checkAccessibility('postcode with an error');
      await page.getByRole('link', { name: 'Enter a real postcode, like DA12 1AU' }).click();
      expect(await focused()).toBe('input#postcode.govuk-input.govuk-input--width-10.govuk-input--error');
      await page.getByLabel('Postcode', { exact: true }).fill('');
      await page.getByLabel('Prefer not to say').check();
      await continueTo('check-answers');

      // Check your answers, then Change the area from there.
      await checkAccessibility('check-answers');
      expect(await summaryRows(page)).toEqual([
        ['Local authority area', 'Dartford'],
        ['Most important issue', 'Anti-social behaviour'],
        [
          'Top 3 Anti-Social Behaviour (ASB) issues',
          ['Litter and dog fouling', 'Fly-tipping', 'Nuisance vehicles/bikes'],
        ],
        ['Victim of ASB', 'No'],
        ['Second most important issue', 'Not answered'],
        ['Third most important issue', 'Substance misuse'],
        ['Top 3 Substance Misuse issues', 'Drug dealing'],
        ['Victim of substance misuse crime', 'Yes'],
        ['Reported the substance misuse crime to the Police', 'Yes'],
        ['Gender', 'Not answered'],
        ['Age', '25-34'],
        ['Ethnic background', 'Not answered'],
        ['Registered disabled', 'Not answered'],
        ['Postcode', 'Prefer not to say'],
      ]);
      // Short keys: the key column wrapped the full questions to six lines; no key now takes more than four.
      const keyLines = await page.locator('.govuk-summary-list__key').evaluateAll((keys) =>
        keys.map((k) => {
          const style = getComputedStyle(k);
          const text =
            k.getBoundingClientRect().height -
            Number.parseFloat(style.paddingTop) -
            Number.parseFloat(style.paddingBottom);
          return Math.round(text / Number.parseFloat(style.lineHeight));
        }),
      );
      expect(Math.max(...keyLines)).toBeLessThanOrEqual(4);
      await goTo('area', () => page.getByRole('link', { name: 'Change Local authority area' }).click());
      expect(new URL(page.url()).search).toBe('?return=check-answers');
      expect(await page.getByRole('link', { name: 'Back' }).getAttribute('href')).toBe(path('check-answers'));
      expect(await page.getByLabel('Dartford').isChecked()).toBe(true);
      await checkAccessibility('area, changing an answer');
      await page.getByLabel('Gravesham').check();
      await continueTo('check-answers');
      expect((await summaryRows(page))[0]).toEqual(['Local authority area', 'Gravesham']);

      await goTo('thank-you', () => page.getByRole('button', { name: 'Send answers' }).click());
      expect(await heading()).toBe('Thank you');
      await checkAccessibility('thank-you');

      // The start page once the survey is done.
      await page.goto(url(''));
      expect(await page.getByRole('button', { name: 'Start a new response' }).count()).toBe(1);
      await checkAccessibility('start page, after completing');

      const responses = await server.db.selectFrom('responses').selectAll().execute();
      expect(responses).toHaveLength(1);
      const response = responses[0]!;
      expect(response).toMatchObject({ status: 'complete', channel: 'facebook' });
      const values = await server.db
        .selectFrom('response_values')
        .select(['question_id', 'value'])
        .where('response_id', '=', response.id)
        .execute();
      expect(values.map((v) => `${v.question_id}=${v.value}`).sort()).toEqual(
        [
          'area=gravesham',
          'concern_1=asb',
          'concern_1_top3=litter_dog_fouling',
          'concern_1_top3=fly_tipping',
          'concern_1_top3=nuisance_vehicles',
          'concern_1_victim=no',
          'concern_3=substance',
          'concern_3_top3=drug_dealing',
          'concern_3_victim=yes',
          'concern_3_reported=yes',
          'age=25_34',
          'postcode=prefer_not_to_say',
        ].sort(),
      );

      expect(blocking, `axe found serious or critical violations:\n${blocking.join('\n')}`).toEqual([]);
      expect(minor, `axe found moderate or minor violations:\n${minor.join('\n')}`).toEqual([]);
      console.info(`JS desktop journey: ${Date.now() - started} ms`);
    },
    JOURNEY_TIMEOUT,
  );
});
