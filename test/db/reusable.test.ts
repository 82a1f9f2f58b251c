import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Kysely, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/open.ts';
import { reusable } from '../../src/db/reusable.ts';
import type { Database } from '../../src/db/schema.ts';
import { freshDatabase, TEST_ENGINE } from '../helpers.ts';

// Queries compiled once and run again with other values (src/db/reusable.ts), on the suite's engine.

let dir: string;
let db: Kysely<Database>;
let drop: () => Promise<void>;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'soundings-reusable-'));
  const fresh = await freshDatabase(dir, 'reusable');
  drop = fresh.drop;
  db = (await openDatabase(fresh.url)).db;
});

afterEach(async () => {
  await db.destroy();
  await drop();
  rmSync(dir, { recursive: true, force: true });
});

type Row = { survey: string; opens_at: string | null };
const insertRows = reusable((d: Kysely<Database>, rows: Row[]) =>
  d.insertInto('survey_schedules').values(rows.map((r) => ({ ...r, closes_at: null, updated_at: 'then' }))),
);
const rowsOf = reusable((d: Kysely<Database>, surveys: string[], not: string) =>
  d
    .selectFrom('survey_schedules')
    .select(['survey', 'opens_at'])
    .where('survey', 'in', surveys)
    .where('opens_at', '<>', not)
    .orderBy('survey'),
);

describe(`a reusable query (${TEST_ENGINE})`, () => {
  it('runs each call with its own values, whatever shape came first, in a transaction too', async () => {
    await insertRows(db, [{ survey: 'a', opens_at: '1' }]);
    await insertRows(db, [
      { survey: 'b', opens_at: '2' },
      { survey: 'c', opens_at: '3' },
    ]);
    await db.transaction().execute(async (trx) => {
      await insertRows(trx, [{ survey: 'd', opens_at: '4' }]);
    });
    expect((await rowsOf(db, ['a', 'b', 'd'], '3')).rows).toEqual([
      { survey: 'a', opens_at: '1' },
      { survey: 'b', opens_at: '2' },
      { survey: 'd', opens_at: '4' },
    ]);
    expect((await rowsOf(db, ['b', 'c'], '2')).rows).toEqual([{ survey: 'c', opens_at: '3' }]);
    // Values that look like SQL or like a marker are values.
    const odd = "x'); drop table survey_schedules; --";
    const marker = 'soundings-value-0';
    await insertRows(db, [{ survey: odd, opens_at: marker }]);
    expect((await rowsOf(db, [odd], '')).rows).toEqual([{ survey: odd, opens_at: marker }]);
  });

  it('keeps null and a left-out key apart from values, and constants as they were', async () => {
    const setFlag = reusable((d: Kysely<Database>, id: string, flag: 'too_fast' | null) =>
      d.updateTable('responses').set({ flag, channel: 'paper' }).where('id', '=', id),
    );
    await db
      .insertInto('responses')
      .values({
        id: 'a',
        survey: 's',
        draft_token_hash: 'h',
        status: 'partial',
        channel: 'web',
        started_at: '2026-01-01T00:00:00Z',
        updated_at: '2026-01-01T00:00:00Z',
        submitted_at: null,
        answers: '{}',
        flag: 'honeypot',
      })
      .execute();
    await setFlag(db, 'a', null);
    expect(await db.selectFrom('responses').select(['flag', 'channel']).executeTakeFirst()).toEqual({
      flag: null,
      channel: 'paper',
    });
    await setFlag(db, 'a', 'too_fast');
    expect((await db.selectFrom('responses').select('flag').executeTakeFirst())?.flag).toBe('too_fast');
  });

  it('refuses a builder that writes a value into the SQL text, or leaves one out', async () => {
    const inlined = reusable((d: Kysely<Database>, id: string) =>
      d.selectFrom('responses').selectAll().where('id', '=', sql.lit(id)),
    );
    await expect(inlined(db, 'a')).rejects.toThrow('put a value into its SQL');
    const wrapped = reusable((d: Kysely<Database>, part: string) =>
      d.selectFrom('responses').selectAll().where('id', 'like', `%${part}%`),
    );
    await expect(wrapped(db, 'a')).rejects.toThrow('changed one of its values');
    const ignored = reusable((d: Kysely<Database>, _id: string) => d.selectFrom('responses').selectAll());
    await expect(ignored(db, 'a')).rejects.toThrow('left out some of its values');
    const dated = reusable((d: Kysely<Database>, at: unknown) =>
      d
        .selectFrom('responses')
        .selectAll()
        .where('updated_at', '=', at as string),
    );
    await expect(async () => dated(db, new Date())).rejects.toThrow('not object');
  });

  it('takes a fast shape that gives the values as shapeOf would, and refuses one that does not', async () => {
    const build = (d: Kysely<Database>, rows: Row[]) =>
      d.insertInto('survey_schedules').values(rows.map((r) => ({ ...r, closes_at: null, updated_at: 'then' })));
    const fast = reusable(build, (values, rows) => {
      for (const r of rows) values.push(r.survey, r.opens_at);
      return String(rows.length);
    });
    await fast(db, [{ survey: 'a', opens_at: '2026-01-01' }]);
    await fast(db, [{ survey: 'b', opens_at: '2026-02-02' }]);
    const stored = await db.selectFrom('survey_schedules').select(['survey', 'opens_at']).orderBy('survey').execute();
    expect(stored).toEqual([
      { survey: 'a', opens_at: '2026-01-01' },
      { survey: 'b', opens_at: '2026-02-02' },
    ]);
    // Values in another order than the query binds them would swap columns: refused when the shape is compiled.
    const swapped = reusable(build, (values, rows) => {
      for (const r of rows) values.push(r.opens_at, r.survey);
      return String(rows.length);
    });
    await expect(swapped(db, [{ survey: 'c', opens_at: '2026-03-03' }])).rejects.toThrow('fastShape gave other values');
  });
});
