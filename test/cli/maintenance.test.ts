import { execFile } from 'node:child_process';
import { existsSync, fdatasync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildReportFromRows } from '../../src/analysis/reference-report.ts';
import { buildReport } from '../../src/analysis/report.ts';
import { openSqliteDatabase } from '../../src/db/open.ts';
import { WalSync } from '../../src/db/sqlite/wal-sync.ts';
import { importResponses } from '../../src/exports/import.ts';
import { draftCutoff, eraseStaleDrafts } from '../../src/responses/retention.ts';
import { runCli as cli, cspSurvey, makeApp, Respondent, type TestApp } from '../helpers.ts';

const _run = promisify(execFile);
const root = join(import.meta.dirname, '../..');
const fixture = readFileSync(join(root, 'test/fixtures/csp-2019-published.csv'));
const survey = cspSurvey();

/** The report without its filters, to compare reports asked for in different ways. */
const tables = ({ filters: _, ...rest }: Awaited<ReturnType<typeof buildReport>>) => rest;

let t: TestApp;
let databaseUrl: string;
beforeEach(async () => {
  t = await makeApp();
  databaseUrl = t.databaseUrl;
});
afterEach(async () => {
  await t.close();
});

describe('the database connection', () => {
  it('is in WAL mode with synchronous=NORMAL, foreign keys enforced and deleted content overwritten', async () => {
    const { db, sqlite } = await openSqliteDatabase(join(t.dir, 'pragmas.sqlite'));
    try {
      expect(sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
      // 1 = NORMAL: SQLite does not fsync at commit; the group commit below does, before the write is acknowledged.
      expect(sqlite.pragma('synchronous', { simple: true })).toBe(1);
      expect(sqlite.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(sqlite.pragma('secure_delete', { simple: true })).toBe(1);
      expect(sqlite.pragma('busy_timeout', { simple: true })).toBeGreaterThan(0);
    } finally {
      await db.destroy();
    }
  });

  it('fsyncs the write-ahead log before a write or a transaction resolves, and shares one fsync among concurrent ones', async () => {
    const { db, wal } = await openSqliteDatabase(join(t.dir, 'durable.sqlite'));
    const put = (name: string) => db.insertInto('shared_secrets').values({ name, value: 'v' }).execute();
    try {
      const before = wal.fsyncs;
      await put('one');
      expect(wal.fsyncs).toBe(before + 1);
      expect(wal.clean).toBe(true);

      await db.transaction().execute(async (trx) => {
        await trx.insertInto('shared_secrets').values({ name: 'two', value: 'v' }).execute();
        await trx.updateTable('shared_secrets').set({ value: 'w' }).where('name', '=', 'two').execute();
      });
      expect(wal.fsyncs).toBe(before + 2);
      expect(wal.clean).toBe(true);

      // Reading writes nothing, so it waits for no fsync.
      await db.selectFrom('shared_secrets').selectAll().execute();
      expect(wal.fsyncs).toBe(before + 2);

      // Ten writes at once: each resolves only once it is on disk, and they share fsyncs (a group commit).
      const fsyncsWhenSettled: number[] = [];
      await Promise.all(
        Array.from({ length: 10 }, (_, i) => put(`many-${i}`).then(() => fsyncsWhenSettled.push(wal.fsyncs))),
      );
      expect(fsyncsWhenSettled).toHaveLength(10);
      for (const n of fsyncsWhenSettled) expect(n).toBeGreaterThan(before + 2);
      expect(wal.fsyncs - (before + 2)).toBeGreaterThan(0);
      expect(wal.fsyncs - (before + 2)).toBeLessThan(10);
      expect(wal.clean).toBe(true);
    } finally {
      await db.destroy();
    }
  });
});

describe('the write-ahead log after a failed fsync', () => {
  it('acknowledges nothing written afterwards, even once fsyncs succeed again, until the database is opened afresh', async () => {
    const walPath = join(t.dir, 'failing.sqlite-wal');
    writeFileSync(walPath, '');
    let failures = 1;
    const flush = ((fd: number, callback: (err: NodeJS.ErrnoException | null) => void) => {
      if (failures-- > 0) return callback(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
      return fdatasync(fd, callback);
    }) as typeof fdatasync;
    const wal = new WalSync(walPath, flush);
    wal.written();
    await expect(wal.durable()).rejects.toMatchObject({ code: 'SQLITE_IOERR_FSYNC' });
    wal.written();
    await expect(wal.durable()).rejects.toThrow('until the server is restarted');
    expect(wal.fsyncs).toBe(0);
    wal.close();

    // Writes waiting behind an fsync that fails are not acknowledged by the fsync queued after it either.
    let slowFailures = 1;
    const slow = ((fd: number, callback: (err: NodeJS.ErrnoException | null) => void) => {
      if (slowFailures-- > 0)
        return setTimeout(() => callback(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })), 20);
      return fdatasync(fd, callback);
    }) as typeof fdatasync;
    const queued = new WalSync(walPath, slow);
    queued.written();
    const first = queued.durable();
    await new Promise((resolve) => setImmediate(resolve)); // the first fsync is running now
    queued.written();
    const second = queued.durable();
    expect(second).not.toBe(first);
    await expect(first).rejects.toMatchObject({ code: 'SQLITE_IOERR_FSYNC' });
    await expect(second).rejects.toThrow('until the server is restarted');
    expect(queued.fsyncs).toBe(0);
    queued.close();

    // Opened afresh (a restart), the same flush now works and writes are acknowledged again.
    const fresh = new WalSync(walPath, flush);
    fresh.written();
    await fresh.durable();
    expect(fresh.fsyncs).toBe(1);
    fresh.close();
  });
});

describe('cli purge', () => {
  beforeEach(async () => {
    const imported = await importResponses(t.db, survey, fixture);
    expect(imported.ok).toBe(true);
  });

  it('erases the responses started before the date, with their answers, and the tables forget them', async () => {
    const kept = tables(await buildReport(t.db, survey, { status: 'all', from: '2019-03-01' }));
    const dry = await cli(['purge', '--survey', 'csp-2019', '--before', '2019-03-01', '--dry-run'], databaseUrl);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toBe(
      'Would erase 325 responses of csp-2019 started before 2019-03-01 (UTC): 310 complete, 15 partial.\n',
    );
    expect(await t.db.selectFrom('responses').select('id').execute()).toHaveLength(420);

    const purged = await cli(['purge', '--survey', 'csp-2019', '--before', '2019-03-01'], databaseUrl);
    expect(purged.code).toBe(0);
    expect(purged.stdout).toBe(
      'Erased 325 responses of csp-2019 started before 2019-03-01 (UTC): 310 complete, 15 partial.\n',
    );
    const left = await t.db.selectFrom('responses').select('started_at').execute();
    expect(left).toHaveLength(95);
    expect(left.every((r) => r.started_at >= '2019-03-01')).toBe(true);
    // Nothing of an erased response is left behind.
    for (const table of ['response_values', 'response_pages'] as const) {
      const orphans = await t.db
        .selectFrom(table)
        .select('response_id')
        .where('response_id', 'not in', t.db.selectFrom('responses').select('id'))
        .execute();
      expect(orphans, table).toEqual([]);
    }
    // The report is now exactly the one that was filtered to the responses kept, counted either way.
    const after = await buildReport(t.db, survey, { status: 'all' });
    expect(tables(after)).toEqual(kept);
    expect(after).toEqual(await buildReportFromRows(t.db, survey, { status: 'all' }));
    // Purging again finds nothing.
    const again = await cli(['purge', '--survey', 'csp-2019', '--before', '2019-03-01'], databaseUrl);
    expect(again.stdout).toMatch(/^Erased 0 responses/);
  });

  it('refuses to run without a survey or a proper date', async () => {
    const calls = [
      ['purge', '--survey', 'csp-2019'],
      ['purge', '--survey', 'csp-2019', '--before', '1 March 2019'],
      ['purge', '--before', '2019-03-01'],
      ['purge', '--survey', 'nope', '--before', '2019-03-01'],
    ];
    const results = await Promise.all(calls.map((args) => cli(args, databaseUrl)));
    results.forEach((result, i) => {
      expect(result.code, calls[i]?.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/^soundings: /);
    });
    expect(await t.db.selectFrom('responses').select('id').execute()).toHaveLength(420);
  });
});

describe('automatic erasure of stale drafts', () => {
  it('erases drafts untouched for longer than the retention period, and nothing else', async () => {
    let now = new Date('2026-01-01T09:00:00Z');
    await t.close();
    t = await makeApp({ now: () => now });
    const old = new Respondent(t.app);
    await old.start();
    await old.answer('area', { area: 'dartford' });
    const sent = new Respondent(t.app);
    await sent.start();
    for (const page of ['area', 'concern-1', 'concern-2', 'concern-3', 'about-you', 'postcode'])
      await sent.answer(page);
    expect((await sent.post('check-answers')).statusCode).toBe(303);
    now = new Date('2026-03-15T09:00:00Z');
    const recent = new Respondent(t.app);
    await recent.start();
    await recent.answer('area', { area: 'gravesham' });

    now = new Date('2026-04-05T09:00:00Z');
    // 94 days after the old draft's last answer, 21 after the recent one's.
    expect(await eraseStaleDrafts(t.db, survey, draftCutoff(now, 90))).toBe(1);
    const left = await t.db.selectFrom('responses').select(['status', 'started_at']).orderBy('started_at').execute();
    expect(left).toEqual([
      { status: 'complete', started_at: '2026-01-01T09:00:00Z' },
      { status: 'partial', started_at: '2026-03-15T09:00:00Z' },
    ]);
    expect(await buildReport(t.db, survey, { status: 'all' })).toEqual(
      await buildReportFromRows(t.db, survey, { status: 'all' }),
    );
    // Whoever held the erased draft is simply offered a new start.
    expect((await old.get('concern-1')).headers.location).toBe('/s/csp-2019');
    expect((await recent.get('concern-1')).statusCode).toBe(200);
  });
});

describe('cli backup', () => {
  // SQLite's online backup: whatever engine the suite runs on, these run on an SQLite file.
  beforeEach(async () => {
    await t.close();
    t = await makeApp({ engine: 'sqlite' });
    databaseUrl = t.databaseUrl;
  });

  it('sends PostgreSQL to its own tools', async () => {
    const result = await cli(['backup', join(t.dir, 'backup.sql')], 'postgres://soundings@127.0.0.1:1/soundings');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^soundings: back PostgreSQL up with pg_dump .*\n$/);
    expect(readdirSync(t.dir).filter((f) => f.startsWith('backup'))).toEqual([]);
  });

  it('copies the database while the app has it open, and the copy gives the same report', async () => {
    await importResponses(t.db, survey, fixture);
    const r = new Respondent(t.app);
    await r.start();
    await r.answer('area', { area: 'dartford' });
    const file = join(t.dir, 'backup.sqlite');
    const result = await cli(['backup', file], databaseUrl);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Backed up .*test\.sqlite to .*backup\.sqlite \(421 responses, \d+ KB\)\.\n$/);
    // A single self-contained file: nothing half-written or temporary beside it.
    expect(readdirSync(t.dir).filter((f) => f.startsWith('backup') || f.includes('partial'))).toEqual([
      'backup.sqlite',
    ]);
    const live = await cli(['report', '--survey', 'csp-2019'], databaseUrl);
    const copy = await cli(['report', '--survey', 'csp-2019'], file);
    expect(copy.code).toBe(0);
    expect(JSON.parse(copy.stdout)).toEqual(JSON.parse(live.stdout));
  });

  it('refuses to overwrite the database itself or write into a missing folder', async () => {
    const itself = await cli(['backup', databaseUrl], databaseUrl);
    expect(itself.code).toBe(1);
    expect(itself.stderr).toBe('soundings: the backup must not be the database itself\n');
    const nowhere = await cli(['backup', join(t.dir, 'missing', 'b.sqlite')], databaseUrl);
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toMatch(/there is no folder/);
    const noFile = await cli(['backup'], databaseUrl);
    expect(noFile.code).toBe(2);
    expect(existsSync(join(t.dir, 'missing'))).toBe(false);
  });
});
