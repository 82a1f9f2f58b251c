// Reaching residents, over HTTP: the start page's social preview, the share
// page (links from PUBLIC_URL, QR codes, responses by channel), the printable
// questionnaire and its PDF, paper entry (same rules as online, nothing stored
// on a refusal, the staff account kept apart), and the statements every page
// links to from its footer.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import jsqr from 'jsqr';
import { PNG } from 'pngjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { connect } from '../../src/db/open.ts';
import { importResponses } from '../../src/exports/import.ts';
import { recordColumns } from '../../src/exports/record.ts';
import { loadStatements, type StatementsInput } from '../../src/statements.ts';
import { paperForm } from '../../src/survey/paper-form.ts';
import {
  AdminAgent,
  createAccount,
  cspSurvey,
  csrfTokenIn,
  makeAdminApp,
  type TestApp,
  testConfig,
} from '../helpers.ts';

// jsqr is CommonJS: its function is also its `default`, which is what its types describe.
const jsQR = jsqr.default;
const PUBLIC_URL = 'https://survey.council.example';
const PASSWORD = 'a long enough passphrase';
const SURVEY = '/admin/surveys/csp-2019';
const survey = cspSurvey();
const paper = paperForm(survey);

let t: TestApp;
let analyst: AdminAgent;
let analystId: string;
beforeEach(async () => {
  t = await makeAdminApp({ config: { publicUrl: PUBLIC_URL } });
  analystId = await createAccount(t.db, 'analyst@council.example', 'analyst', PASSWORD);
  analyst = await new AdminAgent(t.app).signIn('analyst@council.example', PASSWORD);
});
afterEach(async () => {
  await t.close();
});

const decode = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** Every tag of a kind in a page, as a map of its attributes. */
function tags(html: string, name: string): Record<string, string>[] {
  return [...html.matchAll(new RegExp(`<${name}\\b([^>]*)>`, 'g'))].map((m) =>
    Object.fromEntries([...(m[1] ?? '').matchAll(/([\w:-]+)="([^"]*)"/g)].map((a) => [a[1], decode(a[2] ?? '')])),
  );
}

/** The head's Open Graph properties and named meta tags. */
function headMeta(html: string) {
  const head = html.slice(0, html.indexOf('</head>'));
  const meta = tags(head, 'meta');
  const property = Object.fromEntries(meta.filter((m) => m.property).map((m) => [m.property, m.content]));
  const named = Object.fromEntries(meta.filter((m) => m.name).map((m) => [m.name, m.content]));
  const canonical = tags(head, 'link').find((l) => l.rel === 'canonical')?.href;
  return { property, named, canonical };
}

function footerLinks(html: string): string[] {
  const footer = html.slice(html.indexOf('<footer'));
  return tags(footer, 'a').map((a) => a.href as string);
}

/** The messages of the error summary. */
function summary(html: string): string[] {
  return [...html.matchAll(/<li><a href="#[^"]+">([^<]+)<\/a><\/li>/g)].map((m) => decode(m[1] as string));
}

const countRows = async (table: 'responses' | 'paper_entries' | 'response_values') =>
  Number(
    (
      await t.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

/** A response record CSV, for responses arriving by several channels. */
function recordsCsv(rows: Record<string, string>[]): string {
  const columns = recordColumns(survey);
  const line = (row: Record<string, string>) => columns.map((c) => row[c] ?? '').join(',');
  return [columns.join(','), ...rows.map(line)].join('\n');
}

describe('social previews', () => {
  it('the start page has Open Graph and Twitter card tags, with addresses from PUBLIC_URL', async () => {
    const res = await t.app.inject({ url: '/s/csp-2019', headers: { host: 'attacker.example' } });
    expect(res.statusCode).toBe(200);
    const { property, named, canonical } = headMeta(res.body);
    expect(property['og:title']).toBe(survey.title);
    expect(property['og:type']).toBe('website');
    expect(property['og:site_name']).toBe(survey.owner);
    expect(property['og:url']).toBe(`${PUBLIC_URL}/s/csp-2019`);
    expect(canonical).toBe(`${PUBLIC_URL}/s/csp-2019`);
    expect(property['og:description']).toMatch(/^Community Safety Partnerships \(CSPs\) bring together/);
    expect(property['og:description']?.length).toBeLessThanOrEqual(200);
    expect(named.description).toBe(property['og:description']);
    expect(property['og:image']).toBe(`${PUBLIC_URL}/public/images/share-csp-2019.png`);
    expect(property['og:image:width']).toBe('1200');
    expect(property['og:image:height']).toBe('630');
    expect(property['og:image:alt']).toContain(survey.title);
    expect(named['twitter:card']).toBe('summary_large_image');
    expect(named['twitter:title']).toBe(survey.title);
    expect(named['twitter:description']).toBe(property['og:description']);
    expect(named['twitter:image']).toBe(property['og:image']);
    expect(res.body).not.toContain('attacker.example');
  });

  it('the share image is a 1200 x 630 PNG served from public/', async () => {
    const res = await t.app.inject({ url: '/public/images/share-csp-2019.png' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/png');
    const png = PNG.sync.read(res.rawPayload);
    expect([png.width, png.height]).toEqual([1200, 630]);
    const fallback = PNG.sync.read((await t.app.inject({ url: '/public/images/share-default.png' })).rawPayload);
    expect([fallback.width, fallback.height]).toEqual([1200, 630]);
  });
});

describe('footer links on every kind of page', () => {
  it('links the privacy notice, accessibility statement and cookies page from respondent, public, error and admin pages', async () => {
    const pages: [string, string][] = [];
    const add = async (label: string, res: { statusCode: number; body: string }) => {
      expect(res.statusCode, label).toBeGreaterThanOrEqual(200);
      pages.push([label, res.body]);
    };
    await add('surveys list', await t.app.inject({ url: '/', headers: {} }).then(async (r) => r));
    await add('start', await t.app.inject({ url: '/s/csp-2019' }));
    await add('not found', await t.app.inject({ url: '/no-such-page' }));
    await add('unknown survey', await t.app.inject({ url: '/s/no-such-survey' }));
    for (const url of ['/privacy', '/accessibility', '/cookies', '/print/csp-2019'])
      await add(url, await t.app.inject({ url }));
    await add('admin login', await t.app.inject({ url: '/admin/login' }));
    for (const url of ['/admin', SURVEY, `${SURVEY}/share`, `${SURVEY}/paper`, '/admin/accounts', '/admin/nothing'])
      await add(url, await analyst.get(url));
    for (const [label, html] of pages) {
      if (!html.includes('<footer')) continue; // the surveys list redirects to the only open survey
      expect(footerLinks(html), label).toEqual(expect.arrayContaining(['/privacy', '/accessibility', '/cookies']));
    }
    expect(pages.filter(([, html]) => html.includes('<footer')).length).toBeGreaterThanOrEqual(13);
  });
});

describe('the statements', () => {
  it('the privacy notice says who the controller is, why, what is kept (postcode sector), how long, and the rights', async () => {
    const res = await t.app.inject({ url: '/privacy' });
    expect(res.statusCode).toBe(200);
    const html = decode(res.body);
    const defaults = loadStatements();
    for (const text of [
      ...defaults.privacy.controller,
      ...defaults.privacy.purpose,
      ...defaults.privacy.lawfulBasis,
      ...defaults.privacy.retention,
    ])
      expect(html).toContain(text);
    expect(html).toContain('<strong>DA12 1AU</strong> is kept as <strong>DA12 1</strong>');
    expect(html).toMatch(/We do not record your internet \(IP\) address/);
    expect(html).toContain('ask for a copy of the information held about you');
    expect(html).toContain('Information Commissioner');
    expect(html).toContain('26 November 2026');
    expect(html).toContain('https://www.dartford.gov.uk/');
    expect(html).toContain('deleted automatically once they have not been changed for 90 days');
  });

  it('the accessibility statement gives the WCAG 2.2 AA status, what was tested, and how to complain', async () => {
    const html = decode((await t.app.inject({ url: '/accessibility' })).body);
    expect(html).toContain('partially compliant with the <a class="govuk-link" href="https://www.w3.org/TR/WCAG22/">');
    expect(html).toContain('Web Content Accessibility Guidelines version 2.2</a> AA standard');
    expect(html).toContain('2.2.1 (Timing adjustable)');
    expect(html).toMatch(/tested against WCAG 2.2 levels A and AA/);
    expect(html).toContain('This website was last tested on 26 November 2026');
    expect(html).toContain('Equality Advisory and Support Service');
    expect(html).toContain(`at ${PUBLIC_URL}.`);
    expect(html).toContain('href="/print/csp-2019"');
  });

  it('the cookies page explains every cookie the service sets, and only essential ones', async () => {
    const html = (await t.app.inject({ url: '/cookies' })).body;
    // The cookies the service really sets: the respondent's on Start, the staff's at sign-in.
    const start = await t.app.inject({ url: '/s/csp-2019' });
    const token = /name="_csrf" value="([^"]+)"/.exec(start.body)?.[1];
    const preCookies = [start.headers['set-cookie'] ?? []].flat().map((c) => String(c).split(';')[0]);
    const started = await t.app.inject({
      method: 'POST',
      url: '/s/csp-2019/start',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: preCookies.join('; ') },
      payload: token ? `_csrf=${encodeURIComponent(token)}` : '',
    });
    const names = new Set(
      [started.headers['set-cookie'] ?? []].flat().map((c) => String(c).split('=')[0]?.trim() as string),
    );
    for (const name of analyst.cookies.keys()) names.add(name);
    for (const name of preCookies.map((c) => String(c).split('=')[0]?.trim() as string)) names.add(name);
    expect(names).toContain('soundings_draft');
    expect(names).toContain('soundings_admin');
    for (const name of names) expect(html, name).toContain(`<code>${name}</code>`);
    expect(html).toContain('90 days');
    expect(html).toMatch(/We do not use cookies to measure how you use the website \(analytics\)/);
  });

  it('are read from the file STATEMENTS_FILE names, and a broken file stops start-up listing its problems', async () => {
    const custom: StatementsInput = {
      organisation: 'Example Borough Council',
      contact: { text: ['Write to the survey team.'], email: 'surveys@example.gov.uk' },
      privacy: {
        controller: ['Example Borough Council is the controller.'],
        purpose: ['To plan services.'],
        lawfulBasis: ['Public task.'],
        sharing: ['Nobody else.'],
        retention: ['Two years after the survey closes.'],
        updated: '2026-01-15',
      },
      accessibility: {
        status: 'full',
        responseTime: 'We reply within 5 working days.',
        prepared: '2026-01-10',
        reviewed: '2026-01-12',
        tested: '2026-01-11',
      },
      paper: { returnTo: ['Post it to the Town Hall.'] },
    };
    const file = join(t.dir, 'statements.json');
    writeFileSync(file, JSON.stringify(custom));
    const db = await connect(join(t.dir, 'other.sqlite'));
    const app = await buildApp({
      db,
      config: testConfig({ statementsFile: file, publicUrl: PUBLIC_URL }),
      surveys: [survey],
    });
    try {
      const privacy = (await app.inject({ url: '/privacy' })).body;
      expect(privacy).toContain('Example Borough Council is the controller.');
      expect(privacy).toContain('Two years after the survey closes.');
      expect(privacy).toContain('mailto:surveys@example.gov.uk');
      expect(privacy).toContain('15 January 2026');
      const accessibility = (await app.inject({ url: '/accessibility' })).body;
      expect(accessibility).toContain('This website is fully compliant with');
      const print = (await app.inject({ url: '/print/csp-2019' })).body;
      expect(print).toContain('Post it to the Town Hall.');
    } finally {
      await app.close();
    }

    const broken = {
      ...custom,
      contact: { text: ['Ask us.'] },
      accessibility: { ...custom.accessibility, status: 'partial' },
    };
    writeFileSync(file, JSON.stringify(broken));
    const db2 = await connect(join(t.dir, 'third.sqlite'));
    await expect(
      buildApp({ db: db2, config: testConfig({ statementsFile: file }), surveys: [survey] }),
    ).rejects.toThrow(
      /contact: give at least one way to contact you[\s\S]*accessibility\.issues: list the non-accessible content/,
    );
    await db2.destroy();
    await expect(
      buildApp({ db: db2, config: testConfig({ statementsFile: join(t.dir, 'missing.json') }), surveys: [survey] }),
    ).rejects.toThrow(/cannot be read/);
  });
});

describe('the share page', () => {
  it('lists a link per channel built from PUBLIC_URL (never the Host header), with QR codes as SVG and PNG', async () => {
    const res = await analyst.keep(
      await t.app.inject({
        url: `${SURVEY}/share`,
        headers: { host: 'attacker.example', cookie: analyst.cookieHeader },
      }),
    );
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toContain('attacker.example');
    const links = tags(res.body, 'a')
      .filter((a) => a['data-copy-label'] !== undefined)
      .map((a) => a.href);
    expect(links).toEqual([
      `${PUBLIC_URL}/s/csp-2019`,
      ...survey.channels.map((c) => `${PUBLIC_URL}/s/csp-2019?src=${c.code}`),
    ]);
    // Short enough to type from a poster.
    expect(`${PUBLIC_URL}/s/csp-2019?src=newsletter`.replace(/^https:\/\//, '').length).toBeLessThan(50);
    expect(res.body).toContain('<script type="module" src="/public/js/copy-link.js"></script>');

    for (const code of ['web', ...survey.channels.map((c) => c.code)]) {
      const url = code === 'web' ? `${PUBLIC_URL}/s/csp-2019` : `${PUBLIC_URL}/s/csp-2019?src=${code}`;
      const svg = await analyst.get(`${SURVEY}/share/${code}.svg`);
      expect(svg.statusCode).toBe(200);
      expect(svg.headers['content-type']).toBe('image/svg+xml; charset=utf-8');
      expect(svg.body).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      const png = await analyst.get(`${SURVEY}/share/${code}.png`);
      expect(png.statusCode).toBe(200);
      expect(png.headers['content-type']).toBe('image/png');
      const image = PNG.sync.read(png.rawPayload);
      expect(image.width).toBe(1200);
      expect(jsQR(new Uint8ClampedArray(image.data), image.width, image.height)?.data).toBe(url);
    }
    expect((await analyst.get(`${SURVEY}/share/nothing.png`)).statusCode).toBe(404);
    expect((await analyst.get(`${SURVEY}/share/poster.gif`)).statusCode).toBe(404);
    expect((await analyst.get('/admin/surveys/other/share')).statusCode).toBe(404);
  });

  it('is for signed-in staff only', async () => {
    const res = await t.app.inject({ url: `${SURVEY}/share` });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toMatch(/^\/admin\/login/);
    expect((await t.app.inject({ url: `${SURVEY}/share/poster.png` })).statusCode).toBe(303);
  });

  it('shows complete and partial responses by channel, with the completion rate', async () => {
    const at = { started_at: '2019-02-18T08:00:00Z' };
    const done = { ...at, status: 'complete', submitted_at: '2019-02-18T08:10:00Z', area: 'dartford' };
    const result = await importResponses(
      t.db,
      survey,
      recordsCsv([
        { response_id: 'f1', channel: 'facebook', ...done },
        { response_id: 'f2', channel: 'facebook', ...done },
        { response_id: 'f3', channel: 'facebook', ...done },
        { response_id: 'f4', channel: 'facebook', status: 'partial', ...at, area: 'gravesham' },
        { response_id: 'p1', channel: 'poster', status: 'partial', ...at },
        { response_id: 'w1', channel: 'web', ...done },
      ]),
    );
    expect(result.ok).toBe(true);
    const html = (await analyst.get(`${SURVEY}/share`)).body;
    const row = (code: string) => {
      const match = new RegExp(`<tr class="govuk-table__row" id="row-${code}">([\\s\\S]*?)</tr>`).exec(html);
      return [...(match?.[1] ?? '').matchAll(/<t[dh][^>]*>(?:<strong>)?([^<]*)/g)].map((m) => m[1]);
    };
    expect(row('facebook')).toEqual(['Facebook', '3', '1', '4', '75.0%']);
    expect(row('poster')).toEqual(['Poster', '0', '1', '1', '0.0%']);
    expect(row('web')).toEqual(['Direct link (no channel)', '1', '0', '1', '100.0%']);
    expect(row('twitter')).toEqual(['Twitter/X', '0', '0', '0', '–']);
    expect(row('paper')).toEqual(['Paper questionnaire', '0', '0', '0', '–']);
    expect(row('total')).toEqual(['Total', '4', '2', '6', '66.7%']);
  });
});

describe('the printable questionnaire', () => {
  it('shows every question of every branch, numbered, with tick boxes and routing as on a paper form', async () => {
    const res = await t.app.inject({ url: '/print/csp-2019' });
    expect(res.statusCode).toBe(200);
    const html = decode(res.body);
    expect(paper.questions).toHaveLength(54);
    for (const q of paper.questions)
      expect(html).toContain(`<span class="app-paper__number">${q.number}</span> ${q.label}`);
    // All five follow-ups, at each of the three ranks.
    for (const rank of ['most important issue', 'second most important issue', 'third most important issue'])
      for (const category of [
        'Violence',
        'Property Crime',
        'Town Centre safety',
        'Anti-Social Behaviour (ASB)',
        'Substance Misuse',
      ])
        expect(html).toContain(`You have stated that ${category} is your ${rank}.`);
    expect(html.match(/Did you report this to the Police\?/g)).toHaveLength(15);
    expect(html).toContain('Answer question 5 only if you ticked ‘Yes’ at question 4.');
    expect(html).toContain('Answer questions 6 and 7 only if you ticked ‘Property crime’ at question 2.');
    expect(html).toMatch(
      /Property crime<\/span> <span class="app-paper__goto"><span aria-hidden="true">→ <\/span>Go to question 6<\/span>/,
    );
    expect(html).toContain('If you leave question 2 blank, go to question 18.');
    expect(html).toContain('Now go to question 18.');
    expect(html).toContain('Do not tick an answer you gave at question 2 or 18.');
    expect(html).toContain('Tick up to 3 boxes.');
    expect(html.match(/class="app-paper__tick"/g)?.length).toBeGreaterThan(200);
    for (const text of [...survey.intro, ...survey.thankYou]) expect(html).toContain(text);
    expect(html).toContain('Your privacy');
    expect(html).toContain(`${PUBLIC_URL}/privacy`);
    expect(html).toContain(`Or answer online at <a class="govuk-link app-paper__url" href="${PUBLIC_URL}/s/csp-2019">`);
    expect(html).toContain('href="/print/csp-2019.pdf"');
    expect(html).toContain('app-paper-body');
  });

  it('has a PDF printed by Chromium from the same page', async () => {
    const res = await t.app.inject({ url: '/print/csp-2019.pdf' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/pdf');
    expect(res.rawPayload.subarray(0, 5).toString()).toBe('%PDF-');
    const pages = res.rawPayload.toString('latin1').match(/\/Type\s*\/Page[^s]/g)?.length ?? 0;
    expect(pages).toBeGreaterThanOrEqual(4);
    // Printed once: the same page gives the same PDF, straight from the cache.
    const again = await t.app.inject({ url: '/print/csp-2019.pdf' });
    expect(again.rawPayload.equals(res.rawPayload)).toBe(true);
  }, 60_000);

  it('says clearly when the PDF cannot be made (no Chromium, or PDFs turned off), never a 500', async () => {
    for (const chromiumPath of ['/nowhere/chromium', '']) {
      const db = await connect(join(t.dir, `nochrome-${chromiumPath ? 'missing' : 'off'}.sqlite`));
      const app = await buildApp({ db, config: testConfig({ chromiumPath }), surveys: [survey] });
      try {
        const res = await app.inject({ url: '/print/csp-2019.pdf' });
        expect(res.statusCode).toBe(503);
        expect(res.body).toContain('The PDF is not available');
        expect(res.body).toContain('href="/print/csp-2019"');
        expect((await app.inject({ url: '/print/csp-2019' })).statusCode).toBe(200);
      } finally {
        await app.close();
      }
    }
    expect((await t.app.inject({ url: '/print/no-such-survey.pdf' })).statusCode).toBe(404);
    expect((await t.app.inject({ url: '/print/csp-2019.docx' })).statusCode).toBe(404);
  });
});

describe('pages of ours carry no inline script or style', () => {
  it('for the content security policy', async () => {
    const pages = [
      (await t.app.inject({ url: '/privacy' })).body,
      (await t.app.inject({ url: '/accessibility' })).body,
      (await t.app.inject({ url: '/cookies' })).body,
      (await t.app.inject({ url: '/print/csp-2019' })).body,
      (await t.app.inject({ url: '/s/csp-2019' })).body,
      (await analyst.get(`${SURVEY}/share`)).body,
      (await analyst.get(`${SURVEY}/paper`)).body,
    ];
    for (const html of pages) {
      expect(html).not.toMatch(/\sstyle="/);
      expect(html).not.toMatch(/<style/);
      expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
      expect(html).not.toMatch(/\son[a-z]+="/);
    }
  });
});

describe('paper entry', () => {
  const ENTRY = `${SURVEY}/paper`;

  /** Opens the entry page and sends one questionnaire from it, as staff would. */
  async function enter(agent: AdminAgent, fields: Record<string, string | string[]>) {
    const page = await agent.get(ENTRY);
    expect(page.statusCode).toBe(200);
    const responseId = /name="response_id" value="([^"]+)"/.exec(page.body)?.[1] as string;
    const res = await agent.post(ENTRY, { _csrf: csrfTokenIn(page.body), response_id: responseId, ...fields });
    return { res, responseId, token: csrfTokenIn(page.body) };
  }

  it('shows the whole questionnaire on one page, numbered as on paper', async () => {
    const html = decode((await analyst.get(ENTRY)).body);
    for (const q of paper.questions) expect(html).toContain(`${q.number}. ${q.label}`);
    expect(html).toContain('Answer question 5 only if you ticked ‘Yes’ at question 4.');
    expect(html.match(/>Not answered<\/label>/g)?.length).toBe(
      paper.questions.filter((q) => q.question.type !== 'multiple' && q.question.type !== 'text').length,
    );
  });

  it('saves a complete response on the paper channel, with the staff account kept apart from the answers', async () => {
    const { res, responseId } = await enter(analyst, {
      q1: 'gravesham',
      q2: 'asb',
      q12: ['fly_tipping', 'litter_dog_fouling'],
      q13: 'yes',
      q14: 'no',
      q18: 'violence',
      q20: 'no',
      q34: '',
      q50: 'female',
      q51: '45_54',
      q54: 'da12 1au',
    });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe(`${ENTRY}?saved=${responseId}`);
    const confirmation = await analyst.get(String(res.headers.location));
    expect(confirmation.body).toContain('Paper questionnaire saved');
    expect(confirmation.body).toContain('Paper questionnaire saved as P-000001');
    expect(confirmation.body).toContain('Paper questionnaires entered so far: 1 (1 by you)');

    const row = await t.db.selectFrom('responses').selectAll().where('id', '=', responseId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'complete', channel: 'paper', survey: 'csp-2019' });
    expect(row.started_at).toMatch(/:00Z$/);
    expect(JSON.parse(row.answers)).toEqual({
      area: { area: 'gravesham' },
      'concern-1': { concern_1: 'asb' },
      'concern-1-asb': { concern_1_top3: ['litter_dog_fouling', 'fly_tipping'], concern_1_victim: 'yes' },
      'concern-1-asb-reported': { concern_1_reported: 'no' },
      'concern-2': { concern_2: 'violence' },
      'concern-2-violence': { concern_2_victim: 'no' },
      'concern-3': {},
      'about-you': { gender: 'female', age: '45_54' },
      postcode: { postcode: 'DA12 1' },
    });
    // The account is in its own table, nowhere in the response.
    expect(JSON.stringify(row)).not.toContain(analystId);
    const entries = await t.db.selectFrom('paper_entries').selectAll().execute();
    expect(entries).toEqual([
      { response_id: responseId, account_id: analystId, entered_at: row.started_at, reference: 1 },
    ]);
    const values = await t.db.selectFrom('response_values').selectAll().where('response_id', '=', responseId).execute();
    expect(values.map((v) => `${v.question_id}=${v.value}`).sort()).toEqual(
      [
        'age=45_54',
        'area=gravesham',
        'concern_1=asb',
        'concern_1_reported=no',
        'concern_1_top3=fly_tipping',
        'concern_1_top3=litter_dog_fouling',
        'concern_1_victim=yes',
        'concern_2=violence',
        'concern_2_victim=no',
        'gender=female',
        'postcode=DA12 1',
      ].sort(),
    );
    // The export of responses carries no trace of who typed it in.
    const csv = (await analyst.get(`${SURVEY}/responses.csv`)).body;
    expect(csv).toContain(responseId);
    expect(csv).toContain(',paper,');
    expect(csv).not.toContain(analystId);
    expect(csv).not.toContain('analyst@council.example');
    // And the analysis counts it under the paper channel.
    const report = JSON.parse((await analyst.get(`${SURVEY}/report.json?channel=paper`)).body);
    expect(report.responses).toBe(1);
    expect(report.channels).toEqual({ paper: { complete: 1, partial: 0 } });
    expect(report.questions.concern_1.counts.asb).toBe(1);
  });

  it('stores a questionnaire sent twice (double click, replay) once', async () => {
    const { res, responseId, token } = await enter(analyst, { q1: 'dartford' });
    expect(res.statusCode).toBe(303);
    const again = await analyst.post(ENTRY, { _csrf: token, response_id: responseId, q1: 'dartford' });
    expect(again.statusCode).toBe(303);
    expect(again.headers.location).toBe(`${ENTRY}?saved=${responseId}`);
    expect(await countRows('responses')).toBe(1);
    expect(await countRows('paper_entries')).toBe(1);
  });

  it('refuses what online refuses, and answers the routing skips, listing each against its question and storing nothing', async () => {
    const cases: [Record<string, string | string[]>, string[]][] = [
      [
        { q2: 'violence', q3: ['robbery', 'hate_crime', 'sexual_violence', 'youth_violence'] },
        ['Question 3: Select up to 3 issues'],
      ],
      [
        { q2: 'violence', q4: 'no', q5: 'yes' },
        ['Leave question 5 blank: it applies only if you ticked ‘Yes’ at question 4'],
      ],
      [
        { q2: 'violence', q9: 'robbery' },
        ['Leave question 9 blank: it applies only if you ticked ‘Town Centre safety’ at question 2'],
      ],
      [{ q2: 'asb', q18: 'asb' }, ['Question 18: Select one of the options shown']],
      [{ q1: 'dartford', q54: 'not a postcode' }, ['Question 54: Enter a real postcode, like DA12 1AU']],
      [
        { q54: 'DA12 1AU', 'q54-prefer-not-to-say': 'prefer_not_to_say' },
        ['Question 54: Enter a postcode or tick ‘Prefer not to say’, not both'],
      ],
      [{ q1: 'london' }, ['Question 1: Select one of the options shown']],
      [{}, ['Enter the answers from the paper questionnaire: nothing was entered']],
      [{ q1: '', q2: '' }, ['Enter the answers from the paper questionnaire: nothing was entered']],
    ];
    for (const [fields, messages] of cases) {
      const { res } = await enter(analyst, fields);
      expect(res.statusCode, JSON.stringify(fields)).toBe(422);
      expect(summary(res.body), JSON.stringify(fields)).toEqual(messages);
      expect(res.body).toContain('<title>Error: Enter a paper questionnaire');
    }
    // The values given are shown again.
    const { res } = await enter(analyst, {
      q2: 'violence',
      q3: ['robbery', 'hate_crime', 'sexual_violence', 'youth_violence'],
    });
    expect(res.body).toMatch(/id="q2" name="q2" type="radio" value="violence" checked/);
    expect(res.body).toMatch(/name="q3" type="checkbox" value="hate_crime" checked/);
    expect(await countRows('responses')).toBe(0);
    expect(await countRows('paper_entries')).toBe(0);
    expect(await countRows('response_values')).toBe(0);
  });

  it('refuses a form it never sends (unknown field, bad id), and any form without a valid session or token', async () => {
    expect((await enter(analyst, { q1: 'dartford', q99: 'x' })).res.statusCode).toBe(400);
    expect((await enter(analyst, { q1: 'dartford', response_id: 'not-a-uuid' })).res.statusCode).toBe(400);
    const page = await analyst.get(ENTRY);
    const id = /name="response_id" value="([^"]+)"/.exec(page.body)?.[1] as string;
    expect((await analyst.post(ENTRY, { response_id: id, q1: 'dartford' })).statusCode).toBe(403);
    const stranger = await t.app.inject({
      method: 'POST',
      url: ENTRY,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `response_id=${id}&q1=dartford`,
    });
    expect(stranger.statusCode).toBe(403);
    expect(await countRows('responses')).toBe(0);
    expect(await countRows('paper_entries')).toBe(0);
  });

  it('is open to admins as well as analysts, each recorded as themselves', async () => {
    const adminId = await createAccount(t.db, 'admin@council.example', 'admin', PASSWORD);
    const admin = await new AdminAgent(t.app).signIn('admin@council.example', PASSWORD);
    expect((await enter(admin, { q1: 'dartford' })).res.statusCode).toBe(303);
    expect((await enter(analyst, { q1: 'gravesham' })).res.statusCode).toBe(303);
    const entries = await t.db.selectFrom('paper_entries').select('account_id').execute();
    expect(entries.map((e) => e.account_id).sort()).toEqual([adminId, analystId].sort());
  });
});
