// The whole survey on a small phone with JavaScript switched off: every page
// must work as plain HTML forms, fit 360 (and 320) CSS pixels without sideways
// scrolling, and pass axe-core with no finding at all (its best practices
// included: everything inside a landmark). axe needs JavaScript, so each page
// is checked again in a second, JavaScript-enabled tab that shares the
// respondent's cookie. Then a change from Check your answers that comes back
// to it, and an old tab after "Start again" in another.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  axe,
  JOURNEY_TIMEOUT,
  launchChromium,
  openContext,
  PHONE,
  type Server,
  SMALLEST,
  screenshot,
  sidewaysOverflow,
  startServer,
  summaryRows,
} from './browser.ts';

/** About you measured 3,130 px at 360 px before its ethnic backgrounds were grouped (now about 2,100). */
const ABOUT_YOU_MAX_HEIGHT = 2400;

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
    const found = await axe(axePage, label, { bestPractice: true });
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
  const h1 = async (p: Page = page) => (await p.locator('h1').textContent())?.trim();
  /** Where the first tick box of the page is, from the top of the first screen. */
  const firstBoxTop = () =>
    page
      .locator('.govuk-checkboxes__input')
      .first()
      .evaluate((el) => el.getBoundingClientRect().top);

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

      // Q1: single choice with a hint, under a caption that says where the respondent is.
      expect(await h1()).toBe('Which Local Authority area do you live in?');
      expect(await page.locator('.govuk-caption-l').textContent()).toBe('Where you live');
      await checkPage('area (radios with hint)', 'area');
      await page.getByLabel('Gravesham').check();
      await continueTo('concern-1');

      // Q2: the first concern.
      await checkPage('concern-1 (radios)');
      await page.getByLabel('Violence').check();
      await continueTo('concern-1-violence');

      // Q3: Top 3 checkboxes and the victim question on one page: a short heading,
      // the survey's own wording as its lead, and the first box on the first screen.
      expect(await h1()).toBe('Top 3 Violence issues');
      expect(await page.locator('.app-lead').first().textContent()).toContain(
        'You have stated that Violence is your most important issue.',
      );
      expect(await page.locator('.govuk-caption-l').textContent()).toBe('Your priorities');
      expect(await firstBoxTop()).toBeLessThan(PHONE.height);
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

      // The follow-up of a Yes, with what "this" is.
      expect(await h1()).toBe('Did you report this to the Police?');
      expect(await page.locator('.govuk-hint').textContent()).toBe('About the violent crime you were a victim of.');
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

      expect(await h1()).toBe('Top 3 Property Crime issues');
      await checkPage('concern-2-property');
      await page.getByLabel('Shoplifting', { exact: true }).check();
      await page.getByLabel('Residential burglary', { exact: true }).check();
      await page.getByLabel('No', { exact: true }).check();
      await continueTo('concern-3');

      // Q5 left blank: straight on to About you.
      expect(await radioLabels(page)).toEqual(['Town Centre safety', 'Anti-social behaviour', 'Substance misuse']);
      await checkLayout('concern-3');
      await continueTo('about-you');

      // Q6: four radio groups on one page, the ethnic backgrounds in five groups to open.
      expect(await h1()).toBe('About you');
      const aboutYouHeight = await page.evaluate(() => document.documentElement.scrollHeight);
      expect(aboutYouHeight).toBeLessThan(ABOUT_YOU_MAX_HEIGHT);
      console.info(`About you at 360 px: ${aboutYouHeight} px tall`);
      await checkPage('about-you (several radio groups)', 'about-you');
      await page.getByRole('group', { name: 'Gender' }).getByLabel('Female').check();
      await page.getByLabel('35-44').check();
      // A group's backgrounds show once it is opened: a two-step question that needs no JavaScript.
      expect(await page.getByLabel('White British').isVisible()).toBe(false);
      await page.locator('summary', { hasText: 'White' }).click();
      await page.getByLabel('White British').check();
      await page.getByRole('group', { name: 'Are you registered disabled?' }).getByLabel('No', { exact: true }).check();
      await continueTo('postcode');

      // Q7: the postcode, of which only the sector is kept.
      await checkPage('postcode (text input)', 'postcode');
      await page.getByLabel('Postcode', { exact: true }).fill('DA12 1AU');
      await continueTo('check-answers');

      // Check your answers: every question on the route by its short key, "Not answered" where skipped.
      await checkPage('check-answers', 'check-answers');
      expect(await page.title()).toBe(
        'Check your answers before sending them – Community Safety Priorities – Public Opinion Survey 2019',
      );
      expect(await page.locator('main h2').allTextContents()).toEqual([
        'Where you live',
        'Your first priority',
        'Your second priority',
        'Your third priority',
        'About you',
        'Now send your answers',
      ]);
      const rows = await summaryRows(page);
      expect(rows).toEqual([
        ['Local authority area', 'Gravesham'],
        ['Most important issue', 'Violence'],
        ['Top 3 Violence issues', ['Youth violence', 'Domestic abuse', 'Gun/knife crime']],
        ['Victim of violent crime', 'Yes'],
        ['Reported the violent crime to the Police', 'No'],
        ['Second most important issue', 'Property crime'],
        ['Top 3 Property Crime issues', ['Residential burglary', 'Shoplifting']],
        ['Victim of property crime', 'No'],
        ['Third most important issue', 'Not answered'],
        ['Gender', 'Female'],
        ['Age', '35-44'],
        ['Ethnic background', 'White British'],
        ['Registered disabled', 'No'],
        ['Postcode', 'DA12 1'],
      ]);
      await Promise.all([
        page.waitForURL(url('thank-you')),
        page.getByRole('button', { name: 'Send answers' }).click(),
      ]);

      // Thank you.
      expect(await h1()).toBe('Thank you');
      expect(await page.title()).toBe('Thank you – Community Safety Priorities – Public Opinion Survey 2019');
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

      expect(overflow, 'pages that scroll sideways on a phone').toEqual([]);
      expect(blocking, `axe found serious or critical violations:\n${blocking.join('\n')}`).toEqual([]);
      expect(minor, `axe found moderate or minor violations:\n${minor.join('\n')}`).toEqual([]);
      console.info(`no-JS phone journey: ${Date.now() - started} ms`);
    },
    JOURNEY_TIMEOUT,
  );
});

describe('changing an answer from Check your answers on a 360px phone without JavaScript', () => {
  let noJs: BrowserContext;
  let axeContext: BrowserContext;
  let page: Page;
  let axePage: Page;
  const found: string[] = [];

  const url = (path: string) => `${server.origin}/s/csp-2019${path ? `/${path}` : ''}`;
  const at = (path: string) => (u: URL) => u.pathname === `/s/csp-2019/${path}`;

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

  /** axe (best practices included) on the page as the respondent sees it, in the JavaScript tab. */
  async function checkAccessibility(label: string) {
    await axeContext.addCookies(await noJs.cookies());
    await axePage.goto(page.url());
    const result = await axe(axePage, label, { bestPractice: true });
    found.push(...result.blocking, ...result.other);
  }

  async function continueTo(path: string) {
    await Promise.all([page.waitForURL(at(path)), page.getByRole('button', { name: 'Continue', exact: true }).click()]);
  }

  test(
    'changes the first priority, answers only the new follow-up, lands back and is told what was removed',
    async () => {
      await page.goto(url(''));
      await Promise.all([page.waitForURL(url('area')), page.getByRole('button', { name: 'Start now' }).click()]);
      await page.getByLabel('Dartford').check();
      await continueTo('concern-1');
      await page.getByLabel('Anti-social behaviour').check();
      await continueTo('concern-1-asb');
      await page.getByLabel('Fly-tipping', { exact: true }).check();
      await page.getByLabel('Yes', { exact: true }).check();
      await continueTo('concern-1-asb-reported');
      await page.getByLabel('No', { exact: true }).check();
      await continueTo('concern-2');
      await page.getByLabel('Violence').check();
      await continueTo('concern-2-violence');
      await continueTo('concern-3');
      await continueTo('about-you');
      await page.getByLabel('55-64').check();
      await continueTo('postcode');
      await page.getByLabel('Postcode', { exact: true }).fill('DA1 1AA');
      await continueTo('check-answers');

      // Change the most important issue from Anti-social behaviour to Property crime.
      await Promise.all([
        page.waitForURL(at('concern-1')),
        page.getByRole('link', { name: 'Change Most important issue' }).click(),
      ]);
      await page.getByLabel('Property crime').check();
      await continueTo('concern-1-property');
      // The new question alone, its first box on the first screen; what went is told on Check your answers.
      const removed =
        'Your answers about Anti-social behaviour as your most important issue were removed because you changed your most important issue to Property crime.';
      expect(await page.locator('.app-removal').count()).toBe(0);
      expect(
        await page
          .locator('.govuk-checkboxes__input')
          .first()
          .evaluate((el) => el.getBoundingClientRect().top),
      ).toBeLessThan(PHONE.height);
      await screenshot(page, 'phone-360-change-follow-up');
      await checkAccessibility('the new follow-up, after a change');

      // The one new page, then straight back: no second concern, About you or postcode again.
      await page.getByLabel('Shoplifting', { exact: true }).check();
      await page.getByLabel('No', { exact: true }).check();
      await continueTo('check-answers');
      expect(await page.locator('.app-removal').allTextContents()).toEqual([removed]);
      const rows = await summaryRows(page);
      expect(rows.slice(1, 4)).toEqual([
        ['Most important issue', 'Property crime'],
        ['Top 3 Property Crime issues', 'Shoplifting'],
        ['Victim of property crime', 'No'],
      ]);
      expect(rows).toContainEqual(['Second most important issue', 'Violence']);
      expect(rows).toContainEqual(['Age', '55-64']);
      expect(rows).toContainEqual(['Postcode', 'DA1 1']);
      await screenshot(page, 'phone-360-change-back');
      await checkAccessibility('check answers, after a change');
      expect(found, found.join('\n')).toEqual([]);
    },
    JOURNEY_TIMEOUT,
  );

  test(
    'refuses a page sent from an old tab after Start again in another, with a message, storing nothing',
    async () => {
      // This respondent (from the test above) is at Check your answers; a first tab goes back to a page.
      await page.goto(url('concern-2'));
      const second = await noJs.newPage();
      await second.goto(url(''));
      await Promise.all([
        second.waitForURL(url('area')),
        second.getByRole('button', { name: 'Start again with no answers' }).click(),
      ]);
      const before = await server.db.selectFrom('responses').select(['id', 'answers']).orderBy('id').execute();

      await page.getByLabel('Substance misuse').check();
      const [refused] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST'),
        page.getByRole('button', { name: 'Continue', exact: true }).click(),
      ]);
      expect(refused.status()).toBe(403);
      expect(await page.locator('h1').textContent()).toContain('Your session was refreshed');
      expect(await page.locator('main').textContent()).toContain('Nothing on that page was saved');
      expect(await server.db.selectFrom('responses').select(['id', 'answers']).orderBy('id').execute()).toEqual(before);
      await second.close();
    },
    JOURNEY_TIMEOUT,
  );
});
