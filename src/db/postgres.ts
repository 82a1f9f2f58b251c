import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import Cursor from 'pg-cursor';
import type { Database } from './schema.ts';

/** An open PostgreSQL database: the Kysely instance, over a pool of connections. */
export interface PostgresConnection {
  engine: 'postgres';
  db: Kysely<Database>;
  pool: pg.Pool;
}

export interface PostgresOptions {
  poolSize: number;
  /** Statements cancelled after a minute and idle transactions ended, so no request holds locks for long. */
  requestLimits?: boolean;
  readonly?: boolean;
}

/**
 * Opens a pool on a PostgreSQL database. Every session commits synchronously,
 * whatever the server's default, so a commit is on the server's disk before
 * we answer; a connection not had within five seconds fails the request with
 * a "try again" page rather than queueing it for ever. Counts (bigint) come
 * back as numbers, as from SQLite: a survey's counts stay far below 2^53.
 */
export function openPostgres(url: string, options: PostgresOptions): PostgresConnection {
  const settings = ['-c synchronous_commit=on'];
  if (options.requestLimits)
    settings.push('-c statement_timeout=60000', '-c idle_in_transaction_session_timeout=60000');
  if (options.readonly) settings.push('-c default_transaction_read_only=on');
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    options: settings.join(' '),
    application_name: 'soundings',
    types: { getTypeParser: typeParser },
  });
  // An idle connection the server drops (a restart) must not crash the process: the next query reconnects.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool, cursor: Cursor }) });
  return { engine: 'postgres', db, pool };
}

const INT8_OID = 20;
function typeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
  if (oid === INT8_OID && format !== 'binary') return (value: string) => Number(value);
  return pg.types.getTypeParser(oid, format ?? 'text') as (value: string) => unknown;
}
