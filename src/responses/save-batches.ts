import { type Kysely, sql, type Transaction } from 'kysely';
import { CountSheet } from '../analysis/counts.ts';
import { fsyncRunning } from '../db/open.ts';
import { lostRace } from '../db/races.ts';
import type { Database } from '../db/schema.ts';

/**
 * Where a respondent's save writes: the transaction, and the sheet its
 * running counts are moved on, written in that same transaction before it
 * commits (one sheet for all the saves of a transaction).
 */
export interface SaveScope {
  trx: Transaction<Database>;
  counts: CountSheet;
}

type Save<T> = (scope: SaveScope) => Promise<T>;

interface Waiting {
  save: Save<unknown>;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
  /** Whether it has been put back once already, after losing a race (see runBatch). */
  again?: boolean;
}

/** Most saves in one transaction: a bound on how long the first of them waits for the last. */
export const MAX_SAVES_PER_TRANSACTION = 64;

/**
 * Respondents' saves (a draft started, a page saved, answers sent), run
 * together: the saves asked for while the server was reading requests are run
 * one after the other in one transaction, each inside a savepoint of its own,
 * and their running counts are summed and written once at the end, in that
 * transaction.
 *
 * Why: a save on its own changes some twenty pages of the database (the
 * response, its values and pages, and the count rows of four rollups, spread
 * over several leaves), and its commit writes each to the log; saves made
 * together share most of those pages (the count rows above all), so a
 * transaction of ten saves writes far fewer than ten times as many, moves each
 * count row once, and commits once. On SQLite one fsync covers them all (see
 * WalSync). On PostgreSQL, where app instances write side by side, every save
 * moves the same few count rows (the unfiltered summary above all): a
 * transaction per save made each wait for the one before to commit, holding
 * those rows' locks through its commit; a batch takes them once, at its end,
 * for all its saves.
 *
 * Each save is still all or nothing, and acknowledged only once it is on
 * disk: a save that fails is rolled back to its savepoint and its caller gets
 * the error while the others go on; if the transaction itself fails (a full
 * disk, say: SQLite may then roll the whole of it back), every save in it
 * gets the error and none was acknowledged; a save's caller hears of success
 * only after the commit (and, on SQLite, its fsync).
 *
 * On PostgreSQL a save, or the whole transaction, may lose a race with
 * another instance's (a deadlock: two double-clicked drafts each taken by one
 * instance and wanted by the other). Such a save is rolled back to its
 * savepoint (every save of the transaction, if the transaction lost) and put
 * back, once, into a later transaction, begun after this one has let its
 * locks go; if it loses again, its caller gets the error ("try again").
 *
 * Nothing waits for a batch to fill: the saves are gathered until the event
 * loop has read what the network had (setImmediate), and one save alone is a
 * transaction of one. One transaction is being filled at a time; the next
 * begins as soon as it has written its counts, while it commits. On SQLite,
 * while the log is being fsynced (see WalSync), the saves asked for meanwhile
 * are gathered until that fsync ends: a save committed during it would wait
 * for it and then for the next one anyway, so they lose little (the
 * transaction's own time before the next fsync begins), and they commit
 * together in one transaction instead of several, each count row moved once,
 * while the connection stays free for the pages being read (about a tenth
 * less CPU per journey, and a tenth more journeys a second, measured side by
 * side).
 */
class SaveBatches {
  private readonly waiting: Waiting[] = [];
  private scheduled = false;
  /** Transactions committed, and the saves they held. */
  readonly done = { transactions: 0, saves: 0 };

  constructor(private readonly db: Kysely<Database>) {}

  run<T>(save: Save<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ save, resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
    });
  }

  private schedule() {
    if (this.scheduled || this.waiting.length === 0) return;
    this.scheduled = true;
    // On SQLite, while the log is being fsynced, gather (see the class).
    const fsync = this.waiting.length < MAX_SAVES_PER_TRANSACTION ? fsyncRunning(this.db) : undefined;
    if (fsync) void fsync.then(() => setImmediate(() => void this.runBatch()));
    else setImmediate(() => void this.runBatch());
  }

  private async runBatch() {
    const batch = this.waiting.splice(0, MAX_SAVES_PER_TRANSACTION);
    const settled = new Set<Waiting>();
    const succeeded: { waiting: Waiting; value: unknown }[] = [];
    /** Saves that lost a race, for the next transaction (see the class). */
    const again: Waiting[] = [];
    const putBack = (waiting: Waiting) => {
      waiting.again = true;
      settled.add(waiting);
      again.push(waiting);
    };
    let handedOn = false;
    /** Lets the next batch be scheduled: once this one has committed (its fsync may still run), or failed. */
    const handOn = () => {
      if (handedOn) return;
      handedOn = true;
      this.scheduled = false;
      this.schedule();
    };
    try {
      await this.db.transaction().execute(async (trx) => {
        const counts = new CountSheet();
        for (const waiting of batch) {
          const mark = counts.mark();
          await sql`savepoint save`.execute(trx);
          let value: unknown;
          try {
            value = await waiting.save({ trx, counts });
          } catch (err) {
            try {
              await sql`rollback to save`.execute(trx);
              await sql`release save`.execute(trx);
            } catch {
              // SQLite rolled the whole transaction back (a full disk, say): every save in it gets this error.
              throw err;
            }
            counts.undo(mark);
            if (lostRace(err) && !waiting.again) putBack(waiting);
            else {
              settled.add(waiting);
              waiting.reject(err);
            }
            continue;
          }
          await sql`release save`.execute(trx);
          succeeded.push({ waiting, value });
        }
        await counts.write(trx);
        handOn();
      });
      this.done.transactions++;
      this.done.saves += succeeded.length;
      for (const { waiting, value } of succeeded) waiting.resolve(value);
    } catch (err) {
      for (const waiting of batch) {
        if (settled.has(waiting)) continue;
        if (lostRace(err) && !waiting.again) putBack(waiting);
        else waiting.reject(err);
      }
    } finally {
      if (again.length) this.waiting.unshift(...again);
      handOn();
      // Handed on before the commit, while these were still in it: they go in the transaction after the next.
      this.schedule();
    }
  }
}

const batchesByDb = new WeakMap<Kysely<Database>, SaveBatches>();

/**
 * Runs a respondent's save in a transaction shared with the other saves of
 * the moment (see SaveBatches): its count moves are written in that
 * transaction, and the promise resolves once it is committed and on disk.
 */
export function runSave<T>(db: Kysely<Database>, save: Save<T>): Promise<T> {
  let batches = batchesByDb.get(db);
  if (!batches) {
    batches = new SaveBatches(db);
    batchesByDb.set(db, batches);
  }
  return batches.run(save);
}

/** Transactions committed by the save batches of a database (in this process), and the saves they held. */
export function saveBatchesDone(db: Kysely<Database>): { transactions: number; saves: number } {
  return { ...(batchesByDb.get(db)?.done ?? { transactions: 0, saves: 0 }) };
}
