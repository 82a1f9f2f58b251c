import type { Kysely, Transaction } from 'kysely';
import { fsyncRunning } from './open.ts';
import { lostRace } from './races.ts';
import type { Database } from './schema.ts';

/**
 * What the units of work of one shared transaction build up together and
 * write once before it commits (the counts they move). A unit that fails is
 * taken back out with undo(mark()).
 */
export interface SharedState {
  mark(): number;
  undo(mark: number): void;
  write(trx: Transaction<Database>): Promise<void>;
}

type Work<S, T> = (trx: Transaction<Database>, state: S) => Promise<T>;

interface Waiting<S> {
  work: Work<S, unknown>;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
  /** Put back once already after losing a race. */
  again?: boolean;
}

/** Most units in one transaction: a bound on how long the first waits for the last. */
export const MAX_UNITS_PER_TRANSACTION = 64;

/**
 * Runs units of work that arrive at the same moment in one transaction, each
 * in a savepoint of its own, and writes their shared state once at the end.
 * Units made together change mostly the same pages (the count rows above
 * all), so one transaction writes and commits far less than one each.
 *
 * Each unit stays all or nothing, and is acknowledged only once committed and
 * on disk: a unit that fails is rolled back to its savepoint and only its
 * caller hears of it; if the transaction fails, every caller does. A unit
 * that loses a race with another instance (a PostgreSQL deadlock) is put back
 * once into a later transaction. Units are gathered until the event loop has
 * read what the network had (setImmediate); on SQLite, while the log is being
 * fsynced, until that fsync ends, since they would wait for it anyway.
 */
export class SharedTransactions<S extends SharedState> {
  private readonly waiting: Waiting<S>[] = [];
  private scheduled = false;
  /** Transactions committed, and the units they held: for the tests. */
  readonly done = { transactions: 0, units: 0 };

  constructor(
    private readonly db: Kysely<Database>,
    private readonly newState: () => S,
  ) {}

  /** Runs `work` in the shared transaction of the moment; resolves once that is committed and on disk. */
  run<T>(work: Work<S, T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ work, resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
    });
  }

  private schedule() {
    if (this.scheduled || this.waiting.length === 0) return;
    this.scheduled = true;
    const fsync = this.waiting.length < MAX_UNITS_PER_TRANSACTION ? fsyncRunning(this.db) : undefined;
    if (fsync) void fsync.then(() => setImmediate(() => void this.runBatch()));
    else setImmediate(() => void this.runBatch());
  }

  private async runBatch() {
    const batch = this.waiting.splice(0, MAX_UNITS_PER_TRANSACTION);
    const settled = new Set<Waiting<S>>();
    const succeeded: { waiting: Waiting<S>; value: unknown }[] = [];
    const again: Waiting<S>[] = [];
    const putBack = (waiting: Waiting<S>) => {
      waiting.again = true;
      settled.add(waiting);
      again.push(waiting);
    };
    let handedOn = false;
    /** Lets the next batch gather once this one is committing (its fsync may still run), or has failed. */
    const handOn = () => {
      if (handedOn) return;
      handedOn = true;
      this.scheduled = false;
      this.schedule();
    };
    try {
      // One connection for the whole batch: its release (after the commit) is where SQLite's fsync is awaited.
      await this.db.connection().execute(async (connection) => {
        const trx = await connection.startTransaction().execute();
        try {
          const state = this.newState();
          for (const waiting of batch) {
            const mark = state.mark();
            const unit = await trx.savepoint('unit').execute();
            let value: unknown;
            try {
              value = await waiting.work(unit, state);
            } catch (err) {
              try {
                await unit.rollbackToSavepoint('unit').execute();
                await unit.releaseSavepoint('unit').execute();
              } catch {
                // SQLite rolled the whole transaction back (a full disk): every unit in it gets this error.
                throw err;
              }
              state.undo(mark);
              if (lostRace(err) && !waiting.again) putBack(waiting);
              else {
                settled.add(waiting);
                waiting.reject(err);
              }
              continue;
            }
            await unit.releaseSavepoint('unit').execute();
            succeeded.push({ waiting, value });
          }
          await state.write(trx);
          await trx.commit().execute();
        } catch (err) {
          if (!trx.isCommitted)
            await trx
              .rollback()
              .execute()
              .catch(() => {});
          throw err;
        }
        handOn();
      });
      this.done.transactions++;
      this.done.units += succeeded.length;
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
      this.schedule();
    }
  }
}
