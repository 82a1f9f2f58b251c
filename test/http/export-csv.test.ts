import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { parse } from 'csv-parse/sync';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_FILTERS } from '../../src/analysis/filters.ts';
import { parseDatabaseUrl } from '../../src/db/url.ts';
import { CHUNK_BYTES, recordCsv } from '../../src/exports/csv.ts';
import { responseRecordCsv } from '../../src/exports/job.ts';
import { EXPORT_NICENESS, exportThreads, runningExports, startExport } from '../../src/exports/pool.ts';
import { responseBatches } from '../../src/exports/read.ts';
import { type ExportRow, recordColumns } from '../../src/exports/record.ts';
import { cspSurvey, makeApp, TEST_ENGINE, type TestApp } from '../helpers.ts';

const survey = cspSurvey();

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

async function addRows(rows: ExportRow[]) {
  const stored = rows.map((r) => ({
    ...r,
    survey: survey.slug,
    draft_token_hash: r.id,
    updated_at: r.started_at,
    flag: null,
  }));
  for (let i = 0; i < stored.length; i += 50)
    await t.db
      .insertInto('responses')
      .values(stored.slice(i, i + 50))
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
    for await (const chunk of recordCsv(survey, responseBatches(t.db, survey, DEFAULT_FILTERS, 7))) chunks.push(chunk);
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
