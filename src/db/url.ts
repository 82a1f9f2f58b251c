import { resolve } from 'node:path';

/** The two engines: SQLite embedded in the process (the default), or a PostgreSQL server. */
export type Engine = 'sqlite' | 'postgres';

/** Where the data lives, as parsed from DATABASE_URL (and PG_POOL_SIZE) by config.ts. */
export type DatabaseConfig = { engine: 'sqlite'; path: string } | { engine: 'postgres'; url: string; poolSize: number };

/** Connections each process keeps open to PostgreSQL when PG_POOL_SIZE is not set. */
export const DEFAULT_PG_POOL_SIZE = 10;

/** Which engine a URL names: a `postgres://` or `postgresql://` URL, or else an SQLite file. */
export function engineOf(databaseUrl: string): Engine {
  return /^postgres(ql)?:\/\//i.test(databaseUrl) ? 'postgres' : 'sqlite';
}

/** An SQLite file path (or `sqlite:` / `file:` URL) made absolute; `:memory:` as it is. */
export function sqlitePath(databaseUrl: string): string {
  const path = databaseUrl.replace(/^sqlite:(\/\/)?/, '').replace(/^file:(\/\/)?/, '');
  return path === ':memory:' ? path : resolve(path);
}

/** A URL (or a config already parsed) as the database it names. */
export function parseDatabaseUrl(
  target: string | DatabaseConfig,
  poolSize: number = DEFAULT_PG_POOL_SIZE,
): DatabaseConfig {
  if (typeof target !== 'string') return target;
  return engineOf(target) === 'postgres'
    ? { engine: 'postgres', url: target, poolSize }
    : { engine: 'sqlite', path: sqlitePath(target) };
}

/** A Postgres URL with any password hidden, for messages and logs. */
export function redactUrl(databaseUrl: string): string {
  return engineOf(databaseUrl) === 'postgres' ? databaseUrl.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@') : databaseUrl;
}

/** The database for messages and logs: the SQLite file, or the PostgreSQL URL without its password. */
export function describeDatabase(database: DatabaseConfig): string {
  return database.engine === 'sqlite' ? database.path : redactUrl(database.url);
}
