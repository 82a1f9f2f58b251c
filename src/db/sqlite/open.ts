import type { fdatasync } from 'node:fs';
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { DurableSqliteDialect } from './driver.ts';
import { WalSync } from './wal-sync.ts';

/** How long a write waits for another process's lock (a CLI import) before SQLITE_BUSY: it blocks the thread. */
export const BUSY_TIMEOUT_MS = 1000;

/** Log pages before a commit copies them into the database: saves rewrite the same few pages (bench/RESULTS.md). */
export const WAL_AUTOCHECKPOINT_PAGES = 10_000;

/** An open SQLite database: the Kysely instance the app uses, and the SQLite connection under it. */
export interface SqliteConnection {
  engine: 'sqlite';
  db: Kysely<Database>;
  /** The raw connection, for what Kysely does not wrap: the online backup API, pragmas. */
  sqlite: SQLite.Database;
  /** The file (absolute), or `:memory:`. */
  path: string;
  wal: WalSync;
}

export interface SqliteOptions {
  /** Open an existing file for reading only; nothing is created. */
  readonly?: boolean;
  /** Fail if the file does not exist yet instead of creating it. */
  mustExist?: boolean;
  /** What fsyncs the write-ahead log (fs.fdatasync; a stand-in for the tests). */
  flushLog?: typeof fdatasync;
}

/**
 * Opens an SQLite file in WAL mode with synchronous=NORMAL and a group commit
 * (see WalSync); foreign keys enforced; erased content overwritten
 * (secure_delete), so an erased response does not linger in free pages.
 * A new file is readable by its owner only, like the cookie secret.
 */
export function openSqlite(path: string, options: SqliteOptions = {}): SqliteConnection {
  const readonly = options.readonly ?? false;
  if (path !== ':memory:' && !readonly && !options.mustExist) {
    mkdirSync(dirname(path), { recursive: true });
    // SQLite gives the log and shared-memory files the database file's mode.
    if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
  }
  const sqlite = new SQLite(path, { readonly, fileMustExist: readonly || (options.mustExist ?? false) });
  try {
    if (!readonly) sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('secure_delete = ON');
    if (!readonly) sqlite.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
    sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  } catch (err) {
    sqlite.close();
    throw err;
  }
  const wal = new WalSync(path === ':memory:' || readonly ? undefined : `${path}-wal`, options.flushLog);
  const db = new Kysely<Database>({ dialect: new DurableSqliteDialect(sqlite, wal) });
  return { engine: 'sqlite', db, sqlite, path, wal };
}
