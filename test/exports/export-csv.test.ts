import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_FILTERS, type Filters } from '../../src/analysis/filters.ts';
import { connect } from '../../src/db/open.ts';
import type { Database } from '../../src/db/schema.ts';
import { parseDatabaseUrl } from '../../src/db/url.ts';
import { CHUNK_BYTES, type RecordWriter, recordCsv } from '../../src/exports/csv.ts';
import { byteRecordCsv } from '../../src/exports/csv-bytes.ts';
import { importResponses } from '../../src/exports/import.ts';
import { responseRecordCsv } from '../../src/exports/job.ts';
import { EXPORT_NICENESS, exportThreads, runningExports, startExport } from '../../src/exports/pool.ts';
import { type RowBatch, readerThreads, responseBatches } from '../../src/exports/read.ts';
import { type ExportRow, recordColumns } from '../../src/exports/record.ts';
import { cspSurvey, makeApp, TEST_ENGINE, type TestApp } from '../helpers.ts';

const survey = cspSurvey();
const fixture = readFileSync(join(import.meta.dirname, '../fixtures/csp-2019-published.csv'));

let t: TestApp;
beforeEach(async () => {
  t = await makeApp();
});
afterEach(async () => {
  await t.close();
});

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

/** Stores rows as responses of the survey, in batches of `batch`. */
async function addRows(rows: ExportRow[], into: Kysely<Database> = t.db, batch = 50) {
  const stored = rows.map((r) => ({
    ...r,
    survey: survey.slug,
    draft_token_hash: r.id,
    updated_at: r.started_at,
    flag: null,
  }));
  for (let i = 0; i < stored.length; i += batch)
    await into
      .insertInto('responses')
      .values(stored.slice(i, i + batch))
      .execute();
}

/** The export's records, by response_id, each as column -> cell. */
async function exported(): Promise<Map<string, Record<string, string>>> {
  const csv = await buffer(responseRecordCsv(t.db, survey, DEFAULT_FILTERS));
  expect(csv.toString('utf8').split('\n')[0]).toBe(`\uFEFF${recordColumns(survey).join(',')}`);
  const records = parse(csv, { bom: true, columns: true }) as Record<string, string>[];
  return new Map(records.map((r) => [r.response_id as string, r]));
}

describe('the response record as CSV', () => {
  it("writes each response's route as codes, quoted where needed, formulas neutralised", async () => {
    await addRows([
      row(0, '{"area":{"area":"dartford"},"postcode":{"postcode":"a,b"}}'),
      row(1, '{"postcode":{"postcode":"=1+1"},"about-you":{"gender":"-x","age":"@y","ethnicity":"+z"}}'),
      row(2, '{"postcode":{"postcode":"two\\nlines"},"about-you":{"gender":"cr\\rhere","age":"say \\"hi\\""}}'),
      row(3, '{"concern-1-violence":{"concern_1_top3":["robbery","domestic_abuse"]}}'),
      // A later page wins; names that are not questions are left out.
      row(4, '{"area":{"area":"dartford"},"again":{"area":"gravesham"},"x":{"response_id":"sneaky","n":"5"}}'),
      // A draft keeps only its route: About you comes after questions it has not answered.
      row(5, '{"area":{"area":"dartford"},"about-you":{"gender":"male"}}', 'partial'),
      row(6, '{"area":{"area":"dartford"},"about-you":{"gender":"male"}}'),
      { ...row(7, '{}'), channel: '=cmd', submitted_at: null, status: 'partial' },
    ]);
    const records = await exported();
    expect(records.size).toBe(8);
    expect(records.get('r-0000')).toMatchObject({ status: 'complete', area: 'dartford', postcode: 'a,b', gender: '' });
    expect(records.get('r-0001')).toMatchObject({ postcode: "'=1+1", gender: "'-x", age: "'@y", ethnicity: "'+z" });
    expect(records.get('r-0002')).toMatchObject({ postcode: 'two\nlines', gender: 'cr\rhere', age: 'say "hi"' });
    expect(records.get('r-0003')?.concern_1_top3).toBe('robbery;domestic_abuse');
    expect(records.get('r-0004')).toMatchObject({ response_id: 'r-0004', area: 'gravesham' });
    expect(records.get('r-0005')).toMatchObject({ status: 'partial', area: 'dartford', gender: '', submitted_at: '' });
    expect(records.get('r-0006')?.gender).toBe('male');
    expect(records.get('r-0007')).toMatchObject({ channel: "'=cmd", area: '' });
  });

  it('comes in chunks of at most CHUNK_BYTES, a response larger than a chunk too, in date order', async () => {
    await addRows([
      row(2, '{"area":{"area":"dartford"}}'),
      row(1, JSON.stringify({ postcode: { postcode: 'X'.repeat(3 * CHUNK_BYTES) } })),
      ...Array.from({ length: 30 }, (_, i) => row(10 + i, '{"area":{"area":"gravesham"}}')),
    ]);
    const chunks: Buffer[] = [];
    for await (const chunk of recordCsv(survey, responseBatches(t.db, survey, DEFAULT_FILTERS, { size: 7 })))
      chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks.every((c) => c.length <= CHUNK_BYTES)).toBe(true);
    const records = parse(Buffer.concat(chunks), { bom: true, columns: true }) as Record<string, string>[];
    expect(records.map((r) => r.response_id)).toEqual([
      'r-0001',
      'r-0002',
      ...Array.from({ length: 30 }, (_, i) => `r-00${10 + i}`),
    ]);
    expect(records[0]?.postcode).toBe('X'.repeat(3 * CHUNK_BYTES));
  });
});

/** Everything a writer gives for these batches, as one buffer. */
async function written(writer: RecordWriter, batches: RowBatch[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of writer(
    survey,
    (async function* () {
      yield* batches;
    })(),
  ))
    chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Responses that take every path of the byte writer: plain stored answers and everything else. */
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

const oddRows = () => ODD_ANSWERS.flatMap((answers, i) => [row(2 * i, answers), row(2 * i + 1, answers, 'partial')]);

describe('the hand-tuned writer', () => {
  it('gives the same bytes as csv-stringify for every path: plain stored answers read from their bytes, and the rest', async () => {
    const rows = oddRows();
    // Heads that need quotes or neutralising.
    rows.push({ ...row(900, '{}'), id: 'a,"b"', channel: '=cmd', submitted_at: '' });
    rows.push({ ...row(901, '{"area":{"area":"dartford"}}'), id: '-1', channel: 'new\nline', started_at: 'é' });
    const plain = await written(recordCsv, [rows.slice(0, 10), rows.slice(10)]);
    expect(plain.toString().split('\n').length).toBeGreaterThan(rows.length);
    expect((await written(byteRecordCsv, [rows.slice(0, 10), rows.slice(10)])).toString()).toBe(plain.toString());
    expect((await written(byteRecordCsv, [])).toString()).toBe((await written(recordCsv, [])).toString());
  });

  it('agrees with csv-stringify on any stored answers', async () => {
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
    await fc.assert(
      fc.asyncProperty(fc.array(answers, { minLength: 1, maxLength: 6 }), fc.boolean(), async (all, spaced) => {
        const rows = all.map((a, i) => row(i, spaced ? JSON.stringify(a, null, 1) : JSON.stringify(a)));
        expect((await written(byteRecordCsv, [rows])).toString()).toBe((await written(recordCsv, [rows])).toString());
      }),
      { numRuns: 300 },
    );
  });
});

/** Stored answers that make an export of about 30 MB: far more than a worker may send ahead. */
async function addLargeResponses() {
  await addRows(
    Array.from({ length: 300 }, (_, i) => row(i, JSON.stringify({ postcode: { postcode: 'Y'.repeat(100_000) } }))),
  );
}

const inWorker = () =>
  startExport({
    db: t.db,
    database: parseDatabaseUrl(t.databaseUrl),
    survey,
    job: { kind: 'csv', filters: { status: 'all' } },
  });

describe('an export in a worker thread', () => {
  it('runs only a few chunks ahead of a download that is not read', async () => {
    await addLargeResponses();
    const stream = await inWorker();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(runningExports()).toBe(1);
    // The window of chunks sent and not yet taken, and no more.
    expect(stream.readableLength).toBeGreaterThan(0);
    expect(stream.readableLength).toBeLessThanOrEqual(16 * CHUNK_BYTES);
    stream.destroy();
    await vi.waitFor(() => expect(exportThreads()).toBe(0));
    expect(runningExports()).toBe(0);
  });

  it.runIf(process.platform === 'linux')('runs at a lower priority than the thread that asked for it', async () => {
    await addLargeResponses();
    /** The nice value of each of this process's threads, by thread id. */
    const niceness = () =>
      new Map(
        readdirSync('/proc/self/task').map((tid) => {
          const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
          return [Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])];
        }),
      );
    // A thread stopped by the test before may take a moment to exit.
    await vi.waitFor(() => expect([...niceness().values()]).not.toContain(EXPORT_NICENESS));
    const stream = await inWorker();
    expect([...niceness().values()]).toContain(EXPORT_NICENESS);
    // The thread that asked (the request thread, in the server) keeps its priority.
    expect(niceness().get(process.pid)).toBe(0);
    stream.destroy();
    await vi.waitFor(() => expect(exportThreads()).toBe(0));
  });

  it('fails before sending anything when its database cannot be opened, with the error code kept', async () => {
    const database = parseDatabaseUrl(
      TEST_ENGINE === 'postgres' ? 'postgres://nobody@127.0.0.1:1/nowhere' : join(t.dir, 'gone.sqlite'),
    );
    await expect(
      startExport({ db: t.db, database, survey, job: { kind: 'csv', filters: DEFAULT_FILTERS } }),
    ).rejects.toMatchObject({ code: TEST_ENGINE === 'postgres' ? 'ECONNREFUSED' : 'SQLITE_CANTOPEN' });
    expect(runningExports()).toBe(0);
  });
});

describe('the CSV of an SQLite file, its rows read by a thread of their own', () => {
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

  const addFileRows = (rows: ExportRow[]) => addRows(rows, db, 20);

  it('gives the same bytes as the rows read here, with either writer, a response larger than a batch too', async () => {
    expect((await importResponses(db, survey, fixture)).ok).toBe(true);
    const odd = oddRows();
    // Three of the reader's batches' worth of one answer, and a row after it.
    odd.push(row(998, JSON.stringify({ postcode: { postcode: 'X'.repeat(3_000_000) } })));
    odd.push(row(999, '{"area":{"area":"dartford"}}'));
    await addFileRows(odd);
    const sqlite = { file: path, cacheKib: 1000 };
    for (const filters of [
      DEFAULT_FILTERS,
      { status: 'complete', area: 'dartford' },
      { status: 'partial' },
      { status: 'all', channel: 'web', from: '2019-02-18', to: '2019-02-18' },
    ] as Filters[]) {
      const here = await buffer(responseRecordCsv(db, survey, filters));
      expect(here.toString('utf8').split('\n')[0]).toBe(`\uFEFF${recordColumns(survey).join(',')}`);
      const there = await buffer(responseRecordCsv(db, survey, filters, sqlite));
      expect(there.length).toBe(here.length);
      expect(there.equals(here)).toBe(true);
      const plain: Buffer[] = [];
      for await (const chunk of recordCsv(survey, responseBatches(db, survey, filters, { sqlite }))) plain.push(chunk);
      expect(Buffer.concat(plain).equals(here)).toBe(true);
    }
    await vi.waitFor(() => expect(readerThreads()).toBe(0));
  });

  it('stops its reader when the export is abandoned part-way', async () => {
    await addFileRows(
      Array.from({ length: 400 }, (_, i) => row(i, JSON.stringify({ postcode: { postcode: 'Y'.repeat(20_000) } }))),
    );
    const chunks = byteRecordCsv(
      survey,
      responseBatches(db, survey, DEFAULT_FILTERS, { sqlite: { file: path, cacheKib: 1000 } }),
    );
    expect((await chunks.next()).done).toBe(false);
    expect(readerThreads()).toBe(1);
    await chunks.return(undefined);
    await vi.waitFor(() => expect(readerThreads()).toBe(0));
  });

  it("fails with the reader's error, its code kept", async () => {
    const batches = responseBatches(db, survey, DEFAULT_FILTERS, {
      sqlite: { file: join(dir, 'gone.sqlite'), cacheKib: 1000 },
    });
    await expect(batches.next()).rejects.toMatchObject({ code: 'SQLITE_CANTOPEN' });
    await vi.waitFor(() => expect(readerThreads()).toBe(0));
  });
});
