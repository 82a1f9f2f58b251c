import { type CreateTableBuilder, type Kysely, SqliteAdapter, sql } from 'kysely';

// What the schema (and the recount) may ask of one engine that the other has
// no words for. With the connection set-up in connect.ts, the only
// engine-specific code: the migrations call these instead of naming an engine.
// Migrations that have shipped use them, so what each one does must not
// change; add a new one.

/** Whether a database (or a transaction on it) is SQLite. */
export function isSqlite(db: Kysely<unknown>): boolean {
  return db.getExecutor().adapter instanceof SqliteAdapter;
}

/**
 * A table stored as its primary key's own B-tree, rows in key order: on
 * SQLite, WITHOUT ROWID (one B-tree to read and to write instead of the table
 * and its key's index). PostgreSQL has no such option: the table is as usual.
 */
export function clusteredByKey<T extends CreateTableBuilder<string, string>>(db: Kysely<unknown>, table: T): T {
  return isSqlite(db) ? (table.modifyEnd(sql`without rowid`) as T) : table;
}

/**
 * Makes the rest of a write transaction the only writer of a table: waits
 * until every transaction that has written to it ends, and makes every later
 * writer (an insert too) wait until this one ends; reads go on. PostgreSQL:
 * LOCK TABLE ... IN SHARE ROW EXCLUSIVE MODE, taken at once, so unlike
 * locking the rows one by one it cannot deadlock with a transaction that
 * holds some of them and wants others. SQLite: nothing to do, a write
 * transaction holds the database's write lock from its start (BEGIN
 * IMMEDIATE, see connect.ts).
 */
export async function lockAgainstWriters(trx: Kysely<any>, table: string): Promise<void> {
  if (isSqlite(trx)) return;
  await sql`lock table ${sql.table(table)} in share row exclusive mode`.execute(trx);
}
