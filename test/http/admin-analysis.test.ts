import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildReport } from '../../src/analysis/report.ts';
import { importResponses } from '../../src/exports/import.ts';
import { AdminAgent, createAccount, cspSurvey, csrfTokenIn, makeAdminApp, type TestApp } from '../helpers.ts';

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

describe('the analysis page', () => {
  beforeEach(async () => {
    await importResponses(t.db, survey, fixture);
  });

  it('shows the published tables to an analyst', async () => {
    const page = await analyst.get(BASE);
    expect(page.statusCode).toBe(200);
    expect(page.headers['cache-control']).toBe('no-store');
    const html = page.body;
    expect(html).toContain('Analysis: Community Safety Priorities');
    expect(html).toMatch(/Gravesham<\/th>\s*<td[^>]*>299<\/td>\s*<td[^>]*>71\.2%<\/td>/);
    expect(html).toContain('Of 407 respondents to this question');
    expect(html).toMatch(/Anti-social behaviour<\/th>\s*<td[^>]*>163<\/td>\s*<td[^>]*>40\.0%<\/td>/);
    expect(html).toContain('Of 154 respondents to this question');
    expect(html).toMatch(
      /Fly-tipping <strong class="govuk-tag[^"]*">Top 3<\/strong><\/th>\s*<td[^>]*>65<\/td>\s*<td[^>]*>42\.2%<\/td>/,
    );
    expect(html).toContain('Of 400 respondents who reached this page');
    expect(html).toMatch(/Not provided<\/th>\s*<td[^>]*>8<\/td>\s*<td[^>]*>2\.0%<\/td>/);
    expect(html).toContain('Victims and reporting to the police, by issue');
    expect(html).toContain('by postcode district');
    expect(html).toContain(`src="${BASE}/chart.svg"`);
  });

  it('applies filters from the URL to every table, and refuses bad ones', async () => {
    const page = await analyst.get(`${BASE}?area=dartford&status=complete`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('complete responses only, area: Dartford');
    const report = await buildReport(t.db, survey, { status: 'complete', area: 'dartford' });
    expect(page.body).toContain(
      `Of ${(report.questions.concern_1 as { answered: number }).answered} respondents to this question`,
    );
    expect(page.body).toContain(`href="${BASE}/responses.csv?status=complete&amp;area=dartford"`);
    const bad = await analyst.get(`${BASE}?area=kent&from=yesterday`);
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('area must be one of dartford, gravesham');
  });

  it('serves the report JSON, equal to the report model', async () => {
    const res = await analyst.get(`${BASE}/report.json?channel=facebook`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(JSON.parse(res.body)).toEqual(await buildReport(t.db, survey, { status: 'all', channel: 'facebook' }));
  });

  it('downloads the responses CSV, each table as CSV, the chart as SVG and the workbook', async () => {
    const csv = await analyst.get(`${BASE}/responses.csv?area=gravesham`);
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-disposition']).toBe('attachment; filename="csp-2019-gravesham-responses.csv"');
    expect(csv.rawPayload.subarray(0, 3).toString('hex')).toBe('efbbbf');
    expect(csv.body.trim().split('\n')).toHaveLength(300);

    const table = await analyst.get(`${BASE}/tables/concern_1.csv`);
    expect(table.body).toContain('Anti-social behaviour,163,40.0%');
    expect((await analyst.get(`${BASE}/tables/nope.csv`)).statusCode).toBe(404);
    const crosstab = await analyst.get(`${BASE}/tables/crosstab-concern_1_by_age.csv`);
    expect(crosstab.body).toContain('Row,Column,Count,Row %,Column %');

    const svg = await analyst.get(`${BASE}/chart.svg`);
    expect(svg.headers['content-type']).toMatch(/image\/svg\+xml/);
    expect(svg.body).toContain('<svg');
    expect(svg.body).toContain('Anti-social behaviour');
    expect(svg.body).toContain('163 (40.0%)');

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
      '/report.json',
      '/responses.csv',
      '/workbook.xlsx',
      '/chart.svg',
      '/tables/concern_1.csv',
      '/import',
    ]) {
      const res = await stranger.get(`${BASE}${path}`);
      expect(res.statusCode, path).toBe(303);
      expect(res.headers.location).toMatch(/^\/admin\/login/);
    }
  });
});

describe('import from the admin page', () => {
  it('is for admins only', async () => {
    expect((await analyst.get(`${BASE}/import`)).statusCode).toBe(403);
    const res = await upload(analyst, fixture, 'whatever');
    expect(res.statusCode).toBe(403);
    expect(await count()).toBe(0);
    expect((await analyst.get(BASE)).body).not.toContain('Import responses from a CSV file');
    expect((await admin.get(BASE)).body).toContain('Import responses from a CSV file');
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
  const formOf = async (agent: AdminAgent) => csrfTokenIn((await agent.get(BASE)).body);

  it('lets an admin close the survey now, which respondents then see, and open it again', async () => {
    const closed = await admin.post(`${BASE}/schedule`, { _csrf: await formOf(admin), action: 'close' });
    expect(closed.statusCode).toBe(303);
    const start = await t.app.inject({ url: '/s/csp-2019' });
    expect(start.body).toContain('This survey closed on');
    expect((await admin.get(BASE)).body).toContain('Open the survey now');
    expect((await admin.get('/admin')).body).toContain('Closed on');
    const opened = await admin.post(`${BASE}/schedule`, { _csrf: await formOf(admin), action: 'open' });
    expect(opened.statusCode).toBe(303);
    expect((await t.app.inject({ url: '/s/csp-2019' })).body).toContain('Start now');
  });

  it('sets opening and closing times in UK time, and refuses impossible ones', async () => {
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
    const byAnalyst = await analyst.post(`${BASE}/schedule`, { _csrf: await formOf(analyst), action: 'close' });
    expect(byAnalyst.statusCode).toBe(403);
    const noToken = await admin.post(`${BASE}/schedule`, { action: 'close' });
    expect(noToken.statusCode).toBe(403);
    expect(await t.db.selectFrom('survey_schedules').selectAll().execute()).toHaveLength(0);
    expect((await t.app.inject({ url: '/s/csp-2019' })).body).toContain('Start now');
  });
});
