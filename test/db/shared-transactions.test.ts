import { fdatasync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { countsDisagreements } from '../../src/analysis/check-counts.ts';
import { openSqliteDatabase, type SqliteConnection } from '../../src/db/open.ts';
import { MAX_UNITS_PER_TRANSACTION as MAX_SAVES_PER_TRANSACTION } from '../../src/db/shared-transactions.ts';
import { newDraftToken } from '../../src/responses/anonymity.ts';
import {
  findDraft,
  runSave,
  savesDone as saveBatchesDone,
  saveDraft,
  startDraft,
} from '../../src/responses/save-draft.ts';
import type { Dims } from '../../src/rollups/index.ts';
import { journey } from '../../src/survey/journey.ts';
import { cspSurvey, makeApp, type TestApp } from '../helpers.ts';

const survey = cspSurvey();
const NOW = new Date('2026-12-01T10:00:00Z');

let t: TestApp | undefined;
let connection: SqliteConnection | undefined;
afterEach(async () => {
  await connection?.db.destroy();
  connection = undefined;
  await t?.close();
  t = undefined;
});

/** A draft started, and its id. */
async function draft(db: TestApp['db'], channel = 'web') {
  const { hash } = newDraftToken();
  const id = await startDraft(db, survey, { channel, tokenHash: hash, now: NOW });
  return { id, hash };
}

/** Saves the draft's area, from its row as a request would read it. */
async function saveArea(db: TestApp['db'], started: { hash: string } | undefined, code: string) {
  const row = await findDraft(db, survey, started?.hash as string);
  if (!row) throw new Error('no such draft');
  return saveDraft(db, survey, row, area(code), NOW);
}

const area = (code: string) => journey(survey, { area: { area: code } });

describe('respondents saving at once (either engine)', () => {
  it('are all saved, each exactly once, and the running counts agree with the stored answers', async () => {
    t = await makeApp();
    const db = t.db;
    const drafts = await Promise.all(Array.from({ length: 40 }, (_, i) => draft(db, i % 2 ? 'web' : 'facebook')));
    const codes = ['dartford', 'gravesham'];
    const saved = await Promise.all(drafts.map((d, i) => saveArea(db, d, codes[i % 2] as string)));
    expect(saved).toEqual(drafts.map(() => true));
    for (const [i, { hash }] of drafts.entries()) {
      const row = await findDraft(db, survey, hash);
      expect(JSON.parse(row?.answers ?? '{}')).toEqual({ area: { area: codes[i % 2] } });
    }
    expect((await countsDisagreements(db, survey)).differ).toEqual([]);
  });

  it('keep one failing save from taking the others with it', async () => {
    t = await makeApp();
    const db = t.db;
    const [a, b, c] = await Promise.all([draft(db), draft(db), draft(db)]);
    const failing = runSave(db, async (trx, counts) => {
      // Counts moved, then the save fails: they must go with it.
      const dims: Dims = {
        survey: survey.slug,
        status: 'partial',
        channel: 'poster',
        area: '',
        day: '2026-12-01',
        flagged: 0,
      };
      counts.add(dims, ['n|poster'], 7);
      await trx
        .updateTable('responses')
        .set({ channel: 'poster' })
        .where('id', '=', b?.id as string)
        .execute();
      throw new Error('a save that went wrong half way');
    });
    const results = await Promise.allSettled([saveArea(db, a, 'dartford'), failing, saveArea(db, c, 'gravesham')]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason.message).toBe('a save that went wrong half way');
    const channels = await db.selectFrom('responses').select(['id', 'channel', 'answers']).orderBy('id').execute();
    expect(channels.find((r) => r.id === b?.id)?.channel).toBe('web');
    expect(channels.find((r) => r.id === c?.id)?.answers).toBe(JSON.stringify({ area: { area: 'gravesham' } }));
    expect((await countsDisagreements(db, survey)).differ).toEqual([]);
  });
  it('gather the saves of the moment into a few transactions, at most MAX_SAVES_PER_TRANSACTION each', async () => {
    t = await makeApp();
    const db = t.db;
    const drafts = await Promise.all(Array.from({ length: 100 }, () => draft(db)));
    // Every row read first, so the saves are asked for at one moment whatever the engine's read times.
    const rows = await Promise.all(drafts.map((d) => findDraft(db, survey, d.hash)));
    const before = saveBatchesDone(db);
    await Promise.all(rows.map((row) => saveDraft(db, survey, row as NonNullable<typeof row>, area('dartford'), NOW)));
    const after = saveBatchesDone(db);
    expect(after.saves - before.saves).toBe(100);
    expect(after.transactions - before.transactions).toBe(Math.ceil(100 / MAX_SAVES_PER_TRANSACTION));
    expect((await countsDisagreements(db, survey)).differ).toEqual([]);
  });

  it('put a save that lost a race back once, for the next transaction, and answer a second loss with the error', async () => {
    t = await makeApp();
    const db = t.db;
    const [a, b] = await Promise.all([draft(db), draft(db)]);
    const lost = () => Object.assign(new Error('deadlock detected'), { code: '40P01' });
    let tries = 0;
    const before = saveBatchesDone(db);
    const results = await Promise.allSettled([
      runSave(db, async (trx) => {
        tries++;
        // A column the running counts do not depend on.
        await trx
          .updateTable('responses')
          .set({ updated_at: `2026-12-0${tries}T10:00` })
          .where('id', '=', a?.id as string)
          .execute();
        if (tries === 1) throw lost();
        return tries;
      }),
      runSave(db, async (trx) => {
        await trx
          .updateTable('responses')
          .set({ updated_at: '2026-12-09T10:00' })
          .where('id', '=', b?.id as string)
          .execute();
        throw lost();
      }),
      saveArea(db, b, 'gravesham'),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[0] as PromiseFulfilledResult<number>).value).toBe(2);
    expect((results[1] as PromiseRejectedResult).reason.code).toBe('40P01');
    // The batch, and the one the two losers were put back into.
    expect(saveBatchesDone(db).transactions - before.transactions).toBe(2);
    const rows = await db.selectFrom('responses').select(['id', 'updated_at', 'answers']).execute();
    expect(rows.find((r) => r.id === a?.id)?.updated_at).toBe('2026-12-02T10:00');
    expect(rows.find((r) => r.id === b?.id)?.answers).toBe(JSON.stringify({ area: { area: 'gravesham' } }));
    expect((await countsDisagreements(db, survey)).differ).toEqual([]);
  });

  it('put every save of a transaction that lost a race back once, and store each of them once', async () => {
    t = await makeApp();
    const db = t.db;
    const [a, b] = await Promise.all([draft(db), draft(db)]);
    let tries = 0;
    const results = await Promise.allSettled([
      saveArea(db, a, 'dartford'),
      runSave(db, async (trx) => {
        tries++;
        if (tries === 1) {
          // The whole transaction is gone, as after a deadlock in the count writes at its end.
          await sql`rollback`.execute(trx);
          throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
        }
        return tries;
      }),
      saveArea(db, b, 'gravesham'),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(tries).toBe(2);
    const rows = await db.selectFrom('responses').select(['id', 'answers']).orderBy('id').execute();
    expect(rows.find((r) => r.id === a?.id)?.answers).toBe(JSON.stringify({ area: { area: 'dartford' } }));
    expect(rows.find((r) => r.id === b?.id)?.answers).toBe(JSON.stringify({ area: { area: 'gravesham' } }));
    expect((await countsDisagreements(db, survey)).differ).toEqual([]);
  });
});

describe('save batches on SQLite', () => {
  it('run the saves of the moment in one transaction, and answer each only once it is on disk', async () => {
    connection = await openSqliteDatabase(join(mkdtempSync(join(tmpdir(), 'soundings-batches-')), 'db.sqlite'));
    const { db, wal } = connection;
    const drafts = await Promise.all(Array.from({ length: 100 }, () => draft(db)));
    const before = saveBatchesDone(db);
    const fsyncsBefore = wal.fsyncs;
    /** The fsyncs of the log done when each save was answered, in the order they were answered. */
    const fsyncsSeen: number[] = [];
    await Promise.all(
      drafts.map((d) => saveArea(db, d, 'dartford').then(() => fsyncsSeen.push(wal.fsyncs - fsyncsBefore))),
    );
    const after = saveBatchesDone(db);
    expect(after.saves - before.saves).toBe(100);
    // Gathered, but never more than the bound in one transaction.
    expect(after.transactions - before.transactions).toBe(Math.ceil(100 / MAX_SAVES_PER_TRANSACTION));
    // The first transaction's saves answered after an fsync, the second's after another (begun after it committed).
    expect(fsyncsSeen.slice(0, MAX_SAVES_PER_TRANSACTION).every((n) => n >= 1)).toBe(true);
    expect(fsyncsSeen.slice(MAX_SAVES_PER_TRANSACTION).every((n) => n >= 2)).toBe(true);
    expect((await countsDisagreements(db, survey)).differ).toEqual([]);
  });

  it('gather the saves asked for while the log is being fsynced, and run them in one transaction after it', async () => {
    /** fsyncs of the log held back (the disk slow) while `hold` is set. */
    const held: (() => void)[] = [];
    let hold = false;
    const flushLog = ((fd: number, done: (err: NodeJS.ErrnoException | null) => void) => {
      if (hold) held.push(() => fdatasync(fd, done));
      else fdatasync(fd, done);
    }) as typeof fdatasync;
    connection = await openSqliteDatabase(join(mkdtempSync(join(tmpdir(), 'soundings-gather-')), 'db.sqlite'), {
      flushLog,
    });
    const { db } = connection;
    const drafts = await Promise.all(Array.from({ length: 12 }, () => draft(db)));
    const before = saveBatchesDone(db);
    hold = true;
    const first = saveArea(db, drafts[0], 'dartford');
    // Its transaction committed; its fsync is running (held).
    await vi.waitFor(() => expect(held).toHaveLength(1));
    const rest = drafts.slice(1).map((d) => saveArea(db, d, 'gravesham'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Nothing of theirs is written while it runs, and pages are still read meanwhile.
    const waiting = await findDraft(db, survey, drafts[1]?.hash as string);
    expect(waiting?.answers).toBe('{}');
    expect(held).toHaveLength(1);
    hold = false;
    for (const release of held.splice(0)) release();
    expect(await Promise.all([first, ...rest])).toEqual(drafts.map(() => true));
    const after = saveBatchesDone(db);
    // The first save's transaction, then one for the eleven gathered behind its fsync.
    expect(after.transactions - before.transactions).toBe(2);
    expect(after.saves - before.saves).toBe(12);
    expect((await countsDisagreements(db, survey)).differ).toEqual([]);
  });

  it('answer every save of a transaction SQLite rolled back with the error, having stored none of them', async () => {
    t = await makeApp({ engine: 'sqlite' });
    const db = t.db;
    const [a, b] = await Promise.all([draft(db), draft(db)]);
    const results = await Promise.allSettled([
      saveArea(db, a, 'dartford'),
      // As SQLite does after SQLITE_FULL: the whole transaction is gone, not just this save.
      runSave(db, async (trx) => {
        await sql`rollback`.execute(trx);
        throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
      }),
      saveArea(db, b, 'gravesham'),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const r of results) expect((r as PromiseRejectedResult).reason.code).toBe('SQLITE_FULL');
    const rows = await db.selectFrom('responses').select('answers').execute();
    expect(rows.map((r) => r.answers)).toEqual(['{}', '{}']);
    expect((await countsDisagreements(db, survey)).differ).toEqual([]);
    // The next saves go on as usual.
    expect(await saveArea(db, a, 'dartford')).toBe(true);
  });
});
