import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { migrateToLatest } from './migrate.ts';
import type { Database } from './schema.ts';

/** Where the data lives: an SQLite file path (or `sqlite:` URL), or `:memory:` for tests. */
export function sqlitePath(databaseUrl: string): string {
  const path = databaseUrl.replace(/^sqlite:(\/\/)?/, '').replace(/^file:(\/\/)?/, '');
  return path === ':memory:' ? path : resolve(path);
}

/**
 * Opens the database named by DATABASE_URL and migrates it. SQLite runs in WAL
 * mode with synchronous=FULL: once a respondent is told their answers are
 * saved, they are on disk, even through a power cut.
 */
export async function connect(databaseUrl: string): Promise<Kysely<Database>> {
  if (/^postgres(ql)?:/.test(databaseUrl)) {
    throw new Error('PostgreSQL is not supported yet: set DATABASE_URL to an SQLite file path.');
  }
  const path = sqlitePath(databaseUrl);
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new SQLite(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  await migrateToLatest(db);
  return db;
}
