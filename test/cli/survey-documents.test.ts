import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineSurvey } from '../../src/survey/definition.ts';
import { structuralChanges } from '../../src/survey/document.ts';
import { runCli as cli, makeApp, Respondent, type TestApp } from '../helpers.ts';

// Surveys as JSON documents on the command line: export, import (a new survey
// or a new version), copy as next year's wave; structure fixed once answered.

let t: TestApp;
beforeAll(async () => {
  t = await makeApp();
});
afterAll(async () => {
  await t.close();
});

const documentOf = async (slug: string) => {
  const { code, stdout, stderr } = await cli(['survey', 'export', '--survey', slug], t.databaseUrl);
  expect(stderr).toBe('');
  expect(code).toBe(0);
  return JSON.parse(stdout);
};

/** Writes a document to a file in the test's folder and imports it. */
const importDocument = async (name: string, document: unknown) => {
  const file = join(t.dir, name);
  writeFileSync(file, typeof document === 'string' ? document : JSON.stringify(document));
  const result = await cli(['survey', 'import', file], t.databaseUrl);
  await t.app.surveys.refresh();
  return result;
};

/** A respondent's way through a survey: the pages they are sent to, and what Check your answers lists. */
async function journeyThrough(slug: string) {
  const r = new Respondent(t.app, slug);
  const pages = [String((await r.start('poster')).headers.location)];
  const answers: [string, Record<string, string | string[]>][] = [
    ['area', { area: 'gravesham' }],
    ['concern-1', { concern_1: 'asb' }],
    ['concern-1-asb', { concern_1_top3: ['drugs', 'alcohol_asb'], concern_1_victim: 'no' }],
    ['concern-2', { concern_2: 'violence' }],
    ['concern-2-violence', { concern_2_victim: 'yes' }],
    ['concern-2-violence-reported', { concern_2_reported: 'no' }],
    ['concern-3', {}],
    ['about-you', { age: '25_34' }],
    ['postcode', { postcode: 'DA12 1AA' }],
  ];
  for (const [page, fields] of answers) pages.push(await r.answer(page, fields));
  const check = await r.get('check-answers');
  const listed = [...check.body.matchAll(/<dd class="govuk-summary-list__value">([\s\S]*?)<\/dd>/g)].map((m) =>
    (m[1] as string).replace(/\s+/g, ' ').trim(),
  );
  const sent = await r.post('check-answers');
  return { pages: pages.map((p) => p.replace(`/s/${slug}/`, '')), listed, sent: sent.headers.location };
}

describe('survey export and import', () => {
  it('round trip: an exported definition imported as a new survey serves the same journeys', async () => {
    const exported = await documentOf('csp-2019');
    expect(exported.slug).toBe('csp-2019');
    const imported = await importDocument('copy.json', { ...exported, slug: 'csp-copy' });
    expect(imported.stderr).toBe('');
    expect(imported.stdout).toContain('Created survey csp-copy (version 1)');
    const original = await journeyThrough('csp-2019');
    const copy = await journeyThrough('csp-copy');
    expect(copy.pages).toEqual(original.pages);
    expect(copy.listed).toEqual(original.listed);
    expect(copy.listed.length).toBeGreaterThan(5);
    expect(copy.sent).toBe('/s/csp-copy/thank-you');
    expect({ ...(await documentOf('csp-copy')), slug: 'csp-2019' }).toEqual(exported);
  });

  it('lists every problem of a bad document at once and stores nothing', async () => {
    const exported = await documentOf('csp-2019');
    const bad = await importDocument('bad.json', { ...exported, slug: 'csp-bad', title: '', channels: 3 });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/Nothing was stored: .* has 2 problem\(s\)/);
    expect(bad.stderr).toContain('title:');
    expect(bad.stderr).toContain('channels:');
    const notJson = await importDocument('not.json', '{"slug": "x",');
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toContain('not JSON');
    const list = await cli(['survey', 'list'], t.databaseUrl);
    expect(list.stdout).not.toContain('csp-bad');
  });
});

describe('survey copy', () => {
  it('makes next year’s wave with every question and option code kept', async () => {
    const copy = (title: string) =>
      cli(
        ['survey', 'copy', '--from', 'csp-2019', '--id', 'csp-2020', '--title', title].concat([
          '--opens',
          '2020-02-17',
          '--closes',
          '2020-03-01',
        ]),
        t.databaseUrl,
      );
    const copied = await copy('Community Safety Priorities – Public Opinion Survey 2020');
    expect(copied.stderr).toBe('');
    expect(copied.stdout).toContain('Created survey csp-2020');
    const wave = await documentOf('csp-2020');
    expect(wave.title).toBe('Community Safety Priorities – Public Opinion Survey 2020');
    expect(wave.opensAt).toBe('2020-02-17T00:00:00.000Z');
    expect(wave.closesAt).toBe('2020-03-02T00:00:00.000Z');
    const original = await documentOf('csp-2019');
    expect(wave.pages).toEqual(original.pages);
    expect(structuralChanges(defineSurvey(original), defineSurvey(wave))).toEqual([]);
    const again = await copy('Another title');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('there is already a survey "csp-2020"');
    const list = await cli(['survey', 'list'], t.databaseUrl);
    expect(list.stdout).toMatch(/csp-2019\tversion 1\t/);
    expect(list.stdout).toMatch(/csp-2020\tversion 1\tCommunity Safety Priorities – Public Opinion Survey 2020/);
  });
});

describe('versions', () => {
  it('refuses a structural change once answered, leaving the survey unchanged; wording makes a new version', async () => {
    // csp-2019 has a response from the round trip above.
    const before = await documentOf('csp-2019');
    const changed = structuredClone(before);
    changed.pages[0].questions[0].options[0].code = 'dartford_borough';
    changed.pages[0].questions[0].options[0].label = 'Dartford borough';
    const refused = await importDocument('changed.json', changed);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('the survey has responses, so its codes and routing cannot change');
    expect(refused.stderr).toContain('pages "area" › questions "area" › options: was dartford, gravesham');
    expect(await documentOf('csp-2019')).toEqual(before);

    const reworded = structuredClone(before);
    reworded.thankYou = ['Thank you. Final priorities will be decided by the end of March 2020.'];
    const stored = await importDocument('reworded.json', reworded);
    expect(stored.stderr).toBe('');
    expect(stored.stdout).toContain('Stored version 2 of csp-2019');
    expect((await documentOf('csp-2019')).thankYou).toEqual(reworded.thankYou);
    const same = await importDocument('reworded.json', reworded);
    expect(same.stdout).toContain('is unchanged: it is already version 2');

    // A response sent now records the version it was answered under; the earlier one keeps version 1.
    await journeyThrough('csp-2019');
    const versions = await t.db
      .selectFrom('responses')
      .select('survey_version')
      .where('survey', '=', 'csp-2019')
      .orderBy('survey_version')
      .execute();
    expect(versions.map((v) => v.survey_version)).toEqual([1, 2]);
    const audit = await t.db.selectFrom('audit_log').select(['action', 'survey']).execute();
    expect(audit).toEqual(
      expect.arrayContaining([
        { action: 'survey-created', survey: 'csp-copy' },
        { action: 'survey-copied', survey: 'csp-2020' },
        { action: 'survey-version', survey: 'csp-2019' },
      ]),
    );
  });
});
