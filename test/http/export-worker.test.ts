import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import ExcelJS from 'exceljs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_FILTERS, type Filters } from '../../src/analysis/filters.ts';
import { buildReport } from '../../src/analysis/report.ts';
import { parseDatabaseUrl } from '../../src/db/url.ts';
import { csvLines } from '../../src/exports/csv.ts';
import { importResponses } from '../../src/exports/import.ts';
import { responseRecordCsv } from '../../src/exports/job.ts';
import {
  ExportsBusy,
  exportThreads,
  MAX_RUNNING_EXPORTS,
  runningExports,
  startExport,
} from '../../src/exports/pool.ts';
import { recordColumns } from '../../src/exports/record.ts';
import { writeWorkbook } from '../../src/exports/workbook.ts';
import { AdminAgent, createAccount, cspSurvey, makeAdminApp, TEST_ENGINE, type TestApp } from '../helpers.ts';

const root = join(import.meta.dirname, '../..');
const fixture = readFileSync(join(root, 'test/fixtures/csp-2019-published.csv'));
const survey = cspSurvey();
const PASSWORD = 'a long enough passphrase';
const BASE = '/admin/surveys/csp-2019';

let t: TestApp;
beforeEach(async () => {
  t = await makeAdminApp();
});
afterEach(async () => {
  await t.close();
});

const inWorker = (kind: 'csv' | 'xlsx', filters: Filters = DEFAULT_FILTERS) =>
  startExport({ db: t.db, database: parseDatabaseUrl(t.databaseUrl), survey, job: { kind, filters } });

/** Every sheet's cell values, to compare workbooks whose bytes differ only in their creation time. */
async function sheets(bytes: Buffer) {
  const book = new ExcelJS.Workbook();
  await book.xlsx.load(bytes as unknown as ArrayBuffer);
  return book.worksheets.map((sheet) => {
    const rows: unknown[] = [];
    sheet.eachRow((row) => rows.push(row.values));
    return { name: sheet.name, rows };
  });
}

/**
 * Responses that make a CSV of about 30 MB, far more than the socket, the
 * stream and the worker's few chunks ahead can hold: a download that is not
 * read stays part-way, its worker waiting.
 */
async function addLargeResponses(count = 300) {
  const rows = Array.from({ length: count }, (_, i) => ({
    id: `large-${i}`,
    survey: survey.slug,
    draft_token_hash: `large-${i}`,
    status: 'complete' as const,
    channel: 'web',
    started_at: '2019-02-18T10:00:00Z',
    updated_at: '2019-02-18T10:00:00Z',
    submitted_at: '2019-02-18T10:09:00Z',
    answers: JSON.stringify({ postcode: { postcode: 'X'.repeat(100_000) } }),
    flag: null,
  }));
  for (let i = 0; i < rows.length; i += 50)
    await t.db
      .insertInto('responses')
      .values(rows.slice(i, i + 50))
      .execute();
}

describe('exports made in a worker thread', () => {
  it('give the same bytes as the export made in this thread (CSV), and the same cells (workbook)', async () => {
    expect((await importResponses(t.db, survey, fixture)).ok).toBe(true);
    for (const filters of [DEFAULT_FILTERS, { status: 'complete', area: 'dartford' } as Filters]) {
      const here = await buffer(responseRecordCsv(t.db, survey, filters));
      const stream = await inWorker('csv', filters);
      expect(runningExports()).toBe(1);
      const there = await buffer(stream);
      expect(there.length).toBeGreaterThan(1000);
      expect(there.equals(here)).toBe(true);
    }
    const parts: Buffer[] = [];
    const { PassThrough } = await import('node:stream');
    const out = new PassThrough().on('data', (c: Buffer) => parts.push(c));
    await writeWorkbook(t.db, survey, DEFAULT_FILTERS, await buildReport(t.db, survey, DEFAULT_FILTERS), out);
    const xlsx = await buffer(await inWorker('xlsx'));
    expect(await sheets(xlsx)).toEqual(await sheets(Buffer.concat(parts)));
    // One worker made them all, one after the other, and waits for the next.
    expect(runningExports()).toBe(0);
    expect(exportThreads()).toBe(1);
  });

  it('write CSV as before: quoted where needed, formulas neutralised', () => {
    const cells = ['plain', '', 'a,b', 'say "hi"', 'two\nlines', 'cr\rhere', '=1+1', '-3', '@x', '\tx', '\rx', 'é ü'];
    expect(csvLines([cells, [-3, 0, '+1']])).toBe(
      `plain,,"a,b","say ""hi""","two\nlines","cr\rhere",'=1+1,'-3,'@x,'\tx,"'\rx",é ü\n-3,0,'+1\n`,
    );
    expect(csvLines([recordColumns(survey)])).toBe(`${recordColumns(survey).join(',')}\n`);
  });

  it('run under tsx outside the test runner too', async () => {
    expect((await importResponses(t.db, survey, fixture)).ok).toBe(true);
    const here = await buffer(responseRecordCsv(t.db, survey, DEFAULT_FILTERS));
    const script = `
      import { startExport, runningExports } from './src/exports/pool.ts';
      import { connect } from './src/db/open.ts';
      import { parseDatabaseUrl } from './src/db/url.ts';
      import { loadSurveys } from './src/survey/definitions/index.ts';
      const database = parseDatabaseUrl(process.env.EXPORT_DATABASE_URL);
      const db = await connect(database);
      const stream = await startExport({ db, database, survey: loadSurveys()[0], job: { kind: 'csv', filters: { status: 'all' } } });
      if (runningExports() !== 1) throw new Error('not in a worker');
      for await (const chunk of stream) process.stdout.write(chunk);
      await db.destroy();
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root,
      env: { ...process.env, EXPORT_DATABASE_URL: t.databaseUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const [out, err, code] = await Promise.all([
      buffer(child.stdout),
      buffer(child.stderr),
      new Promise((resolve) => child.on('exit', resolve)),
    ]);
    expect(err.toString()).toBe('');
    expect(code).toBe(0);
    expect(out.equals(here)).toBe(true);
  });

  it('stop their worker when the download is abandoned part-way', async () => {
    await createAccount(t.db, 'analyst@council.example', 'analyst', PASSWORD);
    const analyst = await new AdminAgent(t.app).signIn('analyst@council.example', PASSWORD);
    await addLargeResponses();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as AddressInfo;
    for (const path of ['responses.csv', 'workbook.xlsx']) {
      const first = await new Promise<{ status: number; bytes: number }>((resolve, reject) => {
        const req = http.get(`http://127.0.0.1:${port}${BASE}/${path}`, { headers: { cookie: analyst.cookieHeader } });
        req.on('error', reject);
        req.on('response', (res) => {
          res.once('data', (chunk: Buffer) => {
            res.pause();
            // Read one chunk, then leave the rest: the export stays part-way, its worker waiting.
            setTimeout(() => {
              resolve({ status: res.statusCode ?? 0, bytes: chunk.length });
              req.destroy();
            }, 300);
          });
        });
      });
      expect(first.status, path).toBe(200);
      expect(first.bytes).toBeGreaterThan(0);
      expect(runningExports(), `${path}: still being made when the download was left`).toBe(1);
      // Its worker thread is stopped, not kept for the next export.
      await vi.waitFor(() => expect(exportThreads(), path).toBe(0), { timeout: 5000 });
    }
  });

  it(`refuse more than ${MAX_RUNNING_EXPORTS} at once, with a page asking to try again`, async () => {
    await createAccount(t.db, 'analyst@council.example', 'analyst', PASSWORD);
    const analyst = await new AdminAgent(t.app).signIn('analyst@council.example', PASSWORD);
    await addLargeResponses();
    const held = [];
    for (let i = 0; i < MAX_RUNNING_EXPORTS; i++) held.push(await inWorker('csv'));
    await expect(inWorker('csv')).rejects.toBeInstanceOf(ExportsBusy);
    const page = await analyst.get(`${BASE}/responses.csv`);
    expect(page.statusCode).toBe(503);
    expect(page.headers['retry-after']).toBe('60');
    expect(page.body).toContain('Other exports are being made');
    for (const stream of held) stream.destroy();
    await vi.waitFor(() => expect(exportThreads()).toBe(0));
  });
});

describe('an export that cannot read the database', () => {
  it('gives the "try again" page, not a 500 or a stack trace, for the CSV and the workbook', async () => {
    const broken = await makeAdminApp({
      // The app's own connection works; the export's cannot be opened.
      config: {
        database: parseDatabaseUrl(
          TEST_ENGINE === 'postgres' ? 'postgres://nobody@127.0.0.1:1/nowhere' : join(t.dir, 'gone.sqlite'),
        ),
      },
    });
    try {
      await createAccount(broken.db, 'analyst@council.example', 'analyst', PASSWORD);
      const analyst = await new AdminAgent(broken.app).signIn('analyst@council.example', PASSWORD);
      for (const path of ['responses.csv', 'workbook.xlsx']) {
        const page = await analyst.get(`${BASE}/${path}`);
        expect(page.statusCode, path).toBe(503);
        expect(page.headers['content-type']).toContain('text/html');
        expect(page.headers['content-disposition']).toBeUndefined();
        expect(page.body).toContain('Sorry, the service is not available just now');
        expect(page.body).not.toMatch(/\bat .*\.(ts|js):\d+|SQLITE_|ECONNREFUSED/);
      }
      await vi.waitFor(() => expect(runningExports()).toBe(0));
    } finally {
      await broken.close();
    }
  });
});
