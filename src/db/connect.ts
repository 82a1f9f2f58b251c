import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, type SqliteDatabase, SqliteDialect, type SqliteStatement } from 'kysely';
import pg from 'pg';
import Cursor from 'pg-cursor';
import { migrateToLatest } from './migrate.ts';
import type { Database } from './schema.ts';

/** The two engines: SQLite embedded in the process (the default), or a PostgreSQL server. */
export type Engine = 'sqlite' | 'postgres';

/** Which engine DATABASE_URL names: a `postgres://` or `postgresql://` URL, or else an SQLite file. */
export function engineOf(databaseUrl: string): Engine {
  return /^postgres(ql)?:\/\//i.test(databaseUrl) ? 'postgres' : 'sqlite';
}

/** A Postgres URL with any password hidden, for messages and logs. */
export function redactUrl(databaseUrl: string): string {
  return engineOf(databaseUrl) === 'postgres' ? databaseUrl.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@') : databaseUrl;
}

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

/** An open SQLite database: the Kysely instance the app uses, and the SQLite connection under it. */
export interface SqliteConnection {
  engine: 'sqlite';
  db: Kysely<Database>;
  /** The raw connection, for what Kysely does not wrap: the online backup API, pragmas. */
  sqlite: SQLite.Database;
  /** The file (absolute), or `:memory:`. */
  path: string;
}

/** An open PostgreSQL database: the Kysely instance, over a pool of connections. */
export interface PostgresConnection {
  engine: 'postgres';
  db: Kysely<Database>;
  pool: pg.Pool;
}

export type Connection = SqliteConnection | PostgresConnection;

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
  return engineOf(databaseUrl) === 'postgres'
    ? migrated(openPostgres(databaseUrl, options), options)
    : openSqliteDatabase(databaseUrl, options);
}

/** openDatabase for an SQLite file only: for what only SQLite has (its backup API, pragmas, the file itself). */
export function openSqliteDatabase(databaseUrl: string, options: OpenOptions = {}): Promise<SqliteConnection> {
  if (engineOf(databaseUrl) !== 'sqlite') throw new Error(`${redactUrl(databaseUrl)} is not an SQLite database`);
  return migrated(openSqlite(databaseUrl, options), options);
}

async function migrated<C extends Connection>(connection: C, options: OpenOptions): Promise<C> {
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

/** Opens an SQLite database for openDatabase (see there), not yet migrated. */
function openSqlite(databaseUrl: string, options: OpenOptions = {}): SqliteConnection {
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
  return { engine: 'sqlite', db, sqlite, path };
}

/** Connections each process keeps open to PostgreSQL (PG_POOL_SIZE): see the README's "Running at scale". */
export const DEFAULT_PG_POOL_SIZE = 10;

/**
 * Opens a PostgreSQL database for openDatabase, over a pool of connections.
 * Counts (bigint) come back as numbers, as they do from SQLite: a survey's
 * counts stay far below 2^53. Every session runs with synchronous_commit on,
 * whatever the server's default, so a commit (each page's answers, and the
 * one behind "thank you") is on the server's disk before we answer. A
 * statement that runs past a minute is cancelled rather than left to hold
 * locks, and a connection that cannot be had in five seconds fails the
 * request with a "try again" page instead of queueing it for ever.
 */
function openPostgres(databaseUrl: string, options: OpenOptions = {}): PostgresConnection {
  const size = Number(process.env.PG_POOL_SIZE ?? DEFAULT_PG_POOL_SIZE);
  const settings = [
    '-c synchronous_commit=on',
    '-c statement_timeout=60000',
    '-c idle_in_transaction_session_timeout=60000',
  ];
  if (options.readonly) settings.push('-c default_transaction_read_only=on');
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: Number.isInteger(size) && size > 0 ? size : DEFAULT_PG_POOL_SIZE,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    options: settings.join(' '),
    application_name: 'soundings',
    types: { getTypeParser: typeParser },
  });
  // An idle connection that the server drops (a restart, say) must not crash the process: the next query reconnects.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool, cursor: Cursor }) });
  return { engine: 'postgres', db, pool };
}

const INT8_OID = 20;
function typeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
  if (oid === INT8_OID && format !== 'binary') return (value: string) => Number(value);
  return pg.types.getTypeParser(oid, format ?? 'text') as (value: string) => unknown;
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

/**
 * A secret kept in the database, generated by whichever app instance asks
 * first: every instance on one database then signs with the same key, so a
 * respondent whose requests land on different instances keeps their draft
 * and their form tokens stay valid.
 */
export async function sharedSecret(db: Kysely<Database>, name: string): Promise<string> {
  await db
    .insertInto('shared_secrets')
    .values({ name, value: randomBytes(32).toString('base64url') })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  return (await db.selectFrom('shared_secrets').select('value').where('name', '=', name).executeTakeFirstOrThrow())
    .value;
}
