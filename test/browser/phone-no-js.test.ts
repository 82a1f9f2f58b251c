// The whole survey on a small phone with JavaScript switched off: every page
// must work as plain HTML forms, fit 360 (and 320) CSS pixels without sideways
// scrolling, and pass axe-core. axe needs JavaScript, so each page is checked
// again in a second, JavaScript-enabled tab that shares the respondent's cookie.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  axe,
  JOURNEY_TIMEOUT,
  launchChromium,
  openContext,
  PHONE,
  type Server,
  screenshot,
  sidewaysOverflow,
  startServer,
  summaryRows,
} from './browser.ts';

const SMALLEST = { width: 320, height: 640 };

let browser: Browser;
let server: Server;

beforeAll(async () => {
  [browser, server] = await Promise.all([launchChromium(), startServer()]);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('the survey on a 360px phone without JavaScript', () => {
  let noJs: BrowserContext;
  let axeContext: BrowserContext;
  let page: Page;
  let axePage: Page;
  const blocking: string[] = [];
  const minor: string[] = [];
  const overflow: string[] = [];

  const url = (path: string) => `${server.origin}/s/csp-2019${path ? `/${path}` : ''}`;

  beforeAll(async () => {
    noJs = await openContext(browser, { javaScriptEnabled: false, viewport: PHONE });
    axeContext = await openContext(browser, { viewport: PHONE });
    page = await noJs.newPage();
    axePage = await axeContext.newPage();
  });

  afterAll(async () => {
    await noJs?.close();
    await axeContext?.close();
  });

  /** No sideways scrolling at 360px and at 320px (WCAG 1.4.10 reflow). */
  async function checkLayout(label: string, shot?: string) {
    const at360 = await sidewaysOverflow(page);
    if (at360 > 0) overflow.push(`${label}: ${at360}px too wide at 360px`);
    if (shot) await screenshot(page, `phone-360-${shot}`);
    await page.setViewportSize(SMALLEST);
    const at320 = await sidewaysOverflow(page);
    if (at320 > 0) overflow.push(`${label}: ${at320}px too wide at 320px`);
    if (shot) await screenshot(page, `phone-320-${shot}`);
    await page.setViewportSize(PHONE);
  }

  /** axe on the same address in the JavaScript-enabled tab (a GET never changes the draft). */
  async function checkAccessibility(label: string) {
    await axePage.goto(page.url());
    const found = await axe(axePage, label);
    blocking.push(...found.blocking);
    minor.push(...found.other);
  }

  async function checkPage(label: string, shot?: string) {
    await checkLayout(label, shot);
    await checkAccessibility(label);
  }

  /** Presses Continue and waits for the page it leads to. */
  async function continueTo(path: string) {
    await Promise.all([
      page.waitForURL(url(path)),
      page.getByRole('button', { name: 'Continue', exact: true }).click(),
    ]);
  }

  const radioLabels = (p: Page) => p.locator('.govuk-radios__label').allTextContents();

  test(
    'a respondent completes the survey, and exactly their answers are stored',
    async () => {
      const started = Date.now();

      // Start page: checked before the draft cookie exists, so axe sees what a newcomer sees.
      await page.goto(url(''));
      expect((await page.locator('h1').textContent())?.trim()).toBe(
        'Community Safety Priorities – Public Opinion Survey 2019',
      );
      await checkPage('start page', 'start');
      await Promise.all([page.waitForURL(url('area')), page.getByRole('button', { name: 'Start now' }).click()]);
      // From here on the JavaScript tab is the same respondent.
      await axeContext.addCookies(await noJs.cookies());

      // Q1: single choice with a hint.
      expect(await page.locator('h1').textContent()).toContain('Which Local Authority area do you live in?');
      await checkPage('area (radios with hint)', 'area');
      await page.getByLabel('Gravesham').check();
      await continueTo('concern-1');

      // Q2: the first concern.
      await checkPage('concern-1 (radios)');
      await page.getByLabel('Violence').check();
      await continueTo('concern-1-violence');

      // Q3: Top 3 checkboxes and the victim question on one page.
      expect(await page.locator('h1').textContent()).toContain(
        'You have stated that Violence is your most important issue.',
      );
      await checkPage('concern-1-violence (checkboxes and yes/no)', 'follow-up');
      // Nothing enhances the page without JavaScript: no live tick counter.
      expect(await page.locator('.app-choice-count').count()).toBe(0);

      // Four ticks: the server says no, keeps what was ticked, and shows the error summary.
      for (const label of ['Gun/knife crime', 'Youth violence', 'Domestic abuse', 'Hate crime']) {
        await page.getByLabel(label, { exact: true }).check();
      }
      await page.getByLabel('Yes', { exact: true }).check();
      await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' && r.status() === 422),
        page.getByRole('button', { name: 'Continue', exact: true }).click(),
      ]);
      await page.locator('.govuk-error-summary').waitFor();
      expect(await page.title()).toMatch(/^Error: /);
      expect(await page.locator('.govuk-error-summary__title').textContent()).toBe('There is a problem');
      expect(await page.locator('.govuk-error-summary__list a').getAttribute('href')).toBe('#concern_1_top3');
      expect(await page.locator('.govuk-error-message').textContent()).toContain('Select up to 3 issues');
      expect(await page.locator('.govuk-checkboxes__input:checked').count()).toBe(4);
      expect(await page.getByLabel('Yes', { exact: true }).isChecked()).toBe(true);
      await checkLayout('concern-1-violence with an error', 'follow-up-error');
      // The same error in the JavaScript tab, for axe.
      await axePage.goto(page.url());
      for (const label of ['Gun/knife crime', 'Youth violence', 'Domestic abuse', 'Hate crime']) {
        await axePage.getByLabel(label, { exact: true }).check();
      }
      await Promise.all([
        axePage.waitForResponse((r) => r.request().method() === 'POST' && r.status() === 422),
        axePage.getByRole('button', { name: 'Continue', exact: true }).click(),
      ]);
      await axePage.locator('.govuk-error-summary').waitFor();
      const found = await axe(axePage, 'concern-1-violence with an error');
      blocking.push(...found.blocking);
      minor.push(...found.other);

      await page.getByLabel('Hate crime', { exact: true }).uncheck();
      await continueTo('concern-1-violence-reported');

      // The follow-up of a Yes.
      expect(await page.locator('h1').textContent()).toContain('Did you report this to the Police?');
      await checkPage('concern-1-violence-reported (yes/no)');
      await page.getByLabel('No', { exact: true }).check();
      await continueTo('concern-2');

      // Q4: the category already chosen is not offered again.
      expect(await radioLabels(page)).toEqual([
        'Property crime',
        'Town Centre safety',
        'Anti-social behaviour',
        'Substance misuse',
      ]);
      await checkPage('concern-2');
      await page.getByLabel('Property crime').check();
      await continueTo('concern-2-property');

      expect(await page.locator('h1').textContent()).toContain(
        'You have stated that Property Crime is your second most important issue.',
      );
      await checkPage('concern-2-property');
      await page.getByLabel('Shoplifting', { exact: true }).check();
      await page.getByLabel('Residential burglary', { exact: true }).check();
      await page.getByLabel('No', { exact: true }).check();
      await continueTo('concern-3');

      // Q5 left blank: straight on to About you.
      expect(await radioLabels(page)).toEqual(['Town Centre safety', 'Anti-social behaviour', 'Substance misuse']);
      await checkLayout('concern-3');
      await continueTo('about-you');

      // Q6: four radio groups on one page.
      expect(await page.locator('h1').textContent()).toBe('About you');
      await checkPage('about-you (several radio groups)', 'about-you');
      await page.getByRole('group', { name: 'Are you?' }).getByLabel('Female').check();
      await page.getByLabel('35-44').check();
      await page.getByLabel('White British').check();
      await page.getByRole('group', { name: 'Are you registered disabled?' }).getByLabel('No', { exact: true }).check();
      await continueTo('postcode');

      // Q7: the postcode, of which only the sector is kept.
      await checkPage('postcode (text input)', 'postcode');
      await page.getByLabel('Postcode', { exact: true }).fill('DA12 1AU');
      await continueTo('check-answers');

      // Check your answers: every question on the route, "Not answered" where skipped.
      await checkPage('check-answers', 'check-answers');
      const rows = await summaryRows(page);
      expect(rows).toEqual([
        ['Which Local Authority area do you live in?', 'Gravesham'],
        [
          'From the list below please select the single MOST important issue that concerns your local area?',
          'Violence',
        ],
        ['Top 3 Violence issues', ['Youth violence', 'Domestic abuse', 'Gun/knife crime']],
        ['Have you ever been a victim of violent crime?', 'Yes'],
        ['Did you report this to the Police?', 'No'],
        [
          'From the list below please select the SECOND most important issue that concerns your local area?',
          'Property crime',
        ],
        ['Top 3 Property Crime issues', ['Residential burglary', 'Shoplifting']],
        ['Have you ever been a victim of property crime?', 'No'],
        [
          'From the list below please select the THIRD most important issue that concerns your local area?',
          'Not answered',
        ],
        ['Are you?', 'Female'],
        ['How old are you?', '35-44'],
        ['Which of the following best describes your ethnic background?', 'White British'],
        ['Are you registered disabled?', 'No'],
        ['Postcode', 'DA12 1'],
      ]);
      await Promise.all([
        page.waitForURL(url('thank-you')),
        page.getByRole('button', { name: 'Send answers' }).click(),
      ]);

      // Thank you.
      expect(await page.locator('h1').textContent()).toBe('Thank you');
      await checkPage('thank-you', 'thank-you');

      // Stored: one complete response holding exactly the route's answers, the postcode cut to its sector.
      const responses = await server.db.selectFrom('responses').selectAll().execute();
      expect(responses).toHaveLength(1);
      const response = responses[0]!;
      expect(response).toMatchObject({ survey: 'csp-2019', status: 'complete', channel: 'web' });
      expect(response.submitted_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:00Z$/);
      expect(JSON.parse(response.answers)).toEqual({
        area: { area: 'gravesham' },
        'concern-1': { concern_1: 'violence' },
        'concern-1-violence': {
          concern_1_top3: ['youth_violence', 'domestic_abuse', 'gun_knife_crime'],
          concern_1_victim: 'yes',
        },
        'concern-1-violence-reported': { concern_1_reported: 'no' },
        'concern-2': { concern_2: 'property' },
        'concern-2-property': { concern_2_top3: ['residential_burglary', 'shoplifting'], concern_2_victim: 'no' },
        'concern-3': {},
        'about-you': { gender: 'female', age: '35_44', ethnicity: 'white_british', disability: 'no' },
        postcode: { postcode: 'DA12 1' },
      });
      const values = await server.db
        .selectFrom('response_values')
        .select(['question_id', 'value'])
        .where('response_id', '=', response.id)
        .execute();
      expect(values.map((v) => `${v.question_id}=${v.value}`).sort()).toEqual(
        [
          'age=35_44',
          'area=gravesham',
          'concern_1=violence',
          'concern_1_reported=no',
          'concern_1_top3=domestic_abuse',
          'concern_1_top3=gun_knife_crime',
          'concern_1_top3=youth_violence',
          'concern_1_victim=yes',
          'concern_2=property',
          'concern_2_top3=residential_burglary',
          'concern_2_top3=shoplifting',
          'concern_2_victim=no',
          'disability=no',
          'ethnicity=white_british',
          'gender=female',
          'postcode=DA12 1',
        ].sort(),
      );

      if (minor.length) console.info(`axe, moderate or minor (not failing):\n${minor.join('\n')}`);
      expect(overflow, 'pages that scroll sideways on a phone').toEqual([]);
      expect(blocking, `axe found serious or critical violations:\n${blocking.join('\n')}`).toEqual([]);
      console.info(`no-JS phone journey: ${Date.now() - started} ms`);
    },
    JOURNEY_TIMEOUT,
  );
});
