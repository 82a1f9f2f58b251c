import { type Kysely, sql, type Transaction } from 'kysely';
import { CountSheet } from '../analysis/counts.ts';
import { isSqlite } from '../db/dialect.ts';
import type { Database } from '../db/schema.ts';

/**
 * Where a respondent's save writes: the transaction, and the sheet its
 * running counts are moved on, written in that same transaction before it
 * commits (on SQLite, one sheet for all the saves of a transaction).
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
}

/** Most saves in one transaction: a bound on how long the first of them waits for the last. */
export const MAX_SAVES_PER_TRANSACTION = 64;

/**
 * Respondents' saves (a draft started, a page saved, answers sent) on
 * SQLite, run together: the saves asked for while the server was reading
 * requests are run one after the other in one transaction, each inside a
 * savepoint of its own, and their running counts are summed and written once
 * at the end, in that transaction.
 *
 * Why: a save on its own changes some twenty pages of the database (the
 * response, its values and pages, and the count rows of four rollups, spread
 * over several leaves), and its commit writes each to the log; saves made
 * together share most of those pages (the count rows above all), so a
 * transaction of ten saves writes far fewer than ten times as many, moves each
 * count row once, and commits once. One fsync covers them all (see WalSync).
 *
 * Each save is still all or nothing, and acknowledged only once it is on
 * disk: a save that fails is rolled back to its savepoint and its caller gets
 * the error while the others go on; if the transaction itself fails (a full
 * disk, say: SQLite may then roll the whole of it back), every save in it
 * gets the error and none was acknowledged; a save's caller hears of success
 * only after the commit and its fsync.
 *
 * Nothing waits for a batch to fill: the saves are gathered until the event
 * loop has read what the network had (setImmediate), and one save alone is a
 * transaction of one.
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
    setImmediate(() => void this.runBatch());
  }

  private async runBatch() {
    const batch = this.waiting.splice(0, MAX_SAVES_PER_TRANSACTION);
    const settled = new Set<Waiting>();
    const succeeded: { waiting: Waiting; value: unknown }[] = [];
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
            settled.add(waiting);
            waiting.reject(err);
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
      for (const waiting of batch) if (!settled.has(waiting)) waiting.reject(err);
    } finally {
      handOn();
    }
  }
}

const batchesByDb = new WeakMap<Kysely<Database>, SaveBatches>();

/**
 * Runs a respondent's save: in a transaction shared with the other saves of
 * the moment on SQLite (see SaveBatches), in a transaction of its own on
 * PostgreSQL (whose app instances and connections write side by side). Either
 * way the save's count moves are written in its transaction, and the promise
 * resolves once the transaction is committed and on disk.
 */
export function runSave<T>(db: Kysely<Database>, save: Save<T>): Promise<T> {
  if (!isSqlite(db as Kysely<unknown>)) {
    return db.transaction().execute(async (trx) => {
      const counts = new CountSheet();
      const value = await save({ trx, counts });
      await counts.write(trx);
      return value;
    });
  }
  let batches = batchesByDb.get(db);
  if (!batches) {
    batches = new SaveBatches(db);
    batchesByDb.set(db, batches);
  }
  return batches.run(save);
}

/** Transactions committed by the save batches of an SQLite database, and the saves they held (none on PostgreSQL). */
export function saveBatchesDone(db: Kysely<Database>): { transactions: number; saves: number } {
  return { ...(batchesByDb.get(db)?.done ?? { transactions: 0, saves: 0 }) };
}
