import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReport } from '../../src/analysis/report.ts';
import { allTables } from '../../src/analysis/sections.ts';
import { defineSurvey, type Survey, type SurveyInput } from '../../src/survey/definition.ts';
import { csp2019 } from '../../src/survey/definitions/csp-2019.ts';
import { AdminAgent, createAccount, csrfTokenIn, makeAdminApp, Respondent, type TestApp } from '../helpers.ts';
import { fillPath, inertProblems, PROBES, registeredRoutes } from './security-helpers.ts';

// Survey text and answers are shown in many places: the respondent's pages,
// the admin pages, CSV, XLSX, SVG and JSON. Here every piece of survey text
// carries a probe (script, event handler, formula, template), and every place
// it is shown must show it as plain text.

const PASSWORD = 'a long enough passphrase';
const TEXT_KEYS = new Set(['label', 'title', 'hint', 'owner', 'noun']);
const LIST_KEYS = new Set(['intro', 'thankYou', 'paragraphs', 'rankLabels']);

/** The CSP survey with a probe in front of every piece of its text. */
function hostileSurvey(): Survey {
  let i = 0;
  const probe = () => PROBES[i++ % PROBES.length] as string;
  const walk = (value: unknown, key = ''): unknown => {
    if (typeof value === 'string' && TEXT_KEYS.has(key)) return `${probe()} ${value}`;
    if (Array.isArray(value))
      return LIST_KEYS.has(key)
        ? value.map((v) => (typeof v === 'string' ? `${probe()} ${v}` : walk(v)))
        : value.map((v) => walk(v));
    if (typeof value === 'object' && value !== null)
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, k)]));
    return value;
  };
  return defineSurvey(walk(csp2019) as SurveyInput);
}

/** Probes whose characters would be markup if shown unescaped. */
const MARKUP_PROBES = PROBES.filter((p) => /[<>"'&]/.test(p));

function expectPlainText(body: string, what: string) {
  expect(inertProblems(body), what).toEqual([]);
  for (const p of MARKUP_PROBES) expect(body.includes(p), `${what} shows ${p} unescaped`).toBe(false);
}

const survey = hostileSurvey();
let t: TestApp;
let admin: AdminAgent;
let r: Respondent;
beforeAll(async () => {
  t = await makeAdminApp({ surveys: [survey] });
  await createAccount(t.db, 'admin@council.example', 'admin', PASSWORD);
  admin = await new AdminAgent(t.app).signIn('admin@council.example', PASSWORD);
  r = new Respondent(t.app);
  await r.start('facebook');
  await r.answer('area', { area: 'gravesham' });
  await r.answer('concern-1', { concern_1: 'asb' });
  await r.answer('concern-1-asb', { concern_1_top3: ['drugs', 'fly_tipping'], concern_1_victim: 'yes' });
  await r.answer('concern-1-asb-reported', { concern_1_reported: 'no' });
  await r.answer('concern-2', { concern_2: 'violence' });
  await r.answer('concern-2-violence');
  await r.answer('concern-3');
  await r.answer('about-you', { gender: 'female', age: '45_54' });
  await r.answer('postcode', { postcode: 'DA12 1AU' });
});
afterAll(async () => {
  await t.close();
});

describe('survey text full of probes', () => {
  it("is plain text on every respondent's page, an error page included", async () => {
    expect(survey.title).toContain('<');
    for (const path of ['', 'area', 'concern-1', 'concern-1-asb', 'about-you', 'postcode', 'check-answers']) {
      const res = await r.get(path);
      expect(res.statusCode, path).toBe(200);
      expectPlainText(res.body, path || 'start');
    }
    for (const typed of PROBES) {
      const res = await r.post('postcode', { postcode: typed });
      expect(res.statusCode, typed).toBe(422);
      expectPlainText(res.body, `postcode ${JSON.stringify(typed)}`);
    }
  });

  it('is plain text on every HTML or SVG page the app serves, the admin pages included', async () => {
    const routes = (await registeredRoutes(t.app)).filter((route) => route.method === 'GET');
    const params = {
      slug: survey.slug,
      page: 'concern-1-asb',
      table: 'concern_1',
      file: survey.slug,
      token: 'x',
      id: 'x',
    };
    let checked = 0;
    for (const route of routes) {
      const url = fillPath(route.path, params).replace('*', 'anything');
      const res = await t.app.inject({ url, headers: { cookie: `${r.cookie}; ${admin.cookieHeader}` } });
      const type = String(res.headers['content-type'] ?? '');
      if (!/text\/html|image\/svg/.test(type)) continue;
      expectPlainText(res.body, `${url} (${type})`);
      checked++;
    }
    expect(checked).toBeGreaterThan(10);
    // The QR codes and the share page, which list the channels by label.
    const share = await admin.get(`/admin/surveys/${survey.slug}/share`);
    if (share.statusCode === 200) expectPlainText(share.body, 'share');
  });

  it('cannot run as a formula in any CSV download, and stays text in the workbook', async () => {
    const base = `/admin/surveys/${survey.slug}`;
    const report = await buildReport(t.db, survey, { status: 'all' });
    const csvs = [
      `${base}/responses.csv`,
      ...allTables(survey, report).map((table) => `${base}/tables/${table.id}.csv`),
    ];
    let formulaLike = 0;
    for (const url of csvs) {
      const res = await admin.get(url);
      expect(res.statusCode, url).toBe(200);
      for (const row of parse(res.body, { bom: true, relax_column_count: true }) as string[][]) {
        for (const cell of row) {
          expect(cell, `${url}: ${cell}`).not.toMatch(/^[=+\-@\t\r]/);
          if (/^'[=+\-@\t\r]/.test(cell)) formulaLike++;
        }
      }
    }
    expect(formulaLike).toBeGreaterThan(5);

    const xlsx = await admin.get(`${base}/workbook.xlsx`);
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(xlsx.rawPayload as unknown as ArrayBuffer);
    const texts: string[] = [];
    book.eachSheet((sheet) =>
      sheet.eachRow((row) =>
        row.eachCell((cell) => {
          expect(cell.type, `${sheet.name}!${cell.address}`).not.toBe(ExcelJS.ValueType.Formula);
          expect(cell.formula, `${sheet.name}!${cell.address}`).toBeFalsy();
          if (typeof cell.value === 'string') texts.push(cell.value);
        }),
      ),
    );
    // The probes are there, as the text they are.
    for (const p of ['=HYPERLINK("http://evil.example","click")', '<script>alert("xss")</script>', '@SUM(1,1)'])
      expect(
        texts.some((text) => text.startsWith(p)),
        p,
      ).toBe(true);
    // Nothing in the package is a formula element either.
    expect(xlsx.rawPayload.toString('latin1')).not.toMatch(/<f>|<f /);
  });

  it('is escaped in the chart SVG and served as JSON, never HTML, in the report', async () => {
    const base = `/admin/surveys/${survey.slug}`;
    const svg = await admin.get(`${base}/charts/concern_1.svg`);
    expect(svg.headers['content-type']).toBe('image/svg+xml; charset=utf-8');
    expectPlainText(svg.body, 'chart.svg');
    expect(svg.body).toContain('&lt;script&gt;');
    const json = await admin.get(`${base}/report.json`);
    expect(json.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(json.headers['x-content-type-options']).toBe('nosniff');
    expect(() => JSON.parse(json.body)).not.toThrow();
  });

  it('is plain text when an import lists the problems in a hostile file', async () => {
    const page = await admin.get(`/admin/surveys/${survey.slug}/import`);
    const header = 'response_id,status,channel,started_at,submitted_at,area';
    const rows = PROBES.map(
      (p) => `"${p.replace(/"/g, '""')}",complete,"${p.replace(/"/g, '""')}",x,,"${p.replace(/"/g, '""')}"`,
    );
    const boundary = '----probe';
    const body = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${csrfTokenIn(page.body)}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.csv"\r\nContent-Type: text/csv\r\n\r\n${header}\n${rows.join('\n')}\n\r\n--${boundary}--\r\n`,
    );
    const res = await t.app.inject({
      method: 'POST',
      url: `/admin/surveys/${survey.slug}/import`,
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, cookie: admin.cookieHeader },
      payload: body,
    });
    expect(res.statusCode).toBe(422);
    expect(res.body).toContain('Problems found');
    expectPlainText(res.body, 'import problems');
  });
});
