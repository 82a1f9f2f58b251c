import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import type { Database } from '../../src/db/schema.ts';
import { cookieSecretFor } from '../../src/db/secrets.ts';
import { engineOf, redactUrl } from '../../src/db/url.ts';
import { isStorageUnavailable } from '../../src/plugins/errors.ts';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('DATABASE_URL', () => {
  it('names PostgreSQL by its URL, and anything else is an SQLite file', () => {
    dir = mkdtempSync(join(tmpdir(), 'soundings-config-'));
    expect(engineOf('postgres://u:p@db.internal:5432/soundings')).toBe('postgres');
    expect(engineOf('postgresql://db/soundings')).toBe('postgres');
    for (const url of ['./data/soundings.sqlite', 'sqlite:data/x.sqlite', ':memory:', '/srv/postgres/x.sqlite'])
      expect(engineOf(url), url).toBe('sqlite');
    expect(redactUrl('postgres://soundings:s3cret@db:5432/soundings')).toBe(
      'postgres://soundings:***@db:5432/soundings',
    );
    expect(redactUrl('./data/soundings.sqlite')).toBe('./data/soundings.sqlite');
  });
});

describe('the cookie secret', () => {
  it('is generated once beside an SQLite database, readable by its owner only, and the same for every process', async () => {
    dir = mkdtempSync(join(tmpdir(), 'soundings-config-'));
    const database = loadConfig({ DATABASE_URL: join(dir, 'db', 'soundings.sqlite') }).database;
    // Reading the configuration writes nothing: the secret is made where the database is opened.
    expect(existsSync(join(dir, 'db'))).toBe(false);
    const unused = {} as Kysely<Database>;
    const first = await cookieSecretFor(undefined, database, unused);
    expect(first).toMatch(/^[\w-]{43}$/);
    expect(await cookieSecretFor(undefined, database, unused)).toBe(first);
    expect(readdirSync(join(dir, 'db'))).toEqual(['cookie-secret']);
    expect(statSync(join(dir, 'db', 'cookie-secret')).mode & 0o777).toBe(0o600);
  });

  it('comes from COOKIE_SECRET when set; on PostgreSQL without it, from the database', () => {
    dir = mkdtempSync(join(tmpdir(), 'soundings-config-'));
    const secret = 'x'.repeat(40);
    expect(loadConfig({ DATABASE_URL: join(dir, 'a.sqlite'), COOKIE_SECRET: secret }).cookieSecret).toBe(secret);
    const postgres = loadConfig({ DATABASE_URL: 'postgres://soundings@127.0.0.1:1/soundings', PG_POOL_SIZE: '4' });
    expect(postgres.cookieSecret).toBeUndefined();
    expect(postgres.database).toEqual({
      engine: 'postgres',
      url: 'postgres://soundings@127.0.0.1:1/soundings',
      poolSize: 4,
    });
    expect(() => loadConfig({ DATABASE_URL: 'postgres://db/x', COOKIE_SECRET: 'short' })).toThrow(/at least 32/);
    expect(() => loadConfig({ PG_POOL_SIZE: '0' })).toThrow(/PG_POOL_SIZE/);
  });
});

describe('a database that cannot answer just now', () => {
  it('is told apart from faults on either engine, so the respondent is asked to try again', () => {
    const unavailable = [
      { code: 'SQLITE_BUSY' },
      { code: 'SQLITE_FULL' },
      { code: 'SQLITE_IOERR_WRITE' },
      { code: '08006' }, // connection failure
      { code: '53100' }, // disk full
      { code: '53300' }, // too many connections
      { code: '57P01' }, // admin shutdown
      { code: '57P03' }, // cannot connect now (starting up)
      { code: '40001' }, // serialization failure
      { code: '40P01' }, // deadlock
      { code: '25006' }, // read-only (a standby)
      { code: 'ECONNREFUSED' },
      new AggregateError([Object.assign(new Error('connect'), { code: 'ECONNREFUSED' })]),
      new Error('timeout exceeded when trying to connect'),
      new Error('Connection terminated unexpectedly'),
    ];
    for (const error of unavailable) expect(isStorageUnavailable(error), JSON.stringify(error)).toBe(true);
    const faults = [
      { code: 'SQLITE_CONSTRAINT_PRIMARYKEY' },
      { code: '23505' }, // unique violation: a bug, not the weather
      { code: '42P01' }, // undefined table
      { code: '22001' }, // value too long
      new Error('something else'),
      null,
      undefined,
    ];
    for (const error of faults) expect(isStorageUnavailable(error), String(error)).toBe(false);
  });
});

describe('TRUST_PROXY', () => {
  const trust = (value: string | undefined) => loadConfig(value === undefined ? {} : { TRUST_PROXY: value }).trustProxy;

  it('trusts nothing when unset, false or 0', () => {
    for (const value of [undefined, '', 'false', 'FALSE', '0', ' 0 ']) expect(trust(value), String(value)).toBe(false);
  });

  it('takes a positive whole number as the number of proxies in front', () => {
    expect(trust('1')).toBe(1);
    expect(trust(' 2 ')).toBe(2);
  });

  it('takes a comma-separated list of proxy addresses and CIDR ranges, IPv4 and IPv6', () => {
    expect(trust('10.0.0.0/8')).toEqual(['10.0.0.0/8']);
    expect(trust(' 10.0.0.0/8, 192.168.1.5 ,2001:db8::/32,::1')).toEqual([
      '10.0.0.0/8',
      '192.168.1.5',
      '2001:db8::/32',
      '::1',
    ]);
  });

  it('refuses true, saying why and what to write instead', () => {
    for (const value of ['true', 'TRUE', 'yes']) {
      expect(() => trust(value), value).toThrow(/TRUST_PROXY/);
    }
    let message = '';
    try {
      trust('true');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/any client/);
    expect(message).toContain('TRUST_PROXY=1');
    expect(message).toContain('TRUST_PROXY=10.0.0.0/8');
  });

  it('lists every entry that is not an address or a range, and refuses a range that is everyone', () => {
    let message = '';
    try {
      trust('10.0.0.0/8, banana,10.0.0.0/33, 0.0.0.0/0, ::/0, 300.1.1.1,,-1');
    } catch (err) {
      message = (err as Error).message;
    }
    for (const bad of ['"banana"', '"10.0.0.0/33"', '"0.0.0.0/0"', '"::/0"', '"300.1.1.1"', '""', '"-1"'])
      expect(message, bad).toContain(bad);
    expect(message).not.toContain('"10.0.0.0/8"');
  });
});
