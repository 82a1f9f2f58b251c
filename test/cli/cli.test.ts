import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { openDatabase } from '../../src/db/open.ts';
import { runCli as cli, freshDatabase, makeApp, Respondent, TEST_ENGINE, type TestApp } from '../helpers.ts';

const _run = promisify(execFile);
const root = join(import.meta.dirname, '../..');

const HEADER =
  'response_id,status,channel,started_at,submitted_at,area,concern_1,concern_1_top3,concern_1_victim,concern_1_reported,concern_2,concern_2_top3,concern_2_victim,concern_2_reported,concern_3,concern_3_top3,concern_3_victim,concern_3_reported,gender,age,ethnicity,disability,postcode';

let t: TestApp;
let databaseUrl: string;
beforeAll(async () => {
  t = await makeApp();
  databaseUrl = t.databaseUrl;
  const done = new Respondent(t.app);
  await done.start('instagram');
  await done.answer('area', { area: 'dartford' });
  await done.answer('concern-1', { concern_1: 'town_centre' });
  await done.answer('concern-1-town-centre', {
    concern_1_top3: ['groups_gathering', 'public_place_violence'],
    concern_1_victim: 'yes',
  });
  await done.answer('concern-1-town-centre-reported', { concern_1_reported: 'yes' });
  for (const page of ['concern-2', 'concern-3']) await done.answer(page);
  await done.answer('about-you', { age: '65_plus', ethnicity: 'prefer_not_to_say' });
  await done.answer('postcode', { postcode: 'DA11 0BB' });
  await done.post('check-answers');
  const partial = new Respondent(t.app);
  await partial.start();
  await partial.answer('area', { area: 'gravesham' });
});
afterAll(async () => {
  await t.close();
});

describe('cli export', () => {
  it('writes the response record as CSV: header, column order and codes', async () => {
    const { code, stdout } = await cli(['export', '--survey', 'csp-2019', '--status', 'complete'], databaseUrl);
    expect(code).toBe(0);
    expect(stdout.split('\n')[0]).toBe(`\uFEFF${HEADER}`);
    const rows = parse(stdout, { columns: true, bom: true }) as Record<string, string>[];
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row.status).toBe('complete');
    expect(row.channel).toBe('instagram');
    expect(row.response_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(row.concern_1).toBe('town_centre');
    // Codebook order, not the order ticked.
    expect(row.concern_1_top3).toBe('public_place_violence;groups_gathering');
    expect(row.concern_1_reported).toBe('yes');
    expect(row.concern_2).toBe('');
    expect(row.age).toBe('65_plus');
    expect(row.gender).toBe('');
    expect(row.postcode).toBe('DA11 0');
  });

  it('filters by status, all by default', async () => {
    const partial = await cli(['export', '--survey', 'csp-2019', '--status', 'partial'], databaseUrl);
    const rows = parse(partial.stdout, { columns: true, bom: true }) as Record<string, string>[];
    expect(rows.map((r) => [r.status, r.area, r.submitted_at])).toEqual([['partial', 'gravesham', '']]);
    const all = await cli(['export', '--survey', 'csp-2019'], databaseUrl);
    expect((parse(all.stdout, { columns: true, bom: true }) as unknown[]).length).toBe(2);
  });

  it('creates and migrates a fresh database, giving just the header', async () => {
    // On SQLite a new file in a new folder; on Postgres an empty database.
    const fresh =
      TEST_ENGINE === 'sqlite'
        ? { url: join(t.dir, 'fresh', 'new.sqlite'), drop: async () => {} }
        : await freshDatabase(t.dir, 'fresh');
    try {
      const { code, stdout } = await cli(['export', '--survey', 'csp-2019'], fresh.url);
      expect(code).toBe(0);
      expect(stdout.trimEnd()).toBe(`\uFEFF${HEADER}`);
      // Opened as it is, neither created nor migrated: the export did both.
      const { db } = await openDatabase(fresh.url, { mustExist: true, migrate: false });
      try {
        expect(await db.selectFrom('responses').select('id').execute()).toEqual([]);
      } finally {
        await db.destroy();
      }
    } finally {
      await fresh.drop();
    }
  });

  it('imports a CSV file, reports it as JSON, and refuses a bad file with every problem listed', async () => {
    const target = await freshDatabase(t.dir, 'imported');
    onTestFinished(() => target.drop());
    const db = target.url;
    const fixture = join(root, 'test/fixtures/csp-2019-published.csv');
    const imported = await cli(['import', '--survey', 'csp-2019', fixture], db);
    expect(imported.code).toBe(0);
    expect(imported.stdout).toBe('Imported 420 responses into csp-2019.\n');
    const again = await cli(['import', '--survey', 'csp-2019', fixture], db);
    expect(again.stdout).toContain('Imported 0 responses into csp-2019 (420 already present');
    const report = await cli(['report', '--survey', 'csp-2019'], db);
    expect(report.code).toBe(0);
    const json = JSON.parse(report.stdout);
    expect([json.responses, json.complete, json.partial]).toEqual([420, 400, 20]);
    expect(json.questions.concern_1).toEqual({
      answered: 407,
      counts: { asb: 163, property: 94, town_centre: 80, violence: 37, substance: 33 },
    });
    expect(json.questions.concern_1_top3.asb.answered).toBe(154);
    expect(json.questions.concern_1_top3.asb.counts.fly_tipping).toBe(65);
    expect(json.questions.concern_1_victim.asb.counts.yes).toBeGreaterThan(0);
    expect(json.crosstabs.concern_1_by_age.asb['45_54']).toBeGreaterThan(0);
    expect(Object.keys(json.crosstabs)).toEqual([
      'concern_1_by_age',
      'concern_1_by_gender',
      'concern_1_by_ethnicity',
      'concern_1_by_area',
      'concern_1_by_postcode_district',
    ]);
    const dartford = JSON.parse((await cli(['report', '--survey', 'csp-2019', '--area', 'dartford'], db)).stdout);
    expect(dartford.responses).toBe(121);
    const complete = JSON.parse((await cli(['report', '--survey', 'csp-2019', '--status', 'complete'], db)).stdout);
    expect(complete.responses).toBe(400);

    const bad = join(t.dir, 'bad.csv');
    writeFileSync(bad, `${HEADER}\nx1,complete,web,2019-02-18T10:00:00Z,2019-02-18T10:09:00Z,kent,,,,,,,,,,,,,,,,,\n`);
    const refused = await cli(['import', '--survey', 'csp-2019', bad], db);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Nothing was imported: 1 problem(s)');
    expect(refused.stderr).toContain('row 2, area: Select one of the options shown ("kent")');
  });

  it('explains a wrong survey, status or command with exit code 2', async () => {
    for (const args of [
      ['export', '--survey', 'nope'],
      ['export', '--survey', 'csp-2019', '--status', 'done'],
      ['export'],
      ['frobnicate'],
      ['export', '--surve', 'x'],
      ['report', '--survey', 'csp-2019', '--area', 'kent'],
      ['import', '--survey', 'csp-2019'],
      ['import', '--survey', 'csp-2019', '/no/such/file.csv'],
    ]) {
      const { code, stderr } = await cli(args, databaseUrl);
      expect(code, args.join(' ')).toBe(2);
      expect(stderr).toMatch(/soundings: .+\n\nUsage:/);
    }
  });

  // The comparison itself is checked in test/analysis/waves.test.ts: this deployment has one wave.
  it('refuses to compare with a survey that is not an earlier wave of the series, saying why', async () => {
    const unknown = await cli(['report', '--survey', 'csp-2019', '--compare', 'csp-2018'], databaseUrl);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--compare: there is no survey “csp-2018” to compare with');
    const itself = await cli(['report', '--survey', 'csp-2019', '--compare', 'csp-2019'], databaseUrl);
    expect(itself.code).toBe(2);
    expect(itself.stderr).toContain('“csp-2019” is not an earlier wave than 2019: it has no earlier wave');
    expect(itself.stdout).toBe('');
  });
});
