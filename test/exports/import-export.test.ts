import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { buffer, text } from 'node:stream/consumers';
import ExcelJS from 'exceljs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_FILTERS } from '../../src/analysis/filters.ts';
import { buildReport } from '../../src/analysis/report.ts';
import { neutralise, tableCsv } from '../../src/exports/csv.ts';
import { importResponses } from '../../src/exports/import.ts';
import { responseRecordCsv } from '../../src/exports/job.ts';
import { writeWorkbook } from '../../src/exports/workbook.ts';
import { cspSurvey, makeApp, type TestApp } from '../helpers.ts';

const fixture = readFileSync(join(import.meta.dirname, '../fixtures/csp-2019-published.csv'));
const HEADER =
  'response_id,status,channel,started_at,submitted_at,area,concern_1,concern_1_top3,concern_1_victim,concern_1_reported,concern_2,concern_2_top3,concern_2_victim,concern_2_reported,concern_3,concern_3_top3,concern_3_victim,concern_3_reported,gender,age,ethnicity,disability,postcode';
const GOOD =
  'ok-1,complete,web,2019-02-18T10:00:00Z,2019-02-18T10:09:00Z,dartford,asb,drugs,no,,,,,,,,,,female,25_34,,,DA1 1';
const survey = cspSurvey();

let t: TestApp;
beforeEach(async () => {
  t = await makeApp();
});
afterEach(async () => {
  await t.close();
});

const count = async () => (await t.db.selectFrom('responses').select('id').execute()).length;
/** A row of the response record with some cells changed. */
function row(changes: Record<string, string>): string {
  const columns = HEADER.split(',');
  const cells = GOOD.split(',');
  for (const [column, value] of Object.entries(changes)) cells[columns.indexOf(column)] = value;
  return cells.join(',');
}

describe('import refuses a file with any bad row, storing nothing', () => {
  const cases: [string, string, RegExp][] = [
    ['an unknown code', row({ concern_1: 'burglary' }), /concern_1.*Select one of the options shown/],
    [
      'four ticks',
      row({ concern_1_top3: 'drugs;fly_tipping;noisy_rowdy;fire_arson' }),
      /concern_1_top3.*Select up to 3/,
    ],
    [
      'a follow-up for a category not chosen',
      row({ concern_1_top3: 'youth_violence' }),
      /concern_1_top3.*options shown/,
    ],
    ['a report without being a victim', row({ concern_1_reported: 'yes' }), /concern_1_reported.*not on the route/],
    [
      'a follow-up with no concern',
      row({ concern_1: '', concern_1_top3: 'drugs' }),
      /concern_1_top3.*not on the route/,
    ],
    ['a second concern equal to the first', row({ concern_2: 'asb' }), /concern_2.*options shown/],
    ['a bad postcode', row({ postcode: 'XX' }), /postcode.*real postcode/],
    ['an unknown status', row({ status: 'done' }), /status.*complete or partial/],
    ['an unknown channel', row({ channel: 'tiktok' }), /channel.*must be one of/],
    ['a bad date', row({ started_at: '18/02/2019' }), /started_at/],
    ['a complete response with no submitted_at', row({ submitted_at: '' }), /submitted_at/],
    ['a formula as a response_id', row({ response_id: '=cmd()' }), /response_id/],
  ];
  for (const [situation, line, message] of cases) {
    it(`for ${situation}`, async () => {
      const result = await importResponses(t.db, survey, [HEADER, GOOD.replace('ok-1', 'ok-0'), line].join('\n'));
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.problems.map((p) => `row ${p.row} ${p.column}: ${p.message}`).join('\n')).toMatch(message);
      expect(result.problems.every((p) => p.row === 3)).toBe(true);
      expect(await count()).toBe(0);
    });
  }

  it('lists every problem in every row', async () => {
    const file = [HEADER, row({ response_id: 'a', area: 'kent' }), row({ response_id: 'b', age: 'old', gender: 'x' })];
    const result = await importResponses(t.db, survey, file.join('\n'));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((p) => [p.row, p.column])).toEqual([
      [2, 'area'],
      [3, 'gender'],
      [3, 'age'],
    ]);
  });

  it('refuses repeated response_ids, missing or unknown columns, and malformed CSV', async () => {
    const twice = await importResponses(t.db, survey, [HEADER, GOOD, GOOD].join('\n'));
    expect(twice.ok || twice.problems[0]?.message).toBe('repeats the response_id of row 2');
    const missing = await importResponses(
      t.db,
      survey,
      [HEADER.replace(',postcode', ''), GOOD.replace(/,DA1 1$/, '')].join('\n'),
    );
    expect(missing.ok || missing.problems[0]).toEqual({
      row: 1,
      column: 'postcode',
      message: 'column is missing from the header',
    });
    const extra = await importResponses(t.db, survey, [`${HEADER},name`, `${GOOD},Jo Bloggs`].join('\n'));
    expect(extra.ok || extra.problems[0]?.column).toBe('name');
    const broken = await importResponses(t.db, survey, `${HEADER}\n"ok-1,complete`);
    expect(broken.ok || broken.problems[0]?.message).toMatch(/not valid CSV/);
    const short = await importResponses(t.db, survey, `${HEADER}\nok-1,complete`);
    expect(short.ok || short.problems[0]).toEqual({
      row: 2,
      column: '',
      message: 'has 2 cells but the header has 23 columns',
    });
    const empty = await importResponses(t.db, survey, '');
    expect(empty.ok).toBe(false);
    expect(await count()).toBe(0);
  });

  it('refuses a response_id that another survey already uses', async () => {
    const other = cspSurvey({ slug: 'csp-2020' });
    expect((await importResponses(t.db, other, [HEADER, GOOD].join('\n'))).ok).toBe(true);
    const result = await importResponses(t.db, survey, [HEADER, GOOD].join('\n'));
    expect(result.ok || result.problems[0]?.message).toBe('is already used by survey "csp-2020"');
    expect(await count()).toBe(1);
  });

  it('accepts a full postcode, cutting it to its sector, and ticks in any order', async () => {
    const line = row({ postcode: 'da1 1aa', concern_1_top3: 'fly_tipping;drugs' });
    expect(await importResponses(t.db, survey, [HEADER, line].join('\n'))).toEqual({
      ok: true,
      imported: 1,
      alreadyPresent: 0,
    });
    const csv = await text(responseRecordCsv(t.db, survey, DEFAULT_FILTERS));
    expect(csv).toContain(',drugs;fly_tipping,');
    expect(csv).toContain(',DA1 1\n');
    expect(csv).not.toContain('1AA');
  });
});

describe('import in chunks', () => {
  // Two rows a chunk: the file is checked and stored a piece at a time, in one transaction.
  const rows = (n: number) => Array.from({ length: n }, (_, i) => row({ response_id: `chunk-${i}` }));

  it('stores nothing when a bad row comes after chunks already stored', async () => {
    const file = [HEADER, ...rows(5), row({ response_id: 'late', area: 'kent' })].join('\n');
    const result = await importResponses(t.db, survey, file, 2);
    expect(result.ok || result.problems).toEqual([
      { row: 7, column: 'area', message: 'Select one of the options shown ("kent")' },
    ]);
    expect(await count()).toBe(0);
    expect(await t.db.selectFrom('report_totals').select('metric').execute()).toEqual([]);
  });

  it("stores nothing when a late row uses another survey's response_id, and stores it all otherwise", async () => {
    const other = cspSurvey({ slug: 'csp-2020' });
    expect((await importResponses(t.db, other, [HEADER, row({ response_id: 'chunk-4' })].join('\n'))).ok).toBe(true);
    const refused = await importResponses(t.db, survey, [HEADER, ...rows(6)].join('\n'), 2);
    expect(refused.ok || refused.problems).toEqual([
      { row: 6, column: 'response_id', message: 'is already used by survey "csp-2020"' },
    ]);
    expect(await count()).toBe(1);
    const file = [HEADER, ...rows(4), row({ response_id: 'chunk-9' })].join('\n');
    // From a stream, as the command line reads a file.
    expect(await importResponses(t.db, survey, () => Readable.from([file]), 2)).toEqual({
      ok: true,
      imported: 5,
      alreadyPresent: 0,
    });
    expect(await importResponses(t.db, survey, file, 2)).toEqual({ ok: true, imported: 0, alreadyPresent: 5 });
    expect((await buildReport(t.db, survey, { status: 'all' })).responses).toBe(5);
    // Not valid CSV at the end: that is the one problem reported, and nothing more is stored.
    const broken = await importResponses(t.db, survey, `${[HEADER, ...rows(8)].join('\n')}\n"x,complete`, 2);
    expect(broken.ok || broken.problems).toEqual([
      expect.objectContaining({ column: '', message: expect.stringMatching(/^the file is not valid CSV: /) }),
    ]);
    expect(await count()).toBe(6);
  });
});

describe('export', () => {
  it('round-trips: export then import into a fresh database gives the same report', async () => {
    expect((await importResponses(t.db, survey, fixture)).ok).toBe(true);
    const before = await buildReport(t.db, survey, DEFAULT_FILTERS);
    const bytes = await buffer(responseRecordCsv(t.db, survey, DEFAULT_FILTERS));
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const csv = bytes.toString('utf8');
    expect(csv.startsWith('\uFEFFresponse_id,status,')).toBe(true);
    expect(csv.trim().split('\n')).toHaveLength(421);
    const fresh = await makeApp();
    try {
      expect(await importResponses(fresh.db, survey, csv)).toEqual({ ok: true, imported: 420, alreadyPresent: 0 });
      expect(await buildReport(fresh.db, survey, DEFAULT_FILTERS)).toEqual(before);
      expect((await buffer(responseRecordCsv(fresh.db, survey, DEFAULT_FILTERS))).toString('utf8')).toBe(csv);
    } finally {
      await fresh.close();
    }
  });

  it('applies the filters to the responses CSV', async () => {
    await importResponses(t.db, survey, fixture);
    const csv = await text(responseRecordCsv(t.db, survey, { status: 'complete', area: 'dartford' }));
    const lines = csv.trim().split('\n').slice(1);
    expect(lines.length).toBeGreaterThan(50);
    expect(lines.every((l) => l.includes(',complete,') && l.includes(',dartford,'))).toBe(true);
  });

  it('neutralises cells that a spreadsheet would run as a formula', () => {
    for (const cell of ['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx']) expect(neutralise(cell)).toBe(`'${cell}`);
    for (const cell of ['DA1 1', 'asb', '2019-02-18T10:00:00Z', '']) expect(neutralise(cell)).toBe(cell);
    const csv = tableCsv({
      id: 't',
      title: 'A table',
      baseText: 'Of 1',
      columns: [
        { heading: '=HYPERLINK("http://evil","x")', kind: 'label' },
        { heading: 'B', kind: 'count' },
      ],
      rows: [{ cells: ['@cmd', -3] }],
    });
    expect(csv).toContain(`"'=HYPERLINK(""http://evil"",""x"")"`);
    // Text neutralised, numbers kept as numbers.
    expect(csv).toContain(`'@cmd,-3`);
    expect(csv.startsWith('\uFEFF')).toBe(true);
  });

  it('writes a workbook of responses with labels, the codebook and every table', async () => {
    await importResponses(t.db, survey, fixture);
    const report = await buildReport(t.db, survey, DEFAULT_FILTERS);
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    await writeWorkbook(t.db, survey, DEFAULT_FILTERS, report, out);
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(Buffer.concat(chunks) as unknown as ArrayBuffer);
    const names = book.worksheets.map((w) => w.name);
    expect(names.slice(0, 3)).toEqual(['Contents', 'Responses', 'Codebook']);
    expect(names).toContain('Most important issue');
    expect(names).toContain('Anti-social behaviour, rank 1');
    expect(names.every((n) => n.length <= 31)).toBe(true);
    const responses = book.getWorksheet('Responses')!;
    expect(responses.rowCount).toBe(421);
    expect(responses.getRow(1).getCell(7).value).toBe('concern_1');
    const labels = new Set<string>();
    responses.getColumn(7).eachCell((c, i) => {
      if (i > 1 && c.value) labels.add(String(c.value));
    });
    expect([...labels].sort()).toEqual([
      'Anti-social behaviour',
      'Property crime',
      'Substance misuse',
      'Town Centre safety',
      'Violence',
    ]);
    const headline = book.getWorksheet('Most important issue')!;
    expect(headline.getRow(2).getCell(1).value).toBe('Of 407 respondents to this question');
    expect(headline.getRow(4).values).toEqual([undefined, 'Anti-social behaviour', 163, 0.4]);
    expect(headline.getRow(4).getCell(3).numFmt).toBe('0.0%');
    let formulas = 0;
    for (const sheet of book.worksheets) sheet.eachRow((r) => r.eachCell((c) => (formulas += c.formula ? 1 : 0)));
    expect(formulas).toBe(0);
  });
});
