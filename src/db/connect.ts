import { randomBytes } from 'node:crypto';
import { closeSync, fdatasync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SQLite from 'better-sqlite3';
import {
  type DatabaseConnection,
  type Driver,
  Kysely,
  PostgresDialect,
  SqliteAdapter,
  type SqliteDatabase,
  SqliteDialect,
  SqliteDriver,
  type SqliteStatement,
} from 'kysely';
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

/**
 * How many pages the write-ahead log may hold before a commit copies them into
 * the database (SQLite's default is 1,000). Each copy runs inside the commit
 * that crosses the mark, on the event loop, and costs two fsyncs; the pages a
 * save changes (the response's, the running counts') are mostly the same few,
 * so ten times fewer copies write far fewer pages in all. Measured: a tenth
 * more whole journeys a second, the log at most about 40 MB.
 */
export const WAL_AUTOCHECKPOINT_PAGES = 10_000;

/** An open SQLite database: the Kysely instance the app uses, and the SQLite connection under it. */
export interface SqliteConnection {
  engine: 'sqlite';
  db: Kysely<Database>;
  /** The raw connection, for what Kysely does not wrap: the online backup API, pragmas. */
  sqlite: SQLite.Database;
  /** The file (absolute), or `:memory:`. */
  path: string;
  /** The write-ahead log's fsyncs: see WalSync. */
  wal: WalSync;
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
  /**
   * PostgreSQL: the server's limits on each session (statements cancelled
   * after a minute, idle transactions ended), so that no request holds locks
   * for long. Off for the command line, whose copies and recounts run long.
   */
  requestLimits?: boolean;
  /** SQLite: what fsyncs the write-ahead log (fs.fdatasync; a stand-in for the tests). */
  flushLog?: typeof fdatasync;
}

/**
 * Opens the database named by DATABASE_URL and migrates it. SQLite runs in WAL
 * mode with synchronous=NORMAL and a group commit (see WalSync): every write
 * (each page's answers, and the one that completes a response) is fsynced to
 * the write-ahead log before the query or transaction that made it resolves,
 * so before the respondent is told it is saved, and it survives a crash of
 * the process and a power cut. The fsync runs off the event loop and is shared
 * by every commit made while the previous one was running. Foreign keys are
 * enforced; deleted content is overwritten (secure_delete), so an erased
 * response does not linger in free pages.
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
    // NORMAL: a commit is not fsynced by SQLite itself; WalSync does it, off the event loop, before it is acknowledged.
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
  const db = new Kysely<Database>({ dialect: new DurableSqliteDialect(transactionsForWriting(sqlite, wal), wal) });
  walSyncs.set(db, wal);
  return { engine: 'sqlite', db, sqlite, path, wal };
}

const walSyncs = new WeakMap<Kysely<Database>, WalSync>();

/**
 * Resolves once everything written to the database so far is on disk. A write
 * is acknowledged only once it is (see WalSync), so this matters only before
 * showing what another request may have just written, such as the thank-you
 * page a second tab reaches while the first is still sending. On PostgreSQL a
 * commit is on disk before anyone can read it: it resolves at once.
 */
export function whenDurable(db: Kysely<Database>): Promise<void> {
  return walSyncs.get(db)?.durable() ?? Promise.resolve();
}

/**
 * SQLite: the fsync of the log running now, when no other is queued behind
 * it (see WalSync.inFlight); it settles when that fsync ends, either way. On
 * PostgreSQL, or with no fsync running, undefined.
 */
export function fsyncRunning(db: Kysely<Database>): Promise<void> | undefined {
  return walSyncs.get(db)?.inFlight;
}

/** Connections each process keeps open to PostgreSQL (PG_POOL_SIZE): see the README's "Running at scale". */
export const DEFAULT_PG_POOL_SIZE = 10;

/**
 * Opens a PostgreSQL database for openDatabase, over a pool of connections.
 * Counts (bigint) come back as numbers, as they do from SQLite: a survey's
 * counts stay far below 2^53. Every session runs with synchronous_commit on,
 * whatever the server's default, so a commit (each page's answers, and the
 * one behind "thank you") is on the server's disk before we answer. With
 * requestLimits (the server), a statement that runs past a minute is
 * cancelled rather than left to hold locks. A connection that cannot be had
 * in five seconds fails the request with a "try again" page instead of
 * queueing it for ever.
 */
function openPostgres(databaseUrl: string, options: OpenOptions = {}): PostgresConnection {
  const size = Number(process.env.PG_POOL_SIZE ?? DEFAULT_PG_POOL_SIZE);
  const settings = ['-c synchronous_commit=on'];
  if (options.requestLimits)
    settings.push('-c statement_timeout=60000', '-c idle_in_transaction_session_timeout=60000');
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
export async function connect(databaseUrl: string, options: OpenOptions = {}): Promise<Kysely<Database>> {
  return (await openDatabase(databaseUrl, options)).db;
}

const NOTHING_TO_ROLL_BACK: SqliteStatement = {
  reader: false,
  all: () => [],
  run: () => ({ changes: 0, lastInsertRowid: 0 }),
  iterate: () => [][Symbol.iterator](),
};

/** Prepared statements kept per connection, by their SQL; longer SQL (bulk inserts of many rows) is not kept. */
const STATEMENT_CACHE_SIZE = 500;
const CACHED_SQL_MAX_LENGTH = 4096;

/**
 * The connection as Kysely sees it, with three differences.
 *
 * Transactions begin IMMEDIATE, taking the write lock first. Every
 * transaction here writes, and most read first (what a response counted for
 * before); a DEFERRED one that has read cannot wait for the lock when another
 * process holds it (SQLite does not call the busy handler then, to avoid
 * deadlock) and fails at once, or fails with SQLITE_BUSY_SNAPSHOT if another
 * process wrote in between. IMMEDIATE waits up to busy_timeout, then fails
 * cleanly.
 *
 * A ROLLBACK when no transaction is open does nothing. After SQLITE_FULL or
 * SQLITE_IOERR, SQLite may already have rolled the transaction back itself;
 * Kysely's own ROLLBACK would then fail with "no transaction is active" and
 * hide the real error, which is the one that tells the respondent to try again.
 *
 * Statements are prepared once per SQL text and kept (Kysely's driver would
 * prepare each one afresh: a tenth of a page save's time). A kept statement
 * still being iterated (a `.stream()`) is busy and cannot run again until it
 * is done, so a fresh one is prepared for that call instead. Every statement
 * that may write marks the WalSync, so the query or transaction that ran it
 * waits for its fsync.
 */
function transactionsForWriting(sqlite: SQLite.Database, wal: WalSync): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  const prepared = (sql: string): SQLite.Statement => {
    const kept = cache.get(sql);
    if (kept && !kept.busy) return kept;
    const statement = sqlite.prepare(sql);
    if (!kept && sql.length <= CACHED_SQL_MAX_LENGTH) {
      if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
      cache.set(sql, statement);
    }
    return statement;
  };
  return {
    close: () => {
      wal.close();
      sqlite.close();
    },
    prepare: (sql: string) => {
      if (/^\s*begin\s*;?\s*$/i.test(sql)) sql = 'begin immediate';
      else if (/^\s*rollback\s*;?\s*$/i.test(sql) && !sqlite.inTransaction) return NOTHING_TO_ROLL_BACK;
      const statement = prepared(sql);
      if (!statement.reader) wal.written();
      return statement as unknown as SqliteStatement;
    },
  };
}

/**
 * Group commit for SQLite in WAL mode. With synchronous=NORMAL a commit is
 * written to the write-ahead log (the kernel holds it: a crash of the process
 * loses nothing) but not fsynced; this fsyncs the log, on libuv's thread pool
 * so the event loop goes on serving, before any query or transaction that
 * wrote is acknowledged to its caller (see DurableSqliteDriver). One fsync
 * covers every commit made before it began, so fifty respondents saving at
 * once share a few fsyncs instead of queueing for fifty on the main thread.
 *
 * Why an fsync of the log file is enough: SQLite's synchronous=FULL differs
 * from NORMAL in WAL mode only by that fsync at each commit. A checkpoint
 * (under NORMAL too) fsyncs the log before copying it into the database and
 * the database after, so a commit already checkpointed is durable, and the log
 * only restarts from its beginning after such a checkpoint.
 */
export class WalSync {
  /** Statements that may have written so far; `synced` of them are known to be on disk. */
  private writes = 0;
  private synced = 0;
  private running: Promise<void> | undefined;
  private runningUpTo = 0;
  private queued: Promise<void> | undefined;
  /** fsyncs done: for the tests. */
  fsyncs = 0;
  /** The log file, open for fsyncs (see fdatasync). */
  private fd: number | undefined;
  private closed = false;
  /**
   * The first fsync that failed. After it nothing is acknowledged again until
   * the database is opened afresh (the server restarted): on Linux a failed
   * fsync may have dropped some of the log's pages from the cache and cleared
   * the error, so a later fsync that succeeds proves nothing about them, and
   * SQLite's recovery stops at the first missing page, taking every later
   * commit with it. PostgreSQL stops for the same reason.
   */
  private failed: Error | undefined;

  /**
   * @param walPath the log file, or undefined where there is nothing to fsync (in memory, read-only).
   * @param flush fs.fdatasync, or a stand-in for the tests.
   */
  constructor(
    private readonly walPath: string | undefined,
    private readonly flush: typeof fdatasync = fdatasync,
  ) {}

  /** Marks a statement that may write: the next durable() waits for an fsync after it. */
  written() {
    this.writes++;
  }

  /** How many writes have been marked so far (compare with a later count to tell whether anything was written). */
  get marked(): number {
    return this.writes;
  }

  /**
   * The fsync running now (settling when it ends, either way), if there is
   * one and no other is queued behind it. A write made now would wait for it
   * and then for a whole fsync more; a write made after it ends, for one
   * fsync. With one queued already, a write made now is covered by that one.
   */
  get inFlight(): Promise<void> | undefined {
    if (!this.running || this.queued) return undefined;
    return this.running.catch(() => {});
  }

  /** Whether every marked write is known to be on disk. */
  get clean(): boolean {
    return this.synced >= this.writes || this.walPath === undefined;
  }

  /** Resolves once every write marked so far is on disk (rejects, with an SQLITE_IOERR code, if the fsync failed). */
  durable(upTo = this.writes): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.walPath === undefined || this.synced >= upTo) return Promise.resolve();
    if (this.running && this.runningUpTo >= upTo) return this.running;
    // An fsync already running may have begun before these writes: queue one more, shared by all who wait now.
    this.queued ??= (this.running ?? Promise.resolve())
      .catch(() => {})
      .then(() => {
        this.queued = undefined;
        // Writes that waited behind a failed fsync are not vouched for by a later one (see failed).
        if (this.failed) throw this.failed;
        return this.fsync();
      });
    return this.queued;
  }

  /** Closes the log file kept open for the fsyncs, once any fsync running now is done. */
  close() {
    this.closed = true;
    const closeFile = () => {
      if (this.fd !== undefined) closeSync(this.fd);
      this.fd = undefined;
    };
    if (this.running) void this.running.catch(() => {}).finally(closeFile);
    else closeFile();
  }

  /**
   * fdatasync of the log, on libuv's thread pool. The file is opened once and
   * kept (opening and closing it for each fsync was 1% of the CPU): SQLite
   * keeps the log's file while the database is open, truncating it in place
   * at most. After an error there is no next fsync (see failed).
   */
  private async fdatasync(): Promise<void> {
    if (this.fd === undefined) {
      if (this.closed) return;
      try {
        this.fd = openSync(this.walPath as string, 'r');
      } catch (err) {
        // No log file: SQLite removes it only after checkpointing every commit into the (fsynced) database.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw storageError(err);
      }
    }
    const fd = this.fd;
    await new Promise<void>((resolve, reject) =>
      this.flush(fd, (err) => (err ? reject(storageError(err)) : resolve())),
    );
  }

  private fsync(): Promise<void> {
    const target = this.writes;
    const running = this.fdatasync().then(
      () => {
        this.fsyncs++;
        this.synced = Math.max(this.synced, target);
      },
      (err: Error) => {
        this.failed ??= Object.assign(
          new Error(`${err.message}; nothing written since can be acknowledged until the server is restarted`),
          { code: (err as Error & { code?: string }).code },
        );
        throw this.failed;
      },
    );
    this.running = running;
    this.runningUpTo = target;
    void running
      .finally(() => {
        if (this.running === running) this.running = undefined;
      })
      .catch(() => {});
    return running;
  }
}

/** An fsync failure, coded as SQLite codes a failed write, so the respondent gets the "try again" page. */
function storageError(err: unknown): Error {
  const error = new Error(`could not flush the write-ahead log: ${String(err)}`) as Error & { code: string };
  error.code = 'SQLITE_IOERR_FSYNC';
  return error;
}

/**
 * Kysely's SQLite driver, serialising its one connection itself (Kysely's own
 * lock is held until release returns, and would make every transaction wait
 * out the previous one's fsync) in first-come order, and holding back the
 * caller of a query or transaction that wrote until WalSync has it on disk,
 * after the connection is free for the next.
 */
class DurableSqliteDriver extends SqliteDriver {
  private busy = false;
  private readonly waiting: (() => void)[] = [];
  private writesBefore = 0;

  constructor(
    database: SqliteDatabase,
    private readonly wal: WalSync,
  ) {
    super({ database });
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    if (this.busy) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.busy = true;
    this.writesBefore = this.wal.marked;
    return super.acquireConnection();
  }

  override async releaseConnection(): Promise<void> {
    const wrote = this.wal.marked !== this.writesBefore;
    const upTo = this.wal.marked;
    const next = this.waiting.shift();
    if (next) next();
    else this.busy = false;
    if (wrote) await this.wal.durable(upTo);
  }
}

/** The driver above, for the lock it keeps itself; everything else is Kysely's SQLite dialect. */
class DurableSqliteDialect extends SqliteDialect {
  constructor(
    private readonly database: SqliteDatabase,
    private readonly wal: WalSync,
  ) {
    super({ database });
  }

  override createDriver(): Driver {
    return new DurableSqliteDriver(this.database, this.wal);
  }

  override createAdapter() {
    return new (class extends SqliteAdapter {
      // One connection still, but DurableSqliteDriver serialises it: Kysely need not lock it too.
      override get supportsMultipleConnections() {
        return true;
      }
    })();
  }
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
