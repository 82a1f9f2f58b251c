import { type Kysely, SqliteAdapter, sql } from 'kysely';

// What application code may ask of one engine that the other has no words
// for; the connection set-up itself is in sqlite/ and postgres.ts.

/** Whether a database (or a transaction on it) is SQLite. */
export function isSqlite(db: Kysely<unknown>): boolean {
  return db.getExecutor().adapter instanceof SqliteAdapter;
}

/**
 * Makes the rest of a write transaction the only writer of a table: waits
 * until every transaction that has written to it ends, and makes every later
 * writer (an insert too) wait until this one ends; reads go on. PostgreSQL:
 * LOCK TABLE ... IN SHARE ROW EXCLUSIVE MODE, taken at once, so unlike
 * locking the rows one by one it cannot deadlock with a transaction that
 * holds some of them and wants others. SQLite: nothing to do, a write
 * transaction holds the database's write lock from its start (BEGIN
 * IMMEDIATE, see sqlite/driver.ts).
 */
export async function lockAgainstWriters(trx: Kysely<any>, table: string): Promise<void> {
  if (isSqlite(trx)) return;
  await sql`lock table ${sql.table(table)} in share row exclusive mode`.execute(trx);
}
