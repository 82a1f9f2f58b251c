import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildReport } from '../../src/analysis/report.ts';
import { importResponses } from '../../src/exports/import.ts';
import {
  AdminAgent,
  createAccount,
  cspSurvey,
  csrfTokenIn,
  makeAdminApp,
  Respondent,
  type TestApp,
} from '../helpers.ts';

const fixture = readFileSync(join(import.meta.dirname, '../fixtures/csp-2019-published.csv'));
const survey = cspSurvey();
const PASSWORD = 'a long enough passphrase';
const BASE = '/admin/surveys/csp-2019';

let t: TestApp;
let analyst: AdminAgent;
let admin: AdminAgent;
beforeEach(async () => {
  t = await makeAdminApp();
  await createAccount(t.db, 'analyst@council.example', 'analyst', PASSWORD);
  await createAccount(t.db, 'admin@council.example', 'admin', PASSWORD);
  analyst = await new AdminAgent(t.app).signIn('analyst@council.example', PASSWORD);
  admin = await new AdminAgent(t.app).signIn('admin@council.example', PASSWORD);
});
afterEach(async () => {
  await t.close();
});

/** A multipart upload as a browser sends it. */
function multipart(fields: Record<string, string>, file?: { name: string; content: Buffer | string }) {
  const boundary = '----soundings-test-boundary';
  const parts = Object.entries(fields).map(
    ([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
  );
  const chunks: Buffer[] = parts.map((p) => Buffer.from(p));
  if (file) {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.name}"\r\nContent-Type: text/csv\r\n\r\n`,
      ),
      Buffer.from(file.content),
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

async function upload(agent: AdminAgent, content: Buffer | string, token?: string) {
  const page = await agent.get(`${BASE}/import`);
  const csrf = token ?? (page.statusCode === 200 ? csrfTokenIn(page.body) : '');
  const body = multipart({ _csrf: csrf }, { name: 'responses.csv', content });
  return agent.keep(
    await t.app.inject({
      method: 'POST',
      url: `${BASE}/import`,
      headers: { 'content-type': body.contentType, cookie: agent.cookieHeader },
      payload: body.payload,
    }),
  );
}

const count = async () => (await t.db.selectFrom('responses').select('id').execute()).length;

describe('the results', () => {
  beforeEach(async () => {
    await importResponses(t.db, survey, fixture);
  });

  it('shows the published tables to an analyst, a section a page', async () => {
    const overview = await analyst.get(BASE);
    expect(overview.statusCode).toBe(200);
    expect(overview.headers['cache-control']).toBe('no-store');
    expect(overview.body).toContain('<title>Overview: Community Safety Priorities');
    expect(overview.body).toMatch(/Gravesham<\/th>\s*<td[^>]*>299<\/td>\s*<td[^>]*>71\.2%<\/td>/);
    expect(overview.body).toMatch(/Anti-social behaviour<\/th>\s*<td[^>]*>163<\/td>\s*<td[^>]*>40\.0%<\/td>/);
    expect(overview.body).toContain('Responses started each day');
    // Every section is a link away, and says which it is.
    for (const [path, heading] of [
      ['/results/priorities', 'Priorities'],
      ['/results/victims', 'Victims and reporting'],
      ['/results/about-you', 'About you'],
      ['/results/crosstabs', 'Cross-tabs'],
      ['/results/channels', 'Channels'],
      ['/results/quality', 'Data quality'],
    ]) {
      expect(overview.body).toContain(`href="${BASE}${path}"`);
      const page = await analyst.get(`${BASE}${path}`);
      expect(page.statusCode, path).toBe(200);
      expect(page.body, path).toContain(`aria-current="page">${heading}</a>`);
    }
    const priorities = (await analyst.get(`${BASE}/results/priorities`)).body;
    expect(priorities).toContain('Of 407 respondents to this question');
    expect(priorities).toContain('Of 154 respondents to this question');
    expect(priorities).toMatch(
      /Fly-tipping <strong class="govuk-tag[^"]*">Top 3<\/strong><\/th>\s*<td[^>]*>65<\/td>\s*<td[^>]*>42\.2%<\/td>/,
    );
    // Rank 1, its follow-ups, then rank 2 and its follow-ups: in that order on the page, and in its contents.
    const at = (text: string) => priorities.indexOf(text);
    expect(at('id="rank-1"')).toBeLessThan(at('id="concern_1_top3-asb"'));
    expect(at('id="concern_1_top3-asb"')).toBeLessThan(at('id="rank-2"'));
    expect(at('id="rank-2"')).toBeLessThan(at('id="concern_2_top3-asb"'));
    expect(at('id="concern_2_top3-asb"')).toBeLessThan(at('id="rank-3"'));
    expect(priorities).toContain('href="#concern_2_top3-asb"');
    const aboutYou = (await analyst.get(`${BASE}/results/about-you`)).body;
    expect(aboutYou).toContain('Of 400 respondents who reached this page');
    expect(aboutYou).toMatch(/Not provided<\/th>\s*<td[^>]*>8<\/td>\s*<td[^>]*>2\.0%<\/td>/);
    expect((await analyst.get(`${BASE}/results/victims`)).body).toContain(
      'Victims and reporting to the police, by issue',
    );
    // A chart beside every table, its figures in the table.
    expect(priorities.match(/<figure class="app-chart-figure"/g)?.length).toBe(priorities.match(/<table /g)?.length);
  });

  it('keeps the filters in every address, and shows a bad one on the same page (422)', async () => {
    const page = await analyst.get(`${BASE}/results/priorities?area=dartford&status=complete`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('complete responses only, area: Dartford');
    const report = await buildReport(t.db, survey, { status: 'complete', area: 'dartford' });
    expect(page.body).toContain(
      `Of ${(report.questions.concern_1 as { answered: number }).answered} respondents to this question`,
    );
    expect(page.body).toContain(`href="${BASE}/results/about-you?status=complete&amp;area=dartford"`);
    expect(page.body).toContain(`href="${BASE}/tables/concern_1.csv?status=complete&amp;area=dartford"`);
    const bad = await analyst.get(`${BASE}/results/priorities?area=kent&from=2019-03-01&to=2019-02-01`);
    expect(bad.statusCode).toBe(422);
    expect(bad.body).toContain('<title>Error: Priorities');
    expect(bad.body).toContain('There is a problem');
    expect(bad.body).toContain('<a href="#area">Area must be one of dartford, gravesham</a>');
    expect(bad.body).toContain('<a href="#from">From must not be after to</a>');
    // The filters as typed are kept in the form.
    expect(bad.body).toContain('id="from" name="from" type="date" value="2019-03-01"');
    expect(bad.body).not.toContain('<table');
  });

  it('serves the report JSON, equal to the report model, with a cross-tab when asked', async () => {
    const res = await analyst.get(`${BASE}/report.json?channel=facebook`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(JSON.parse(res.body)).toEqual(await buildReport(t.db, survey, { status: 'all', channel: 'facebook' }));
    const withCrosstab = JSON.parse((await analyst.get(`${BASE}/report.json?crosstab=concern_1,age`)).body);
    const report = await buildReport(t.db, survey, { status: 'all' });
    expect(withCrosstab.crosstab.counts.asb).toEqual(
      Object.fromEntries(
        Object.keys(withCrosstab.crosstab.counts.asb).map((age) => [
          age,
          report.crosstabs.concern_1_by_age?.asb?.[age] ?? 0,
        ]),
      ),
    );
    expect(withCrosstab.crosstab.chi_square.df).toBe(4 * 6);
    expect((await analyst.get(`${BASE}/report.json?crosstab=concern_1`)).statusCode).toBe(400);
  });

  it('downloads the responses CSV, each table as tidy CSV, each chart as SVG and PNG, and the workbook', async () => {
    const csv = await analyst.get(`${BASE}/responses.csv?area=gravesham`);
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-disposition']).toBe('attachment; filename="csp-2019-gravesham-responses.csv"');
    expect(csv.rawPayload.subarray(0, 3).toString('hex')).toBe('efbbbf');
    expect(csv.body.trim().split('\n')).toHaveLength(300);

    const table = await analyst.get(`${BASE}/tables/concern_1.csv`);
    const lines = table.body
      .replace(/^\ufeff/, '')
      .trim()
      .split('\n');
    expect(lines[0]).toBe('Answer,Count,%');
    expect(lines).toContain('Anti-social behaviour,163,40');
    expect((await analyst.get(`${BASE}/tables/nope.csv`)).statusCode).toBe(404);

    const svg = await analyst.get(`${BASE}/charts/concern_1.svg`);
    expect(svg.headers['content-type']).toMatch(/image\/svg\+xml/);
    expect(svg.body).toContain('<svg');
    expect(svg.body).toContain('Anti-social behaviour');
    expect(svg.body).toContain('40.0%');
    const png = await analyst.get(`${BASE}/charts/concern_1.png`);
    expect(png.headers['content-type']).toBe('image/png');
    expect(png.rawPayload.subarray(1, 4).toString()).toBe('PNG');
    expect((await analyst.get(`${BASE}/charts/nope.svg`)).statusCode).toBe(404);

    const xlsx = await analyst.get(`${BASE}/workbook.xlsx?status=complete`);
    expect(xlsx.statusCode).toBe(200);
    expect(xlsx.headers['content-type']).toContain('spreadsheetml');
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(xlsx.rawPayload as unknown as ArrayBuffer);
    expect(book.getWorksheet('Responses')?.rowCount).toBe(401);
  });

  it('is not shown without a session', async () => {
    const stranger = new AdminAgent(t.app);
    for (const path of [
      '',
      '/results/priorities',
      '/results/crosstabs',
      '/report.json',
      '/responses.csv',
      '/workbook.xlsx',
      '/charts/concern_1.svg',
      '/tables/concern_1.csv',
      '/import',
      '/settings',
    ]) {
      const res = await stranger.get(`${BASE}${path}`);
      expect(res.statusCode, path).toBe(303);
      expect(res.headers.location).toMatch(/^\/admin\/login/);
    }
  });
});

describe('ad-hoc cross-tabs', () => {
  beforeEach(async () => {
    await importResponses(t.db, survey, fixture);
  });

  it('cross-tabulate any question by any other, with the chi-square test and significant cells in words', async () => {
    const page = await analyst.get(`${BASE}/results/crosstabs?row=concern_1&column=disability&measure=column`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Chi-square test of independence');
    expect(page.body).toMatch(/χ² = [\d.]+, \d+ degrees of freedom/);
    expect(page.body).toContain('Column % (share of the column’s respondents)');
    // The published cross-tabs are a click away.
    expect(page.body).toContain('row=concern_1&amp;column=age');
    const csv = (await analyst.get(`${BASE}/results/crosstabs.csv?row=concern_1&column=disability`)).body;
    expect(csv.replace(/^\ufeff/, '').split('\n')[0]).toBe(
      'concern_1,concern_1_label,disability,disability_label,count,row_percent,column_percent,row_base,column_base',
    );
    expect(
      (await analyst.get(`${BASE}/results/crosstabs.png?row=concern_1&column=disability`)).headers['content-type'],
    ).toBe('image/png');
    // A multiple-choice question too, across every rank.
    const multi = await analyst.get(`${BASE}/results/crosstabs?row=concern_1_any_rank&column=gender`);
    expect(multi.statusCode).toBe(200);
    expect(multi.body).toContain('it needs one answer per respondent on both');
  });

  it('show small counts to analysts, marked, and hide them with the cells that would give them away when published', async () => {
    const analysis = (await analyst.get(`${BASE}/results/crosstabs?row=concern_1&column=disability`)).body;
    expect(analysis).toContain('app-cell-small');
    expect(analysis).not.toContain('>[c]<');
    const published = (await analyst.get(`${BASE}/results/crosstabs?row=concern_1&column=disability&publish=yes`)).body;
    expect(published).toContain('[c]');
    expect(published).toContain('Marked for publication');
    const csv = (await analyst.get(`${BASE}/results/crosstabs.csv?row=concern_1&column=disability&publish=yes`)).body;
    expect(csv).toContain('[c]');
  });

  it('come back on the same page with the problem when asked for something that does not exist', async () => {
    const bad = await analyst.get(`${BASE}/results/crosstabs?row=concern_1&column=shoe_size&status=sometimes`);
    expect(bad.statusCode).toBe(422);
    expect(bad.body).toContain('<a href="#column">Choose the columns from the list</a>');
    expect(bad.body).toContain('<a href="#status">Status must be all, complete or partial</a>');
    const same = await analyst.get(`${BASE}/results/crosstabs?row=age&column=age`);
    expect(same.statusCode).toBe(422);
  });
});

describe('import from the admin page', () => {
  it('is for admins only', async () => {
    expect((await analyst.get(`${BASE}/import`)).statusCode).toBe(403);
    const res = await upload(analyst, fixture, 'whatever');
    expect(res.statusCode).toBe(403);
    expect(await count()).toBe(0);
    expect((await analyst.get(`${BASE}/settings`)).statusCode).toBe(403);
    expect((await admin.get(`${BASE}/settings`)).body).toContain('Import responses from a CSV file');
  });

  it('imports a good file, and adds nothing the second time', async () => {
    const res = await upload(admin, fixture);
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('420 responses imported');
    expect(await count()).toBe(420);
    const again = await upload(admin, fixture);
    expect(again.body).toContain('0 responses imported, 420 already present');
    expect(await count()).toBe(420);
  });

  it('refuses a bad file, listing every problem, storing nothing', async () => {
    const bad = fixture
      .toString('utf8')
      .replace('fx-0082,complete,facebook', 'fx-0082,complete,tiktok')
      .replace(',female,25_34,white_british,no,DA13 0', ',female,25_34,white_british,no,<script>');
    const res = await upload(admin, bad);
    expect(res.statusCode).toBe(422);
    expect(res.body).toContain('There is a problem');
    expect(res.body).toContain('Nothing was imported: the file has 2 problem(s)');
    expect(res.body).toContain('channel');
    expect(res.body).toContain('&lt;script&gt;');
    expect(res.body).not.toContain('<script>');
    expect(await count()).toBe(0);
  });

  it('asks for a file when none is given, and refuses a missing CSRF token', async () => {
    const page = await admin.get(`${BASE}/import`);
    const empty = multipart({ _csrf: csrfTokenIn(page.body) });
    const res = await t.app.inject({
      method: 'POST',
      url: `${BASE}/import`,
      headers: { 'content-type': empty.contentType, cookie: admin.cookieHeader },
      payload: empty.payload,
    });
    expect(res.statusCode).toBe(422);
    expect(res.body).toContain('Select a CSV file of responses');
    const forged = await upload(admin, fixture, 'not-a-token');
    expect(forged.statusCode).toBe(403);
    expect(await count()).toBe(0);
  });
});

describe('opening and closing a survey', () => {
  const formOf = async (agent: AdminAgent, page = `${BASE}/settings`) => csrfTokenIn((await agent.get(page)).body);

  it('asks before closing, says who is part-way through, and lets them finish within the grace chosen', async () => {
    const resident = new Respondent(t.app);
    await resident.start();
    await resident.answer('area', { area: 'dartford' });
    // The button leads to a confirmation page; a close without it changes nothing.
    const settings = (await admin.get(`${BASE}/settings`)).body;
    expect(settings).toContain(`href="${BASE}/settings/close"`);
    const unconfirmed = await admin.post(`${BASE}/schedule`, {
      _csrf: await formOf(admin),
      action: 'close',
      grace: 'none',
    });
    expect(unconfirmed.headers.location).toBe(`${BASE}/settings/close`);
    expect(await t.db.selectFrom('survey_schedules').selectAll().execute()).toHaveLength(0);
    const confirm = await admin.get(`${BASE}/settings/close`);
    expect(confirm.body).toContain('1 resident has started the survey in the last 7 days and not sent it yet');
    const closed = await admin.post(`${BASE}/schedule`, {
      _csrf: csrfTokenIn(confirm.body),
      action: 'close',
      confirm: 'yes',
      grace: '1d',
    });
    expect(closed.statusCode).toBe(303);
    // New residents are told it has closed; the one part-way through can finish and send.
    expect((await t.app.inject({ url: '/s/csp-2019' })).body).toContain('This survey closed on');
    for (const page of ['concern-1', 'concern-2', 'concern-3', 'about-you', 'postcode']) await resident.answer(page);
    expect((await resident.post('check-answers')).headers.location).toBe('/s/csp-2019/thank-you');
    expect((await admin.get(`${BASE}/settings`)).body).toContain('can finish and send their answers until');
    expect((await admin.get('/admin')).body).toContain('Closed on');
    const opened = await admin.post(`${BASE}/schedule`, { _csrf: await formOf(admin), action: 'open' });
    expect(opened.statusCode).toBe(303);
    expect((await t.app.inject({ url: '/s/csp-2019' })).body).toContain('Start now');
  });

  it('stops everyone at once without a grace period', async () => {
    const resident = new Respondent(t.app);
    await resident.start();
    await admin.post(`${BASE}/schedule`, {
      _csrf: await formOf(admin),
      action: 'close',
      confirm: 'yes',
      grace: 'none',
    });
    const refused = await resident.post('area', { area: 'dartford' });
    expect(refused.statusCode).toBe(403);
    expect(refused.body).toContain('This survey closed on');
  });

  it('sets opening and closing times in UK time, and shows impossible ones on the same page', async () => {
    const res = await admin.post(`${BASE}/schedule`, {
      _csrf: await formOf(admin),
      action: 'dates',
      opens_at: '2030-07-01T09:00',
      closes_at: '2030-07-31T17:00',
    });
    expect(res.statusCode).toBe(303);
    const row = await t.db.selectFrom('survey_schedules').selectAll().executeTakeFirstOrThrow();
    expect([row.opens_at, row.closes_at]).toEqual(['2030-07-01T08:00:00.000Z', '2030-07-31T16:00:00.000Z']);
    expect((await t.app.inject({ url: '/s/csp-2019' })).body).toContain('This survey opens on 1 July 2030 at 9am');
    const backwards = await admin.post(`${BASE}/schedule`, {
      _csrf: await formOf(admin),
      action: 'dates',
      opens_at: '2030-07-31T09:00',
      closes_at: '2030-07-01T17:00',
    });
    expect(backwards.statusCode).toBe(422);
    expect(backwards.body).toContain('The closing time must be after the opening time');
    expect(backwards.body).toContain('value="2030-07-31T09:00"');
    const nonsense = await admin.post(`${BASE}/schedule`, {
      _csrf: await formOf(admin),
      action: 'dates',
      opens_at: 'soon',
    });
    expect(nonsense.statusCode).toBe(422);
    const after = await t.db.selectFrom('survey_schedules').selectAll().executeTakeFirstOrThrow();
    expect(after.opens_at).toBe('2030-07-01T08:00:00.000Z');
  });

  it('is refused to analysts and without a CSRF token', async () => {
    const byAnalyst = await analyst.post(`${BASE}/schedule`, { _csrf: await formOf(analyst, BASE), action: 'close' });
    expect(byAnalyst.statusCode).toBe(403);
    const noToken = await admin.post(`${BASE}/schedule`, { action: 'close', confirm: 'yes', grace: 'none' });
    expect(noToken.statusCode).toBe(403);
    expect(await t.db.selectFrom('survey_schedules').selectAll().execute()).toHaveLength(0);
    expect((await t.app.inject({ url: '/s/csp-2019' })).body).toContain('Start now');
  });
});
