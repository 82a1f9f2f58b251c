import { type CreateTableBuilder, type Kysely, SqliteAdapter, sql } from 'kysely';

// What the schema may ask of one engine that the other has no words for. With
// the connection set-up in connect.ts, the only engine-specific code: the
// migrations call these instead of naming an engine. Migrations that have
// shipped use them, so what each one does must not change; add a new one.

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
