import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crosstab } from '../../src/analysis/crosstab.ts';
import { type Filters, parseFilters } from '../../src/analysis/filters.ts';
import { buildReport, type Report, type Tally } from '../../src/analysis/report.ts';
import { buildMatrix, selectRows } from '../../src/analysis/response-matrix.ts';
import { sectionGroups } from '../../src/analysis/sections.ts';
import { percent } from '../../src/analysis/tables.ts';
import { importResponses } from '../../src/exports/import.ts';
import { cspSurvey, makeApp, type TestApp } from '../helpers.ts';

// Six responses whose tables are worked out by hand below.
const HEADER =
  'response_id,status,channel,started_at,submitted_at,area,concern_1,concern_1_top3,concern_1_victim,concern_1_reported,concern_2,concern_2_top3,concern_2_victim,concern_2_reported,concern_3,concern_3_top3,concern_3_victim,concern_3_reported,gender,age,ethnicity,disability,postcode';
const HAND_BUILT = [
  HEADER,
  'r1,complete,web,2019-02-18T10:00:00Z,2019-02-18T10:09:00Z,dartford,asb,drugs;fly_tipping,yes,no,property,scams,yes,yes,,,,,female,25_34,white_british,no,DA1 1',
  'r2,complete,facebook,2019-02-19T10:00:00Z,2019-02-19T10:09:00Z,gravesham,asb,fly_tipping,no,,,,,,violence,robbery,yes,,male,65_plus,prefer_not_to_say,,DA12 1',
  'r3,complete,facebook,2019-02-20T10:00:00Z,2019-02-20T10:09:00Z,gravesham,property,residential_burglary;scams,no,,asb,drugs,no,,,,,,,,,,prefer_not_to_say',
  'r4,partial,web,2019-02-21T10:00:00Z,,gravesham,violence,youth_violence,,,,,,,,,,,,,,,',
  'r5,partial,poster,2019-02-22T10:00:00Z,,dartford,,,,,,,,,,,,,,,,,',
  'r6,complete,paper,2019-03-01T10:00:00Z,2019-03-01T10:30:00Z,,,,,,town_centre,robbery,yes,yes,,,,,female,25_34,,,DA12 2',
].join('\n');

const survey = cspSurvey();
let t: TestApp;
let report: Report;
const at = (filters: Partial<Filters> = {}) => buildReport(t.db, survey, { status: 'all', ...filters });
const tally = (r: Report, id: string) => r.questions[id] as Tally;
const grouped = (r: Report, id: string) => r.questions[id] as Record<string, Tally>;

beforeAll(async () => {
  t = await makeApp();
  expect(await importResponses(t.db, survey, HAND_BUILT)).toEqual({ ok: true, imported: 6, alreadyPresent: 0 });
  report = await at();
});
afterAll(async () => {
  await t.close();
});

describe('the report on a hand-built dataset', () => {
  it('counts responses by status and channel', () => {
    expect([report.responses, report.complete, report.partial]).toEqual([6, 4, 2]);
    expect(report.channels).toEqual({
      web: { complete: 1, partial: 1 },
      facebook: { complete: 2, partial: 0 },
      poster: { complete: 0, partial: 1 },
      paper: { complete: 1, partial: 0 },
    });
  });

  it('counts answers per question, leaving blanks out', () => {
    expect(tally(report, 'area')).toEqual({ answered: 5, counts: { dartford: 2, gravesham: 3 } });
    expect(tally(report, 'concern_1')).toEqual({ answered: 4, counts: { asb: 2, property: 1, violence: 1 } });
    expect(tally(report, 'concern_2')).toEqual({ answered: 3, counts: { property: 1, asb: 1, town_centre: 1 } });
    expect(tally(report, 'concern_3')).toEqual({ answered: 1, counts: { violence: 1 } });
    expect(tally(report, 'disability')).toEqual({ answered: 1, counts: { no: 1 } });
  });

  it('counts follow-ups per category of the concern they follow', () => {
    expect(grouped(report, 'concern_1_top3')).toEqual({
      asb: { answered: 2, counts: { drugs: 1, fly_tipping: 2 } },
      property: { answered: 1, counts: { residential_burglary: 1, scams: 1 } },
      violence: { answered: 1, counts: { youth_violence: 1 } },
    });
    expect(grouped(report, 'concern_1_victim')).toEqual({
      asb: { answered: 2, counts: { yes: 1, no: 1 } },
      property: { answered: 1, counts: { no: 1 } },
    });
    expect(grouped(report, 'concern_1_reported')).toEqual({ asb: { answered: 1, counts: { no: 1 } } });
    expect(grouped(report, 'concern_2_top3')).toEqual({
      property: { answered: 1, counts: { scams: 1 } },
      asb: { answered: 1, counts: { drugs: 1 } },
      town_centre: { answered: 1, counts: { robbery: 1 } },
    });
  });

  it('combines the ranks, counting a category once per respondent', () => {
    expect(report.combined.ranks).toEqual({
      answered: 5,
      counts: { asb: 3, property: 2, violence: 2, town_centre: 1 },
    });
    expect(report.combined.followUps.asb).toEqual({ answered: 3, counts: { drugs: 2, fly_tipping: 2 } });
    expect(report.combined.followUps.violence).toEqual({ answered: 2, counts: { youth_violence: 1, robbery: 1 } });
  });

  it('counts victims and reporting per category, across ranks', () => {
    expect(report.victims).toEqual({
      asb: { victims: 1, reported: 0, notReported: 1, notAnswered: 0 },
      property: { victims: 1, reported: 1, notReported: 0, notAnswered: 0 },
      violence: { victims: 1, reported: 0, notReported: 0, notAnswered: 1 },
      town_centre: { victims: 1, reported: 1, notReported: 0, notAnswered: 0 },
    });
  });

  it('gives About you on the base of those who reached the page', () => {
    expect(report.pagesReached['about-you']).toBe(4);
    expect(report.aboutYou.gender).toEqual({ base: 4, counts: { female: 2, male: 1 }, notProvided: 1 });
    expect(report.aboutYou.ethnicity).toEqual({ base: 4, counts: { white_british: 1 }, notProvided: 3 });
    expect(report.aboutYou.age).toEqual({ base: 4, counts: { '25_34': 2, '65_plus': 1 }, notProvided: 1 });
  });

  it('cross-tabulates the most important issue, postcodes by district', async () => {
    expect(report.crosstabs.concern_1_by_gender).toEqual({ asb: { female: 1, male: 1 } });
    expect(report.crosstabs.concern_1_by_area).toEqual({
      asb: { dartford: 1, gravesham: 1 },
      property: { gravesham: 1 },
      violence: { gravesham: 1 },
    });
    expect(report.crosstabs.concern_1_by_postcode_district).toEqual({
      asb: { DA1: 1, DA12: 1 },
      property: { prefer_not_to_say: 1 },
    });
    const matrix = await buildMatrix(t.db, survey);
    const byArea = crosstab(survey, matrix, 'concern_1', 'area', selectRows(matrix, survey, { status: 'all' }));
    expect(byArea.total).toBe(4);
    expect(byArea.columnTotals).toEqual([1, 3]);
  });
});

describe('filters', () => {
  it('narrow every table at once: by area', async () => {
    const r = await at({ area: 'gravesham' });
    expect([r.responses, r.complete, r.partial]).toEqual([3, 2, 1]);
    expect(tally(r, 'concern_1').counts).toEqual({ asb: 1, property: 1, violence: 1 });
    expect(tally(r, 'area').counts).toEqual({ gravesham: 3 });
    expect(r.aboutYou.gender?.base).toBe(2);
    expect(r.victims.violence).toEqual({ victims: 1, reported: 0, notReported: 0, notAnswered: 1 });
  });

  it('by status, channel and date range', async () => {
    expect((await at({ status: 'complete' })).responses).toBe(4);
    expect((await at({ status: 'partial' })).responses).toBe(2);
    const facebook = await at({ channel: 'facebook' });
    expect(facebook.responses).toBe(2);
    expect(tally(facebook, 'concern_1').counts).toEqual({ asb: 1, property: 1 });
    const dates = await at({ from: '2019-02-20', to: '2019-02-21' });
    expect(dates.responses).toBe(2);
    expect(tally(dates, 'concern_1').counts).toEqual({ property: 1, violence: 1 });
    const none = await at({ from: '2020-01-01' });
    expect(none.responses).toBe(0);
    expect(tally(none, 'concern_1')).toEqual({ answered: 0, counts: {} });
  });

  it('are parsed strictly from the URL', () => {
    expect(parseFilters(survey, { area: 'gravesham', status: 'complete', from: '2019-02-18' })).toEqual({
      ok: true,
      filters: { status: 'complete', area: 'gravesham', from: '2019-02-18' },
    });
    const bad = parseFilters(survey, { area: 'x', channel: 'tiktok', from: '18/02/2019', status: ['all', 'complete'] });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.problems).toHaveLength(4);
    expect(parseFilters(survey, { from: '2019-03-02', to: '2019-03-01' }).ok).toBe(false);
  });
});

describe('percentages', () => {
  it('round half up to one decimal place, consistently', () => {
    expect(percent(61, 154)).toBe(39.6);
    expect(percent(22, 34)).toBe(64.7);
    expect(percent(163, 407)).toBe(40);
    expect(percent(1, 8)).toBe(12.5);
    expect(percent(1, 16)).toBe(6.3);
    expect(percent(3, 16)).toBe(18.8);
    expect(percent(1, 400)).toBe(0.3);
    expect(percent(299, 420)).toBe(71.2);
    expect(percent(0, 5)).toBe(0);
    expect(percent(3, 0)).toBeNull();
  });

  it('appear beside every count, and the top 3 are marked', () => {
    const rank1 = sectionGroups(survey, report, 'priorities').find((g) => g.id === 'rank-1');
    const asb = rank1?.tables.find((tb) => tb.id === 'concern_1_top3-asb');
    expect(asb?.baseText).toBe('Of 2 respondents to this question');
    expect(asb?.rows[0]?.cells).toEqual(['Fly-tipping', 2, 100]);
    expect(asb?.rows[1]?.cells).toEqual(['Using or dealing of drugs', 1, 50]);
    expect(asb?.rows.filter((r) => r.marked)).toHaveLength(2);
    expect(asb?.rows).toHaveLength(11);
    const gender = sectionGroups(survey, report, 'about-you')[0]?.tables.find((tb) => tb.id === 'about-you-gender');
    // Titled by the question's key, not its bare wording "Are you?".
    expect(gender?.title).toBe('Gender');
    expect(gender?.rows.map((r) => r.cells)).toEqual([
      ['Male', 1, 25],
      ['Female', 2, 50],
      ['Transgender', 0, 0],
      ['Not provided', 1, 25],
    ]);
  });
});
