import type { fdatasync } from 'node:fs';
import type { Kysely } from 'kysely';
import { migrateToLatest } from './migrate.ts';
import { openPostgres, type PostgresConnection } from './postgres.ts';
import type { Database } from './schema.ts';
import { openSqlite, type SqliteConnection } from './sqlite/open.ts';
import type { WalSync } from './sqlite/wal-sync.ts';
import { type DatabaseConfig, describeDatabase, parseDatabaseUrl } from './url.ts';

export type { PostgresConnection } from './postgres.ts';
export type { SqliteConnection } from './sqlite/open.ts';

export type Connection = SqliteConnection | PostgresConnection;

export interface OpenOptions {
  /** Open for reading only; nothing is created or migrated. */
  readonly?: boolean;
  /** SQLite: fail if the file does not exist yet instead of creating it. */
  mustExist?: boolean;
  /** Bring the schema up to date (the default, except read-only). */
  migrate?: boolean;
  /** PostgreSQL: the server's limits on each session (see openPostgres); off for the command line's long runs. */
  requestLimits?: boolean;
  /** SQLite: what fsyncs the write-ahead log (fs.fdatasync; a stand-in for the tests). */
  flushLog?: typeof fdatasync;
}

const walSyncs = new WeakMap<Kysely<Database>, WalSync>();

/**
 * Opens the database (a config from config.ts, or a URL) and migrates it.
 * Every write is on disk before the query or transaction that made it
 * resolves: on SQLite by the group commit of WalSync, on PostgreSQL by a
 * synchronous commit.
 */
export async function openDatabase(target: string | DatabaseConfig, options: OpenOptions = {}): Promise<Connection> {
  const database = parseDatabaseUrl(target);
  const connection: Connection =
    database.engine === 'postgres'
      ? openPostgres(database.url, { poolSize: database.poolSize, ...options })
      : openSqlite(database.path, options);
  if (connection.engine === 'sqlite') walSyncs.set(connection.db, connection.wal);
  if (options.migrate ?? !options.readonly) {
    try {
      await migrateToLatest(connection.db);
    } catch (err) {
      await connection.db.destroy();
      throw err;
    }
  }
  return connection;
}

/** openDatabase for an SQLite file only: for what only SQLite has (its backup API, pragmas, the file itself). */
export async function openSqliteDatabase(
  target: string | DatabaseConfig,
  options: OpenOptions = {},
): Promise<SqliteConnection> {
  const database = parseDatabaseUrl(target);
  if (database.engine !== 'sqlite') throw new Error(`${describeDatabase(database)} is not an SQLite database`);
  return (await openDatabase(database, options)) as SqliteConnection;
}

/** openDatabase, for callers that need only the Kysely instance. */
export async function connect(target: string | DatabaseConfig, options: OpenOptions = {}): Promise<Kysely<Database>> {
  return (await openDatabase(target, options)).db;
}

/**
 * Resolves once everything written so far is on disk: before showing what
 * another request may have just written (the thank-you page a second tab
 * reaches while the first is still sending). At once on PostgreSQL.
 */
export function whenDurable(db: Kysely<Database>): Promise<void> {
  return walSyncs.get(db)?.durable() ?? Promise.resolve();
}

/** SQLite: the fsync of the log running now, when none is queued behind it (see WalSync.inFlight). */
export function fsyncRunning(db: Kysely<Database>): Promise<void> | undefined {
  return walSyncs.get(db)?.inFlight;
}
