import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_FILTERS } from '../../src/analysis/filters.ts';
import { buildReport, type Report, type Tally } from '../../src/analysis/report.ts';
import { importResponses } from '../../src/exports/import.ts';
import { cspSurvey, makeApp, type TestApp } from '../helpers.ts';

const fixtures = join(import.meta.dirname, '../fixtures');
const csv = readFileSync(join(fixtures, 'csp-2019-published.csv'));
const expected = JSON.parse(readFileSync(join(fixtures, 'csp-2019-published.expected.json'), 'utf8'));

let t: TestApp;
let report: Report;
const survey = cspSurvey();

beforeAll(async () => {
  t = await makeApp();
  const result = await importResponses(t.db, survey, csv);
  expect(result).toEqual({ ok: true, imported: 420, alreadyPresent: 0 });
  report = await buildReport(t.db, survey, DEFAULT_FILTERS);
});
afterAll(async () => {
  await t.close();
});

const tally = (id: string) => report.questions[id] as Tally;
const followUp = (id: string, category: string) => (report.questions[id] as Record<string, Tally>)[category] as Tally;

describe('the 2019 published tables, reproduced from the raw responses', () => {
  it('counts 420 responses, 400 complete and 20 partial', () => {
    expect([report.responses, report.complete, report.partial]).toEqual([420, 400, 20]);
    expect([report.responses, report.complete, report.partial]).toEqual([
      expected.responses,
      expected.complete,
      expected.partial,
    ]);
  });

  it('splits respondents by area: Gravesham 299, Dartford 121', () => {
    expect(tally('area')).toEqual({ answered: 420, counts: { gravesham: 299, dartford: 121 } });
    expect(tally('area')).toEqual(expected.area);
  });

  it('gives the single most important issue: 407 answered, 163/94/80/37/33', () => {
    expect(tally('concern_1')).toEqual({
      answered: 407,
      counts: { asb: 163, property: 94, town_centre: 80, violence: 37, substance: 33 },
    });
    expect(tally('concern_1')).toEqual(expected.concern_1);
  });

  it('gives each category’s follow-up base and its top 3 counts', () => {
    const published: Record<string, [number, Record<string, number>]> = {
      asb: [154, { fly_tipping: 65, drugs: 62, noisy_rowdy: 61 }],
      property: [85, { residential_burglary: 81, shed_garage: 63, theft_of_vehicle: 49 }],
      town_centre: [71, { groups_gathering: 45, evening_violence: 43, public_place_violence: 27 }],
      violence: [34, { youth_violence: 22, gun_knife_crime: 19, robbery: 16 }],
      substance: [29, { drug_dealing: 24, class_a: 17, cannabis: 13 }],
    };
    for (const [category, [answered, top3]] of Object.entries(published)) {
      const got = followUp('concern_1_top3', category);
      expect(got.answered, category).toBe(answered);
      expect(got.answered).toBe(expected.concern_1_top3_published[category].answered);
      const ranked = Object.entries(got.counts)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 3);
      expect(Object.fromEntries(ranked), category).toEqual(top3);
      expect(Object.fromEntries(ranked)).toEqual(expected.concern_1_top3_published[category].top3);
      // The fourth is strictly behind the third, so the published top 3 is unambiguous.
      const fourth = Object.values(got.counts).sort((a, b) => b - a)[3] ?? 0;
      expect(fourth).toBeLessThan(ranked[2]![1]);
    }
  });

  it('gives About you on a base of 400, "Not provided" = prefer not to say or blank', () => {
    const { gender, age, ethnicity } = report.aboutYou;
    expect(report.pagesReached['about-you']).toBe(400);
    for (const [name, got, want] of [
      ['age', age, expected.age_of_400],
      ['gender', gender, expected.gender_of_400],
      ['ethnicity', ethnicity, expected.ethnicity_of_400],
    ] as const) {
      expect(got?.base, name).toBe(expected.about_you_base);
      const { not_provided, ...counts } = want as Record<string, number>;
      expect(got?.counts, name).toEqual(counts);
      expect(got?.notProvided, name).toBe(not_provided);
    }
    expect(age?.counts).toEqual({ '18_24': 14, '25_34': 36, '35_44': 58, '45_54': 108, '55_64': 108, '65_plus': 68 });
    expect(age?.notProvided).toBe(8);
    expect(gender?.counts).toEqual({ male: 122, female: 266, transgender: 1 });
    expect(gender?.notProvided).toBe(11);
    expect(ethnicity?.counts.white_british).toBe(352);
    expect(ethnicity?.notProvided).toBe(12);
  });

  it('keeps the totals consistent across tables', () => {
    // Every crosstab of the most important issue adds up to those who answered both questions.
    const byArea = report.crosstabs.concern_1_by_area ?? {};
    const areaTotal = Object.values(byArea).reduce(
      (sum, row) => sum + Object.values(row).reduce((a, b) => a + b, 0),
      0,
    );
    expect(areaTotal).toBe(407);
    for (const [concern, count] of Object.entries(tally('concern_1').counts)) {
      const row = byArea[concern] ?? {};
      expect(
        Object.values(row).reduce((a, b) => a + b, 0),
        concern,
      ).toBe(count);
    }
    const channels = Object.values(report.channels).reduce((sum, c) => sum + c.complete + c.partial, 0);
    expect(channels).toBe(420);
  });

  it('does not import the same file twice', async () => {
    const again = await importResponses(t.db, survey, csv);
    expect(again).toEqual({ ok: true, imported: 0, alreadyPresent: 420 });
    const after = await buildReport(t.db, survey, DEFAULT_FILTERS);
    expect(after).toEqual(report);
  });
});
