import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importResponses } from '../../src/exports/import.ts';
import { AdminAgent, createAccount, cspSurvey, makeAdminApp, type TestApp } from '../helpers.ts';

// The downloads of responses as an analyst gets them from the results pages:
// labels on request, the weight column and the Weighting sheet with the
// page's weighting, and a refused weighting refusing the download.

const fixture = readFileSync(join(import.meta.dirname, '../fixtures/csp-2019-published.csv'));
const survey = cspSurvey();
const PASSWORD = 'a long enough passphrase';
const BASE = '/admin/surveys/csp-2019';

let t: TestApp;
let analyst: AdminAgent;
beforeAll(async () => {
  t = await makeAdminApp();
  await createAccount(t.db, 'analyst@council.example', 'analyst', PASSWORD);
  analyst = await new AdminAgent(t.app).signIn('analyst@council.example', PASSWORD);
  expect((await importResponses(t.db, survey, fixture)).ok).toBe(true);
}, 60_000);
afterAll(async () => {
  await t?.close();
});

const rowsOf = (body: string): Record<string, string>[] => parse(body, { columns: true, bom: true });

describe('the responses CSV', () => {
  it('gives labels instead of codes with labels=yes, in the same columns', async () => {
    const codes = await analyst.get(`${BASE}/responses.csv?area=dartford`);
    const labels = await analyst.get(`${BASE}/responses.csv?area=dartford&labels=yes`);
    expect(labels.statusCode).toBe(200);
    expect(labels.headers['content-disposition']).toBe('attachment; filename="csp-2019-dartford-responses-labels.csv"');
    const [coded, labelled] = [rowsOf(codes.body), rowsOf(labels.body)];
    expect(Object.keys(labelled[0] ?? {})).toEqual(Object.keys(coded[0] ?? {}));
    expect(labelled).toHaveLength(coded.length);
    const asb = labelled.find((r) => r.response_id === coded.find((c) => c.concern_1 === 'asb')?.response_id);
    expect(asb?.concern_1).toBe('Anti-social behaviour');
    expect(asb?.area).toBe('Dartford');
    const facebook = labelled.find((r) => r.response_id === coded.find((c) => c.channel === 'facebook')?.response_id);
    expect(facebook?.channel).toBe('Facebook');
    // A multi-choice answer's labels, joined as the workbook joins them.
    const ticks = coded.find((c) => c.concern_1_top3?.includes(';'));
    const same = labelled.find((r) => r.response_id === ticks?.response_id);
    expect(same?.concern_1_top3?.split('; ')).toHaveLength(ticks?.concern_1_top3?.split(';').length ?? -1);
    // Dates and ids are as they are.
    expect(labelled.map((r) => r.started_at)).toEqual(coded.map((r) => r.started_at));
  });

  it('adds a weight column with the page’s weighting: the weights add up to those weighted', async () => {
    const res = await analyst.get(`${BASE}/responses.csv?weight=age,sex`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-disposition']).toBe('attachment; filename="csp-2019-responses-weighted.csv"');
    const rows = rowsOf(res.body);
    expect(Object.keys(rows[0] ?? {}).at(-1)).toBe('weight');
    const json = JSON.parse((await analyst.get(`${BASE}/report.json?weight=age,sex`)).body);
    const weighted = rows.filter((r) => r.weight !== '');
    expect(weighted).toHaveLength(json.weighting.weighted_respondents);
    expect(rows.length - weighted.length).toBe(json.weighting.left_out.total);
    const total = weighted.reduce((sum, r) => sum + Number(r.weight), 0);
    expect(total).toBeCloseTo(json.weighting.weighted_respondents, 6);
    // Kish's design effect, worked from the column: n times the sum of squares over the square of the sum.
    const squares = weighted.reduce((sum, r) => sum + Number(r.weight) ** 2, 0);
    expect((weighted.length * squares) / total ** 2).toBeCloseTo(json.weighting.design_effect, 6);
    // With labels too.
    const both = rowsOf((await analyst.get(`${BASE}/responses.csv?weight=age,sex&labels=yes`)).body);
    expect(both.map((r) => r.weight)).toEqual(rows.map((r) => r.weight));
  });

  it('is refused (409) with the page’s reasons when the weighting is refused, and nothing is sent', async () => {
    for (const path of ['responses.csv', 'workbook.xlsx']) {
      const res = await analyst.get(`${BASE}/${path}?weight=age,sex,ethnic_group`);
      expect(res.statusCode, path).toBe(409);
      expect(res.headers['content-type'], path).toContain('text/html');
      expect(res.headers['content-disposition'], path).toBeUndefined();
      expect(res.body).toContain('The weighting was refused, so nothing was exported');
      expect(res.body).toContain(
        'No respondent in Dartford is in ethnic group “Asian or Asian British”, where 11,513 people live.',
      );
      expect(res.body).toContain(
        `href="${BASE}/results/representativeness?weight=age%2Csex%2Cethnic_group#weighting">Change the weighting`,
      );
    }
  });

  it('says what is wrong with settings it cannot use (400), never a 500', async () => {
    for (const [query, message] of [
      ['labels=maybe', 'Labels must be yes or no.'],
      ['weight=height', 'Weight must name variables from age, sex, ethnic_group'],
      ['weight=age&cap=0.5', 'Cap must be none, or a number above 1'],
    ] as const) {
      for (const path of ['responses.csv', 'workbook.xlsx']) {
        if (path === 'workbook.xlsx' && query.startsWith('labels')) continue;
        const res = await analyst.get(`${BASE}/${path}?${query}`);
        expect(res.statusCode, `${path}?${query}`).toBe(400);
        expect(res.body, `${path}?${query}`).toContain(message);
        expect(res.headers['content-disposition']).toBeUndefined();
      }
    }
  });
});

describe('the workbook', () => {
  it('has the weight column and a Weighting sheet with the page’s weighting, and the results page links to both', async () => {
    const res = await analyst.get(`${BASE}/workbook.xlsx?weight=age,sex&cap=5&merge=age:18_24%2B25_34`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-disposition']).toBe('attachment; filename="csp-2019-weighted.xlsx"');
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(res.rawPayload as unknown as ArrayBuffer);
    expect(book.worksheets.map((w) => w.name).slice(0, 4)).toEqual(['Contents', 'Responses', 'Codebook', 'Weighting']);
    const responses = book.getWorksheet('Responses') as ExcelJS.Worksheet;
    const last = responses.getRow(1).cellCount;
    expect(responses.getRow(1).getCell(last).value).toBe('weight');
    const weighting = book.getWorksheet('Weighting') as ExcelJS.Worksheet;
    const labels: string[] = [];
    weighting.eachRow((row) => labels.push(`${row.getCell(1).value}: ${row.getCell(2).value}`));
    expect(labels).toContain('Cap on the weights: 5 × the district’s mean weight');
    expect(labels).toContain('Weighted on: Age, Sex');
    expect(labels.find((l) => l.startsWith('Categories merged'))).toMatch(/^Categories merged: Age: 18.+ with 25.+$/);

    const overview = await analyst.get(`${BASE}/results/overview?weight=age,sex`);
    const page = overview.statusCode === 200 ? overview : await analyst.get(`${BASE}?weight=age,sex`);
    expect(page.body).toContain(`href="${BASE}/workbook.xlsx?weight=age%2Csex"`);
    expect(page.body).toContain(`href="${BASE}/responses.csv?weight=age%2Csex&amp;labels=yes"`);
    expect(page.body).toContain('the workbook also has a Weighting sheet');
  });
});
