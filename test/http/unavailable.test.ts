import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { openSqliteDatabase } from '../../src/db/open.ts';
import type { Database } from '../../src/db/schema.ts';
import type { OverloadSettings } from '../../src/plugins/overload.ts';
import { cspSurvey, FORM, form, Respondent, testConfig } from '../helpers.ts';

let app: FastifyInstance;
let db: Kysely<Database>;
let dir: string;

async function start(overload?: Partial<OverloadSettings>) {
  dir = mkdtempSync(join(tmpdir(), 'soundings-unavailable-'));
  const databaseUrl = join(dir, 'test.sqlite');
  db = (await openSqliteDatabase(databaseUrl)).db;
  app = await buildApp({
    db,
    config: testConfig({ database: { engine: 'sqlite', path: databaseUrl } }),
    surveys: [cspSurvey()],
    ...(overload ? { overload } : {}),
  });
}

afterEach(async () => {
  await app.close();
  rmSync(dir, { recursive: true, force: true });
});

const answersOf = async () => (await db.selectFrom('responses').select('answers').executeTakeFirstOrThrow()).answers;

describe('when the database cannot write just now', () => {
  const faults = [
    ['SQLITE_FULL', 'database or disk is full'],
    ['SQLITE_BUSY', 'database is locked'],
    ['SQLITE_BUSY_SNAPSHOT', 'database is locked'],
    ['SQLITE_LOCKED', 'database table is locked'],
    ['SQLITE_READONLY', 'attempt to write a readonly database'],
    ['SQLITE_READONLY_DBMOVED', 'attempt to write a readonly database'],
    ['SQLITE_IOERR_WRITE', 'disk I/O error'],
    ['SQLITE_IOERR_FSYNC', 'disk I/O error'],
    ['SQLITE_CANTOPEN', 'unable to open database file'],
  ] as const;

  it.each(faults)('%s: a 503 "try again" page with Retry-After, no stack trace', async (code, message) => {
    await start();
    const fail = async () => {
      throw new SQLite.SqliteError(message, code);
    };
    app.get('/fault', fail);
    app.post('/fault', fail);
    app.post('/admin/fault', fail);

    const saving = await app.inject({ method: 'POST', url: '/fault', headers: FORM, payload: form({ a: 'b' }) });
    expect(saving.statusCode).toBe(503);
    expect(saving.headers['retry-after']).toBe('10');
    expect(saving.headers['cache-control']).toBe('no-store');
    expect(saving.headers['content-type']).toMatch(/^text\/html/);
    expect(saving.body).toContain('Sorry, we could not save that just now');
    expect(saving.body).toContain('Your earlier answers are safe. Please wait a minute, then go back and try again.');
    for (const res of [saving]) {
      expect(res.body).not.toContain(code);
      expect(res.body).not.toContain(message);
      expect(res.body).not.toMatch(/\bat .*\.ts:\d+/);
    }

    const reading = await app.inject({ method: 'GET', url: '/fault' });
    expect(reading.statusCode).toBe(503);
    expect(reading.headers['retry-after']).toBe('10');
    expect(reading.body).toContain('Sorry, the service is not available just now');
    expect(reading.body).toContain('Your answers so far are safe. Please try again in a minute.');

    const staff = await app.inject({ method: 'POST', url: '/admin/fault', headers: FORM, payload: form({}) });
    expect(staff.statusCode).toBe(503);
    expect(staff.body).toContain('Nothing was changed. Please wait a minute, then try again.');
  });

  it('treats a corrupt database as our fault (500), not as "try again"', async () => {
    await start();
    app.get('/fault', async () => {
      throw new SQLite.SqliteError('database disk image is malformed', 'SQLITE_CORRUPT');
    });
    const res = await app.inject({ method: 'GET', url: '/fault' });
    expect(res.statusCode).toBe(500);
    expect(res.headers['retry-after']).toBeUndefined();
    expect(res.body).not.toContain('malformed');
  });
});

describe('when the server is overloaded', () => {
  /** Holds the event loop, as a flood of requests (or one long piece of work) would. */
  const block = (ms: number) => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      // busy
    }
  };
  /** Lets the loop turn (its timers run), as it does between requests on a server keeping up. */
  const turn = () => new Promise((resolve) => setTimeout(resolve, 30));

  it('answers at once with a 503 page and Retry-After, and the draft is as it was', async () => {
    await start({ maxEventLoopDelay: 400 });
    await app.ready();
    const r = new Respondent(app);
    await r.start();
    await turn();
    expect(await r.answer('area', { area: 'dartford' })).toBe('concern-1');
    const before = await answersOf();

    await turn();
    block(1000);
    expect(app.eventLoopLag()).toBeGreaterThan(900);
    const started = performance.now();
    const refused = await r.post('concern-1', { concern_1: 'asb' });
    expect(performance.now() - started).toBeLessThan(500);
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBe('10');
    expect(refused.body).toContain('Sorry, the service is very busy just now');
    expect(refused.body).toContain('Your answers so far are safe. Please wait a minute, then try again.');
    expect(await answersOf()).toBe(before);

    // The loop turns again: served at once, and the respondent carries on from where they were.
    await turn();
    const page = await r.get('concern-1');
    expect(page.statusCode).toBe(200);
    await turn();
    expect(await r.answer('concern-1', { concern_1: 'asb' })).toBe('concern-1-asb');
    expect(JSON.parse(await answersOf())).toMatchObject({
      area: { area: 'dartford' },
      'concern-1': { concern_1: 'asb' },
    });
  });

  it('is off unless asked for: the app alone never sheds load', async () => {
    await start();
    expect(app.hasDecorator('eventLoopLag')).toBe(false);
  });
});
