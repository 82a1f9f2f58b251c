import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openSqliteDatabase } from '../../src/db/open.ts';
import { loadSurveys } from '../../src/survey/definitions/index.ts';
import { checkDatabase, inProcessServer, Journey, SCRIPTS } from './harness.ts';

// The other fault tests trust checkDatabase to notice a lost, torn or
// duplicated response: here it is shown each kind of damage and must name it.

const survey = loadSurveys()[0]!;
const dir = mkdtempSync(join(tmpdir(), 'soundings-checker-'));
const path = join(dir, 'soundings.sqlite');
const journeys: Journey[] = [];

beforeAll(async () => {
  const connection = await openSqliteDatabase(path);
  const { app, url } = await inProcessServer(connection);
  for (const script of SCRIPTS) {
    const j = new Journey(script, () => url);
    await j.run();
    journeys.push(j);
  }
  const halfway = new Journey(SCRIPTS[0]!, () => url);
  await halfway.run({ pages: 4 });
  journeys.push(halfway);
  await app.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Damages a copy of the database with SQL, and returns what the checker finds in it. */
async function findingsAfter(damage: string) {
  const copy = join(dir, `copy-${Math.random().toString(36).slice(2)}.sqlite`);
  const { db, sqlite } = await openSqliteDatabase(path, { mustExist: true, migrate: false });
  await sqlite.backup(copy);
  await db.destroy();
  const damaged = await openSqliteDatabase(copy, { mustExist: true, migrate: false });
  damaged.sqlite.exec(damage);
  await damaged.db.destroy();
  return (await checkDatabase(copy, survey, journeys)).problems.join('\n');
}

it('finds nothing wrong in an undamaged database', async () => {
  expect((await checkDatabase(path, survey, journeys)).problems).toEqual([]);
});

it('names a lost response, a lost page, a torn response, a stranger and stale counts', async () => {
  const sent = journeys[0]!.tokenHash;
  const halfway = journeys[4]!.tokenHash;
  expect(await findingsAfter(`delete from responses where draft_token_hash = '${sent}'`)).toMatch(/lost draft/);
  expect(
    await findingsAfter(
      `delete from response_pages where page_id = 'concern-1' and response_id = (select id from responses where draft_token_hash = '${halfway}')`,
    ),
  ).toMatch(/lost page answers concern-1/);
  expect(await findingsAfter(`update responses set status = 'partial' where draft_token_hash = '${sent}'`)).toMatch(
    /lost sending/,
  );
  expect(
    await findingsAfter(
      `delete from response_values where question_id = 'concern_1' and response_id = (select id from responses where draft_token_hash = '${sent}')`,
    ),
  ).toMatch(/torn response .*\n?.*wrong values/);
  expect(
    await findingsAfter(
      `insert into responses (id, survey, draft_token_hash, status, channel, started_at, updated_at, submitted_at, answers) select 'stranger', survey, 'x', status, channel, started_at, updated_at, submitted_at, answers from responses where draft_token_hash = '${journeys[1]!.tokenHash}'`,
    ),
  ).toMatch(/complete response stranger belongs to no respondent/);
  for (const table of ['report_summary', 'report_totals', 'report_days', 'report_counts'])
    expect(await findingsAfter(`delete from ${table} where metric like 'v|concern_1|%'`), table).toMatch(
      /running counts disagree with the rows in questions\.concern_1/,
    );
});
