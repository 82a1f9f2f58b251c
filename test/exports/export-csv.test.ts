import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import fc from 'fast-check';
import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_FILTERS, type Filters } from '../../src/analysis/filters.ts';
import { connect } from '../../src/db/open.ts';
import type { Database } from '../../src/db/schema.ts';
import { importResponses } from '../../src/exports/import.ts';
import {
  csvLine,
  csvRecordBytes,
  type ExportRow,
  readerThreads,
  recordCells,
  recordColumns,
  responseRecordChunks,
  responseRecordCsv,
} from '../../src/exports/response-record.ts';
import { cspSurvey } from '../helpers.ts';

const survey = cspSurvey();
const root = join(import.meta.dirname, '../..');
const fixture = readFileSync(join(root, 'test/fixtures/csp-2019-published.csv'));

/** What the CSV writer must give for these rows: each record as csvLine(recordCells(…)). */
const expected = (rows: ExportRow[]) => Buffer.from(rows.map((row) => csvLine(recordCells(survey, row))).join(''));

/** Responses that take every path of the CSV writer: plain stored answers and everything else. */
const ODD_ANSWERS = [
  '{}',
  '{"area":{}}',
  '{"area":{"area":"dartford"},"postcode":{"postcode":"a,b"}}',
  '{"postcode":{"postcode":"=1+1"},"about-you":{"gender":"-x","age":"@y","ethnicity":"+z"}}',
  '{"postcode":{"postcode":"two\\nlines"},"about-you":{"gender":"cr\\rhere"}}',
  '{"postcode":{"postcode":"\\t tab"}}',
  '{"postcode":{"postcode":"é ü ☃ 😀"},"area":{"area":"gravesham"}}',
  '{"concern-1-violence":{"concern_1_top3":["robbery","domestic_abuse","robbery"]}}',
  '{"concern-1-violence":{"concern_1_top3":[]}}',
  '{"concern-1-violence":{"concern_1_top3":[""]}}',
  '{"concern-1-violence":{"concern_1_top3":["","x"]}}',
  '{"concern-1-violence":{"concern_1_top3":["a]b","c,d","=e"]}}',
  '{"concern-1-violence":{"concern_1_top3":["=e","f"]}}',
  // A later page wins; answers in another order than the columns'; names that are not questions.
  '{"postcode":{"postcode":"x"},"area":{"area":"dartford"},"again":{"area":"gravesham"}}',
  '{"about-you":{"age":"25_34","gender":"male"},"concern-1":{"concern_1":"asb"}}',
  '{"x":{"response_id":"sneaky","status":"sneaky","area_":"no","are":"no"},"area":{"area":"dartford"}}',
  // Not as JSON.stringify writes it: parsed instead.
  '{"area":{"area":"dartford"} }',
  '{ "area":{"area":"dartford"}}',
  '{"area":{"area":"dart\\u0066ord"}}',
  '{"are\\u0061":{"are\\u0061":"dartford"}}',
  '{"area":{"area":"quote \\" inside"}}',
  '{"other":{"n":5},"area":{"area":"dartford"}}',
  '{"area":["x"]}',
  '[]',
  'null',
];

function row(i: number, answers: string, status: ExportRow['status'] = 'complete'): ExportRow {
  return {
    id: `r-${String(i).padStart(4, '0')}`,
    status,
    channel: 'web',
    started_at: `2019-02-18T10:${String(i % 60).padStart(2, '0')}:00Z`,
    submitted_at: status === 'complete' ? '2019-02-18T11:00:00Z' : null,
    answers,
  };
}

describe('the CSV writer', () => {
  it('writes every record as csvLine(recordCells(…)) does, plain stored answers read from their bytes', () => {
    const rows = ODD_ANSWERS.flatMap((answers, i) => [row(2 * i, answers), row(2 * i + 1, answers, 'partial')]);
    // Heads that need quotes or neutralising.
    rows.push({ ...row(900, '{}'), id: 'a,"b"', channel: '=cmd', submitted_at: '' });
    rows.push({ ...row(901, '{"area":{"area":"dartford"}}'), id: '-1', channel: 'new\nline', started_at: 'é' });
    expect(csvRecordBytes(survey, rows).toString()).toBe(expected(rows).toString());
  });

  it('agrees with recordCells on any stored answers', () => {
    const questions = [...survey.questionIds, 'response_id', 'submitted_at', 'unknown'];
    const text = fc.oneof(
      fc.constantFrom('dartford', 'asb', 'robbery', 'DA1 1', '', '=1', '+', '-2', '@x', 'a,b', 'q"q', 'é', '😀'),
      fc.string({ unit: fc.constantFrom('a', ',', '"', '\n', '\r', '\t', '\\', '=', ']', '}', 'é', ' ') }),
    );
    const value = fc.oneof(text, fc.array(text, { maxLength: 4 }));
    const page = fc.dictionary(fc.constantFrom(...questions), value, { maxKeys: 4 });
    const answers = fc.dictionary(fc.constantFrom('area', 'concern-1', 'about-you', 'postcode', 'p'), page, {
      maxKeys: 5,
    });
    fc.assert(
      fc.property(fc.array(answers, { minLength: 1, maxLength: 6 }), fc.boolean(), (all, spaced) => {
        const rows = all.map((a, i) => row(i, spaced ? JSON.stringify(a, null, 1) : JSON.stringify(a)));
        expect(csvRecordBytes(survey, rows).toString()).toBe(expected(rows).toString());
      }),
      { numRuns: 300 },
    );
  });
});

describe('the CSV of an SQLite file read in a thread of its own', () => {
  let dir: string;
  let db: Kysely<Database>;
  let path: string;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'soundings-export-'));
    path = join(dir, 'test.sqlite');
    db = await connect(path);
  });
  afterEach(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  async function addRows(rows: ExportRow[]) {
    const stored = rows.map((r, i) => ({
      ...r,
      survey: survey.slug,
      draft_token_hash: `hash-${i}`,
      updated_at: r.started_at,
      flag: null,
    }));
    for (let i = 0; i < stored.length; i += 20)
      await db
        .insertInto('responses')
        .values(stored.slice(i, i + 20))
        .execute();
  }

  const csv = async (filters: Filters, sqlitePath?: string) =>
    buffer(responseRecordCsv(db, survey, filters, sqlitePath ? { sqlitePath, cacheKib: 1000 } : {}));

  it('gives the same bytes as the rows read here, a response larger than a batch too', async () => {
    expect((await importResponses(db, survey, fixture)).ok).toBe(true);
    const odd = ODD_ANSWERS.flatMap((answers, i) => [row(2 * i, answers), row(2 * i + 1, answers, 'partial')]);
    // Three batches' worth of one answer, and a row after it.
    odd.push(row(998, JSON.stringify({ postcode: { postcode: 'X'.repeat(3_000_000) } })));
    odd.push(row(999, '{"area":{"area":"dartford"}}'));
    await addRows(odd);
    for (const filters of [
      DEFAULT_FILTERS,
      { status: 'complete', area: 'dartford' },
      { status: 'partial' },
      { status: 'all', channel: 'web', from: '2019-02-18', to: '2019-02-18' },
    ] as Filters[]) {
      const here = await csv(filters);
      expect(here.toString('utf8').split('\n')[0]).toBe(`\uFEFF${recordColumns(survey).join(',')}`);
      const there = await csv(filters, path);
      expect(there.length).toBe(here.length);
      expect(there.equals(here)).toBe(true);
    }
    await vi.waitFor(() => expect(readerThreads()).toBe(0));
  });

  it('stops its reader when the export is abandoned part-way', async () => {
    await addRows(
      Array.from({ length: 400 }, (_, i) => row(i, JSON.stringify({ postcode: { postcode: 'Y'.repeat(20_000) } }))),
    );
    const chunks = responseRecordChunks(db, survey, DEFAULT_FILTERS, { sqlitePath: path });
    expect((await chunks.next()).done).toBe(false);
    expect(readerThreads()).toBe(1);
    await chunks.return(undefined);
    await vi.waitFor(() => expect(readerThreads()).toBe(0));
  });

  it("fails with the reader's error, its code kept", async () => {
    const chunks = responseRecordChunks(db, survey, DEFAULT_FILTERS, { sqlitePath: join(dir, 'gone.sqlite') });
    await expect(chunks.next()).rejects.toMatchObject({ code: 'SQLITE_CANTOPEN' });
    await vi.waitFor(() => expect(readerThreads()).toBe(0));
  });
});
