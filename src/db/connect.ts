import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, type SqliteDatabase, SqliteDialect, type SqliteStatement } from 'kysely';
import { migrateToLatest } from './migrate.ts';
import type { Database } from './schema.ts';

/** Where the data lives: an SQLite file path (or `sqlite:` URL), or `:memory:` for tests. */
export function sqlitePath(databaseUrl: string): string {
  const path = databaseUrl.replace(/^sqlite:(\/\/)?/, '').replace(/^file:(\/\/)?/, '');
  return path === ':memory:' ? path : resolve(path);
}

/**
 * How long a write waits for another process's lock (an import or purge from
 * the command line) before giving up with SQLITE_BUSY. better-sqlite3 waits on
 * the main thread, so every other request waits too: one second keeps the
 * server answering, and the respondent gets a "try again" page instead.
 */
export const BUSY_TIMEOUT_MS = 1000;

/** An open database: the Kysely instance the app uses, and the SQLite connection under it. */
export interface Connection {
  db: Kysely<Database>;
  /** The raw connection, for what Kysely does not wrap: the online backup API, pragmas. */
  sqlite: SQLite.Database;
  /** The file (absolute), or `:memory:`. */
  path: string;
}

export interface OpenOptions {
  /** Open an existing file for reading only; nothing is created or migrated. */
  readonly?: boolean;
  /** Fail if the file does not exist yet instead of creating it. */
  mustExist?: boolean;
  /** Bring the schema up to date (the default, except read-only). */
  migrate?: boolean;
}

/**
 * Opens the database named by DATABASE_URL and migrates it. SQLite runs in WAL
 * mode with synchronous=FULL: every commit (each page's answers, and the one
 * that completes a response) is fsynced to the write-ahead log before the
 * respondent is told it is saved, so it survives a crash of the process and a
 * power cut. Foreign keys are enforced; deleted content is overwritten
 * (secure_delete), so an erased response does not linger in free pages.
 */
export async function openDatabase(databaseUrl: string, options: OpenOptions = {}): Promise<Connection> {
  if (/^postgres(ql)?:/.test(databaseUrl)) {
    throw new Error('PostgreSQL is not supported yet: set DATABASE_URL to an SQLite file path.');
  }
  const path = sqlitePath(databaseUrl);
  const readonly = options.readonly ?? false;
  if (path !== ':memory:' && !readonly && !options.mustExist) mkdirSync(dirname(path), { recursive: true });
  const sqlite = new SQLite(path, { readonly, fileMustExist: readonly || (options.mustExist ?? false) });
  try {
    if (!readonly) sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = FULL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('secure_delete = ON');
    sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  } catch (err) {
    sqlite.close();
    throw err;
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: transactionsForWriting(sqlite) }) });
  if (options.migrate ?? !readonly) {
    try {
      await migrateToLatest(db);
    } catch (err) {
      await db.destroy();
      throw err;
    }
  }
  return { db, sqlite, path };
}

/** Opens (creating and migrating if needed) the database named by DATABASE_URL: see openDatabase. */
export async function connect(databaseUrl: string): Promise<Kysely<Database>> {
  return (await openDatabase(databaseUrl)).db;
}

const NOTHING_TO_ROLL_BACK: SqliteStatement = {
  reader: false,
  all: () => [],
  run: () => ({ changes: 0, lastInsertRowid: 0 }),
  iterate: () => [][Symbol.iterator](),
};

/**
 * The connection as Kysely sees it, with two differences for transactions.
 *
 * They begin IMMEDIATE, taking the write lock first. Every transaction here
 * writes, and most read first (what a response counted for before); a
 * DEFERRED one that has read cannot wait for the lock when another process
 * holds it (SQLite does not call the busy handler then, to avoid deadlock)
 * and fails at once, or fails with SQLITE_BUSY_SNAPSHOT if another process
 * wrote in between. IMMEDIATE waits up to busy_timeout, then fails cleanly.
 *
 * A ROLLBACK when no transaction is open does nothing. After SQLITE_FULL or
 * SQLITE_IOERR, SQLite may already have rolled the transaction back itself;
 * Kysely's own ROLLBACK would then fail with "no transaction is active" and
 * hide the real error, which is the one that tells the respondent to try again.
 */
function transactionsForWriting(sqlite: SQLite.Database): SqliteDatabase {
  return {
    close: () => sqlite.close(),
    prepare: (sql: string) => {
      if (/^\s*begin\s*;?\s*$/i.test(sql)) return sqlite.prepare('begin immediate') as unknown as SqliteStatement;
      if (/^\s*rollback\s*;?\s*$/i.test(sql) && !sqlite.inTransaction) return NOTHING_TO_ROLL_BACK;
      return sqlite.prepare(sql) as unknown as SqliteStatement;
    },
  };
}
