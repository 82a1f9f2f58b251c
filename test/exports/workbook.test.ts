import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_FILTERS } from '../../src/analysis/filters.ts';
import { buildReport } from '../../src/analysis/report.ts';
import { importResponses } from '../../src/exports/import.ts';
import { exportWeighting, type MetWeighting } from '../../src/exports/weights.ts';
import { londonSerials, SHEET_NAME_MAX, sheetNamer, writeWorkbook } from '../../src/exports/workbook.ts';
import { cspSurvey, makeApp, type TestApp } from '../helpers.ts';

// The workbook read back with exceljs, as an analyst's Excel reads it: the
// cells' types and formats, the views, the sheet names and the contents.

const survey = cspSurvey();
const fixture = readFileSync(join(import.meta.dirname, '../fixtures/csp-2019-published.csv'), 'utf8');
// Two responses of our own: one in British Summer Time (started 10:00 UTC, 11:00 in London), one in winter.
const ROW =
  ',complete,web,START,END,dartford,property,residential_burglary;shed_garage,no,,,,,,,,,,female,25_34,,,DA1 1';
const own = [
  `bst-1${ROW.replace('START', '2019-06-18T10:00:00Z').replace('END', '2019-06-18T10:09:30Z')}`,
  `gmt-1${ROW.replace('START', '2019-12-02T10:00:00Z').replace('END', '2019-12-02T10:09:30Z')}`,
];

let t: TestApp;
let plain: ExcelJS.Workbook;
let weighted: ExcelJS.Workbook;
let weighting: MetWeighting;

async function workbook(options: { weighting?: MetWeighting } = {}): Promise<ExcelJS.Workbook> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await writeWorkbook(t.db, survey, DEFAULT_FILTERS, await buildReport(t.db, survey, DEFAULT_FILTERS), out, options);
  const book = new ExcelJS.Workbook();
  await book.xlsx.load(Buffer.concat(chunks) as unknown as ArrayBuffer);
  return book;
}

/** A sheet's header row as text, from column 1. */
const headerOf = (sheet: ExcelJS.Worksheet) => (sheet.getRow(1).values as unknown[]).slice(1).map(String);

/** The responses sheet's row for a response id, as cells by header. */
function responseRow(sheet: ExcelJS.Worksheet, id: string): Map<string, ExcelJS.CellValue> {
  const headers = headerOf(sheet);
  let found: Map<string, ExcelJS.CellValue> | undefined;
  sheet.eachRow((row, n) => {
    if (n > 1 && row.getCell(1).value === id)
      found = new Map(headers.map((h, i) => [h, row.getCell(i + 1).value] as [string, ExcelJS.CellValue]));
  });
  if (!found) throw new Error(`no row for ${id}`);
  return found;
}

beforeAll(async () => {
  t = await makeApp();
  expect((await importResponses(t.db, survey, `${fixture.trim()}\n${own.join('\n')}\n`)).ok).toBe(true);
  plain = await workbook();
  weighting = await exportWeighting(t.db, survey, DEFAULT_FILTERS, {
    variables: ['age', 'sex'],
    cap: null,
    merges: [],
  });
  weighted = await workbook({ weighting });
}, 60_000);
afterAll(async () => {
  await t?.close();
});

describe('the workbook', () => {
  it('has readable sheet names, unique whatever the case and no longer than 31 characters', () => {
    const names = plain.worksheets.map((w) => w.name);
    expect(names.slice(0, 3)).toEqual(['Contents', 'Responses', 'Codebook']);
    expect(names.length).toBeGreaterThan(30);
    expect(new Set(names.map((n) => n.toLowerCase())).size).toBe(names.length);
    for (const name of names) {
      expect(name.length, name).toBeLessThanOrEqual(31);
      // Words, not ids: no "concern_1_top3-asb", no "responses~2".
      expect(name, name).not.toMatch(/[_~[\]:*?/\\]/);
    }
    expect(names).toContain('Anti-social behaviour, any rank');
    expect(names).toContain('Responses by status');
  });

  it('lists and links every other sheet on the contents sheet', () => {
    const contents = plain.getWorksheet('Contents') as ExcelJS.Worksheet;
    const links = new Map<string, string>();
    contents.eachRow((row) => {
      const cell = row.getCell(1).value;
      if (cell && typeof cell === 'object' && 'hyperlink' in cell) links.set(String(cell.text), String(cell.hyperlink));
    });
    const others = plain.worksheets.map((w) => w.name).filter((n) => n !== 'Contents');
    expect([...links.keys()]).toEqual(others);
    for (const [name, link] of links) expect(link).toBe(`#'${name}'!A1`);
    expect(contents.getRow(2).values).toEqual([
      undefined,
      'Responses',
      'complete and partial responses, all areas, all channels',
    ]);
    expect(contents.getRow(3).getCell(2).value).toBe('Not weighted.');
  });

  it('keeps every data sheet’s header rows in view and puts an autofilter on them', () => {
    for (const sheet of plain.worksheets) {
      const [view] = sheet.views as ExcelJS.WorksheetViewFrozen[];
      expect(view?.state, sheet.name).toBe('frozen');
      expect(view?.ySplit, sheet.name).toBeGreaterThan(0);
      if (sheet.name === 'Contents') continue;
      expect(sheet.autoFilter, sheet.name).toBeTruthy();
    }
    const responses = plain.getWorksheet('Responses') as ExcelJS.Worksheet;
    expect(responses.views[0]).toMatchObject({ state: 'frozen', ySplit: 1, xSplit: 1 });
    expect(responses.autoFilter).toMatch(new RegExp(`^A1:[A-Z]+${responses.rowCount}$`));
    const table = plain.getWorksheet('Most important issue') as ExcelJS.Worksheet;
    expect(table.views[0]).toMatchObject({ state: 'frozen', ySplit: 3 });
    expect(table.autoFilter).toBe(`A3:C${table.rowCount}`);
  });

  it('writes counts as numbers and percentages as fractions in a percentage format', () => {
    const table = plain.getWorksheet('Most important issue') as ExcelJS.Worksheet;
    expect(table.getRow(3).values).toEqual([undefined, 'Answer', 'Count', '%']);
    let total = 0;
    for (let n = 4; n <= table.rowCount; n++) {
      const row = table.getRow(n);
      expect(row.getCell(2).type).toBe(ExcelJS.ValueType.Number);
      expect(row.getCell(3).type).toBe(ExcelJS.ValueType.Number);
      expect(row.getCell(3).numFmt).toBe('0.0%');
      total += row.getCell(2).value as number;
    }
    // 163 of the 408 who answered (407 in the published file and our two), worked by hand: 39.95% shown as 40.0%.
    const asb = table.getRow(4);
    expect(asb.getCell(1).value).toBe('Anti-social behaviour');
    expect(asb.getCell(2).value).toBe(163);
    expect(asb.getCell(3).value as number).toBeCloseTo(163 / total, 3);
  });

  it('writes dates as Excel dates on London’s clock, in summer time too', () => {
    const responses = plain.getWorksheet('Responses') as ExcelJS.Worksheet;
    const summer = responseRow(responses, 'bst-1');
    // exceljs reads a date cell's wall-clock time as if it were UTC.
    expect(summer.get('started_at')).toEqual(new Date('2019-06-18T11:00:00Z'));
    expect(summer.get('submitted_at')).toEqual(new Date('2019-06-18T11:09:30Z'));
    const winter = responseRow(responses, 'gmt-1');
    expect(winter.get('started_at')).toEqual(new Date('2019-12-02T10:00:00Z'));
    const headers = headerOf(responses);
    const cell = responses.getRow(2).getCell(headers.indexOf('started_at') + 1);
    expect(cell.type).toBe(ExcelJS.ValueType.Date);
    expect(cell.numFmt).toBe('yyyy-mm-dd hh:mm:ss');
  });

  it('gives each multi-choice option a 0/1 column beside the packed answer, agreeing with it on every row', () => {
    const responses = plain.getWorksheet('Responses') as ExcelJS.Worksheet;
    const headers = headerOf(responses);
    const packed = headers.indexOf('concern_1_top3');
    expect(headers[packed + 1]).toBe('concern_1_top3__youth_violence');
    const mine = responseRow(responses, 'bst-1');
    expect(mine.get('concern_1_top3')).toBe('Residential burglary; Shed/garage break-ins');
    expect(mine.get('concern_1_top3__residential_burglary')).toBe(1);
    expect(mine.get('concern_1_top3__shed_garage')).toBe(1);
    // Offered on the property page and not ticked: 0; not offered there: empty.
    expect(mine.get('concern_1_top3__shoplifting')).toBe(0);
    expect(mine.get('concern_1_top3__youth_violence')).toBeNull();
    const flags = headers.flatMap((h, i) => (h.startsWith('concern_1_top3__') ? [i + 1] : []));
    let rows = 0;
    responses.eachRow((row, n) => {
      if (n === 1) return;
      const labels = row.getCell(packed + 1).value;
      const ticked = flags.reduce((sum, c) => sum + ((row.getCell(c).value as number | null) ?? 0), 0);
      expect(ticked, String(row.getCell(1).value)).toBe(labels ? String(labels).split('; ').length : 0);
      rows++;
    });
    expect(rows).toBe(422);
  });

  it('converts to London time at the clock changes, worked by hand', () => {
    const serial = londonSerials();
    // 25569 is 1 January 1970 in Excel's days; the clocks went forward at 01:00 UTC on 31 March 2019 and back at 01:00 UTC on 27 October.
    const day = (iso: string) => Date.parse(iso) / 86_400_000 + 25_569;
    expect(serial('2019-03-31T00:59:00Z')).toBeCloseTo(day('2019-03-31T00:59:00Z'), 9);
    expect(serial('2019-03-31T01:00:00Z')).toBeCloseTo(day('2019-03-31T02:00:00Z'), 9);
    expect(serial('2019-10-27T00:59:00Z')).toBeCloseTo(day('2019-10-27T01:59:00Z'), 9);
    expect(serial('2019-10-27T01:00:00Z')).toBeCloseTo(day('2019-10-27T01:00:00Z'), 9);
    expect(serial('not a date')).toBeNull();
  });
});

describe('sheet names', () => {
  it('are cut at a word, cleaned of what Excel refuses, and numbered when taken', () => {
    const name = sheetNamer();
    expect(name('Contents')).toBe('Contents');
    expect(name('contents')).toBe('contents (2)');
    expect(name('What: residents/visitors [all]?')).toBe('What residents visitors all');
    const long = name('Anti-social behaviour as the most important issue');
    expect(long.length).toBeLessThanOrEqual(SHEET_NAME_MAX);
    expect(long).toBe('Anti-social behaviour as the…');
    const again = name('Anti-social behaviour as the most important issue');
    expect(again.length).toBeLessThanOrEqual(SHEET_NAME_MAX);
    expect(again).toMatch(/ \(2\)$/);
    expect(name('History')).toBe('History table');
    expect(name("'quoted'")).toBe('quoted');
    expect(name('')).toBe('Sheet');
  });
});

describe('the weighted workbook', () => {
  it('adds the weight as the responses’ last column and says so on the contents sheet', () => {
    const responses = weighted.getWorksheet('Responses') as ExcelJS.Worksheet;
    const headers = headerOf(responses);
    expect(headers.at(-1)).toBe('weight');
    let total = 0;
    let left = 0;
    responses.eachRow((row, n) => {
      if (n === 1) return;
      const w = row.getCell(headers.length).value;
      if (w === null) left++;
      else total += w as number;
    });
    const result = weighting.result as Extract<MetWeighting['result'], { ok: true }>;
    // The weights add up to the number weighted; those left out have none.
    expect(total).toBeCloseTo(result.overall.respondents, 6);
    expect(left).toBe(result.excluded.total);
    expect(left + result.overall.respondents).toBe(422);
    const contents = weighted.getWorksheet('Contents') as ExcelJS.Worksheet;
    expect(String(contents.getRow(3).getCell(2).value)).toContain('Weighted on Age, Sex');
    const codebook = weighted.getWorksheet('Codebook') as ExcelJS.Worksheet;
    expect(codebook.getRow(codebook.rowCount).getCell(1).value).toBe('weight');
  });

  it('has a Weighting sheet with the variables, the figures’ source, the cap, merges, design effect and effective sample size', () => {
    const names = weighted.worksheets.map((w) => w.name);
    expect(names.slice(0, 4)).toEqual(['Contents', 'Responses', 'Codebook', 'Weighting']);
    const sheet = weighted.getWorksheet('Weighting') as ExcelJS.Worksheet;
    const rows = new Map<string, ExcelJS.CellValue[]>();
    sheet.eachRow((row) => {
      const values = (row.values as ExcelJS.CellValue[]).slice(1);
      rows.set(String(values[0]), values.slice(1));
    });
    expect(rows.get('Figure')).toEqual(['All districts', 'Dartford', 'Gravesham']);
    expect(rows.get('Weighted on')).toEqual(['Age, Sex']);
    expect(rows.get('Cap on the weights')).toEqual(['none']);
    expect(rows.get('Categories merged')).toEqual(['none']);
    expect(rows.get('Population figures')).toEqual(['those that came with the survey']);
    const result = weighting.result as Extract<MetWeighting['result'], { ok: true }>;
    expect(rows.get('Design effect')?.[0]).toBe(result.overall.designEffect);
    expect(rows.get('Effective sample size')?.[0]).toBe(result.overall.effectiveSampleSize);
    // Kish: the effective sample size is the number weighted over the design effect.
    expect(result.overall.effectiveSampleSize).toBeCloseTo(result.overall.respondents / result.overall.designEffect, 6);
    expect(rows.get('Design effect')?.[0]).toBeGreaterThan(1);
    expect([...rows.keys()].some((k) => k.startsWith('Counts are of usual residents'))).toBe(true);
  });
});
