import type SQLite from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  SqliteAdapter,
  type SqliteDatabase,
  SqliteDialect,
  SqliteDriver,
  type SqliteStatement,
} from 'kysely';
import type { WalSync } from './wal-sync.ts';

/** Prepared statements kept per connection, by their SQL; longer SQL (bulk inserts of many rows) is not kept. */
const STATEMENT_CACHE_SIZE = 500;
const CACHED_SQL_MAX_LENGTH = 4096;

/**
 * The connection as Kysely's driver sees it: statements prepared once per SQL
 * text and kept (a kept statement still being iterated by a stream is busy, so
 * a fresh one is prepared for that call), and every statement that may write
 * marked on the WalSync, so its query or transaction waits for the fsync.
 */
function keptStatements(sqlite: SQLite.Database, wal: WalSync): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => {
      wal.close();
      sqlite.close();
    },
    prepare: (sql: string) => {
      let statement = cache.get(sql);
      if (!statement || statement.busy) {
        const fresh = sqlite.prepare(sql);
        if (!statement && sql.length <= CACHED_SQL_MAX_LENGTH) {
          if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
          cache.set(sql, fresh);
        }
        statement = fresh;
      }
      if (!statement.reader) wal.written();
      return statement as unknown as SqliteStatement;
    },
  };
}

/**
 * Kysely's SQLite driver, with SQLite's quirks as overrides:
 * - transactions begin IMMEDIATE, taking the write lock first: a DEFERRED one
 *   that has read cannot wait for another process's lock and fails at once;
 * - a rollback after SQLite has already rolled back (SQLITE_FULL, IOERR) does
 *   nothing, so the error the respondent is told about is the real one;
 * - the one connection is serialised here, first come first served, and the
 *   caller of a query or transaction that wrote is held back until WalSync has
 *   it on disk, after the connection is free for the next.
 */
class DurableSqliteDriver extends SqliteDriver {
  private busy = false;
  private readonly waiting: (() => void)[] = [];
  private writesBefore = 0;

  constructor(
    private readonly sqlite: SQLite.Database,
    private readonly wal: WalSync,
  ) {
    super({ database: keptStatements(sqlite, wal) });
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

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }

  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    if (this.sqlite.inTransaction) await super.rollbackTransaction(connection);
  }
}

/** Kysely's SQLite dialect over DurableSqliteDriver. */
export class DurableSqliteDialect extends SqliteDialect {
  constructor(
    private readonly sqlite: SQLite.Database,
    private readonly wal: WalSync,
  ) {
    super({ database: sqlite as unknown as SqliteDatabase });
  }

  override createDriver(): Driver {
    return new DurableSqliteDriver(this.sqlite, this.wal);
  }

  override createAdapter() {
    return new (class extends SqliteAdapter {
      // DurableSqliteDriver serialises its one connection itself: Kysely need not lock it too.
      override get supportsMultipleConnections() {
        return true;
      }
    })();
  }
}
