import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { optionsOf } from '../../src/survey/definition.ts';
import { shippedTargetsCsv } from '../../src/weighting/population/index.ts';
import {
  mapAnswers,
  mappingOf,
  mappingProblems,
  mergeCategories,
  type PopulationTarget,
  parseTargets,
  type TargetMapping,
} from '../../src/weighting/targets.ts';
import { cspSurvey } from '../helpers.ts';

const DISTRICTS = ['dartford', 'gravesham'];
const CSP_2019_MAPPING = mappingOf(cspSurvey());
const CSP_2019_POPULATION_CAVEATS = cspSurvey().population?.caveats ?? [];
const csp2019PopulationCsv = () => shippedTargetsCsv('csp-2019') as string;
const options = { mapping: CSP_2019_MAPPING, districts: DISTRICTS };
const HEADER = 'district,variable,category,population,basis,source';

/** The shipped file's rows, split by hand (no quoted commas in it). */
const shippedRows = () =>
  csp2019PopulationCsv()
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(','));

describe('the shipped csp-2019 figures', () => {
  it('are read from the project folder', () => {
    const copy = readFileSync(join(import.meta.dirname, '../../src/weighting/population/csp-2019.csv'), 'utf8');
    expect(csp2019PopulationCsv()).toBe(copy);
    expect(copy.split('\n')[0]).toBe(HEADER);
  });

  it('parse into 26 targets with their counts', () => {
    const parsed = parseTargets(csp2019PopulationCsv(), options);
    if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
    expect(parsed.targets).toHaveLength(26);
    expect(parsed.targets[0]).toEqual({
      district: 'dartford',
      variable: 'age',
      category: '18_24',
      count: 7601,
      basis: 'persons aged 18+ mid-2019',
      source:
        "ONS mid-2019 population estimates by single year of age (ukmidyearestimates20192020ladcodes); summed into the survey's bands",
    });
    const count = (d: string, v: string, c: string) =>
      parsed.targets.find((t) => t.district === d && t.variable === v && t.category === c)?.count;
    expect(count('gravesham', 'ethnic_group', 'other')).toBe(3230);
    expect(count('dartford', 'sex', 'male')).toBe(57155);
  });

  it('come with the four caveats of their README', () => {
    expect(CSP_2019_POPULATION_CAVEATS).toHaveLength(4);
    expect(CSP_2019_POPULATION_CAVEATS[0]).toMatch(/^Age is the ONS mid-2019 estimate/);
    expect(CSP_2019_POPULATION_CAVEATS[1]).toMatch(/Census 2021 counts of all ages/);
    expect(CSP_2019_POPULATION_CAVEATS[2]).toMatch(/116,748 by sex, 116,754 by ethnic group/);
    expect(CSP_2019_POPULATION_CAVEATS[3]).toMatch(/people who work in the area/);
  });
});

describe('the csp-2019 mapping', () => {
  const survey = cspSurvey();
  const codesOf = (question: string) =>
    (survey.questionsById.get(question) ?? []).flatMap((q) => optionsOf(q).map((o) => o.code));

  it('is the table of the figures README', () => {
    const table = Object.fromEntries(
      Object.entries(CSP_2019_MAPPING).map(([variable, m]) => [
        variable,
        { question: m.question, categories: Object.fromEntries(m.categories.map((c) => [c.category, c.codes])) },
      ]),
    );
    expect(table).toEqual({
      age: {
        question: 'age',
        categories: {
          '18_24': ['18_24'],
          '25_34': ['25_34'],
          '35_44': ['35_44'],
          '45_54': ['45_54'],
          '55_64': ['55_64'],
          '65_plus': ['65_plus'],
        },
      },
      sex: { question: 'gender', categories: { female: ['female'], male: ['male'] } },
      ethnic_group: {
        question: 'ethnicity',
        categories: {
          white: [
            'white_british',
            'white_irish',
            'white_other',
            'polish',
            'lithuanian',
            'slovakian',
            'other_eastern_european',
          ],
          mixed: ['white_black_caribbean', 'white_black_african', 'white_asian', 'other_mixed'],
          asian: ['indian', 'pakistani', 'bangladeshi', 'chinese', 'other_asian'],
          black: ['caribbean', 'african', 'other_black'],
          other: ['other'],
        },
      },
    });
  });

  it('maps only onto option codes of its questions', () => {
    for (const [variable, m] of Object.entries(CSP_2019_MAPPING)) {
      const codes = codesOf(m.question);
      expect(codes.length, m.question).toBeGreaterThan(0);
      for (const c of m.categories) for (const code of c.codes) expect(codes, `${variable} ${code}`).toContain(code);
    }
    expect(mappingProblems(CSP_2019_MAPPING, survey)).toEqual([]);
  });

  it('leaves out exactly the answers that have no population row', () => {
    for (const [variable, m] of Object.entries(CSP_2019_MAPPING)) {
      const mapped = m.categories.flatMap((c) => c.codes);
      const left = codesOf(m.question).filter((code) => !mapped.includes(code));
      expect(left, variable).toEqual(
        { age: ['under_18', 'prefer_not_to_say'], sex: ['transgender', 'prefer_not_to_say'] }[variable] ?? [
          'prefer_not_to_say',
        ],
      );
      expect(new Set(mapped).size, `${variable}: no code in two categories`).toBe(mapped.length);
    }
  });

  it('covers every category of the shipped figures, and has no category they lack', () => {
    const inFile = new Set(shippedRows().map(([, variable, category]) => `${variable} ${category}`));
    const mapped = new Set(
      Object.entries(CSP_2019_MAPPING).flatMap(([variable, m]) => m.categories.map((c) => `${variable} ${c.category}`)),
    );
    expect([...mapped].sort()).toEqual([...inFile].sort());
  });

  it('is found wrong when a code is not an option, a question is unknown or a code sits in two categories', () => {
    const broken: TargetMapping = {
      ...CSP_2019_MAPPING,
      sex: {
        question: 'gender',
        categories: [
          { category: 'female', codes: ['female', 'woman'] },
          { category: 'male', codes: ['male', 'female'] },
        ],
      },
      tenure: { question: 'housing', categories: [{ category: 'owner', codes: ['owner'] }] },
    };
    expect(mappingProblems(broken, survey)).toEqual([
      'sex: "woman" (category "female") is not an option of question "gender"',
      'sex: "female" is mapped to both "female" and "male"',
      'tenure: the survey has no question "housing"',
    ]);
  });

  it("turns a respondent's answers into categories, undefined where there is no population row", () => {
    expect(mapAnswers(CSP_2019_MAPPING, { age: '45_54', gender: 'female', ethnicity: 'polish' })).toEqual({
      age: '45_54',
      sex: 'female',
      ethnic_group: 'white',
    });
    expect(
      mapAnswers(CSP_2019_MAPPING, { age: 'under_18', gender: 'transgender', ethnicity: 'prefer_not_to_say' }),
    ).toEqual({ age: undefined, sex: undefined, ethnic_group: undefined });
    expect(mapAnswers(CSP_2019_MAPPING, { ethnicity: 'african', gender: ['male'] })).toEqual({
      age: undefined,
      sex: undefined,
      ethnic_group: 'black',
    });
  });
});

describe('parseTargets', () => {
  it('accepts a byte-order mark and CRLF line ends, and quoted fields', () => {
    const plain = parseTargets(csp2019PopulationCsv(), options);
    const windows = parseTargets(`\uFEFF${csp2019PopulationCsv().replaceAll('\n', '\r\n')}`, options);
    expect(windows).toEqual(plain);
    expect(plain.ok).toBe(true);
    const quoted = csp2019PopulationCsv().replace(
      'dartford,sex,female,59593,all ages (no adult split found),Census 2021 TS009 sex',
      'dartford,sex,female,59593,"all ages, no adult split",Census 2021 TS009 sex',
    );
    const parsed = parseTargets(quoted, options);
    expect(parsed.ok && parsed.targets.find((t) => t.variable === 'sex')?.basis).toBe('all ages, no adult split');
  });

  it('lists every problem of a bad file at once, with row numbers', () => {
    const csv = [
      HEADER,
      'dartford,sex,female,59593,b,s', // 2
      'dartford,sex,male,-57155,b,s', // 3 negative
      'gravesham,sex,female,54676,b,s', // 4
      'gravesham,sex,male,lots,b,s', // 5 not a number
      'gravesham,sex,male,52229,b,s', // 6 duplicate of row 5
      'swanley,sex,female,100,b,s', // 7 unknown district
      'dartford,income,high,100,b,s', // 8 unknown variable
      'dartford,age,18_24,7601,b,s', // 9
      'dartford,age,25_34,,b,s', // 10 missing count
      'dartford,age,teen,5,b,s', // 11 unknown category
      'dartford,age,35_44,17266,b', // 12 one field short
    ].join('\n');
    const parsed = parseTargets(csv, options);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problems).toEqual([
      'row 3: the population count "-57155" is negative',
      'row 5: the population count "lots" is not a number (digits only, no commas)',
      'row 6: repeats gravesham sex male of row 5',
      'row 7: unknown district "swanley" (the survey\'s districts are "dartford", "gravesham")',
      'row 8: unknown variable "income" (known: "age", "sex", "ethnic_group")',
      'row 10: the population count is missing',
      'row 11: unknown category "teen" of age (known: "18_24", "25_34", "35_44", "45_54", "55_64", "65_plus")',
      'row 12: has 5 fields where the header has 6',
      'dartford age has no row for 45_54, 55_64, 65_plus',
      'gravesham has no age rows, which dartford has',
    ]);
  });

  it('names a missing or unknown header column and does not read the rows without it', () => {
    const parsed = parseTargets(
      ['district,variable,category,populaton,basis,source', 'x,y,z,1,b,s'].join('\n'),
      options,
    );
    expect(parsed).toEqual({
      ok: false,
      problems: [
        'row 1: the header must be district,variable,category,population,basis,source (no column "population"; unknown column "populaton"); the rows were not checked',
      ],
    });
    const headless = parseTargets('dartford,sex,female,59593,b,s\n', options);
    expect(headless.ok).toBe(false);
    expect(!headless.ok && headless.problems[0]).toMatch(/^row 1: the header must be .*no column "district"/);
  });

  it('refuses an empty file and a file of a header alone', () => {
    expect(parseTargets('', options)).toEqual({
      ok: false,
      problems: ['the file is empty: it needs a header row and one row per count'],
    });
    expect(parseTargets(`\uFEFF${HEADER}\r\n`, options)).toEqual({
      ok: false,
      problems: ['the file has a header but no counts'],
    });
  });

  it('accepts a file of one district, and decimal counts', () => {
    const csv = [HEADER, 'gravesham,sex,female,54676.5,b,s', 'gravesham,sex,male,0,b,s'].join('\n');
    expect(parseTargets(csv, options)).toEqual({
      ok: true,
      targets: [
        { district: 'gravesham', variable: 'sex', category: 'female', count: 54676.5, basis: 'b', source: 's' },
        { district: 'gravesham', variable: 'sex', category: 'male', count: 0, basis: 'b', source: 's' },
      ],
    });
  });

  it('reports a broken quote as a problem rather than throwing', () => {
    const parsed = parseTargets(`${HEADER}\ndartford,sex,"female,59593,b,s\n`, options);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.problems.join('\n')).toMatch(/quote/i);
  });
});

describe('mergeCategories', () => {
  const shipped = () => {
    const parsed = parseTargets(csp2019PopulationCsv(), options);
    if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
    return parsed.targets;
  };

  it('merges neighbouring age bands in every district: counts summed, codes joined, order kept', () => {
    const merged = mergeCategories(shipped(), CSP_2019_MAPPING, 'age', ['25_34', '18_24']);
    if (!merged.ok) throw new Error(merged.problem);
    const ages = (district: string) =>
      merged.targets.filter((t) => t.district === district && t.variable === 'age').map((t) => [t.category, t.count]);
    expect(ages('dartford')).toEqual([
      ['18_24+25_34', 7601 + 16725],
      ['35_44', 17266],
      ['45_54', 15413],
      ['55_64', 11918],
      ['65_plus', 15874],
    ]);
    expect(ages('gravesham')[0]).toEqual(['18_24+25_34', 7607 + 13738]);
    expect(merged.targets).toHaveLength(24);
    expect(merged.mapping.age!.categories.map((c) => [c.category, c.codes])).toEqual([
      ['18_24+25_34', ['18_24', '25_34']],
      ['35_44', ['35_44']],
      ['45_54', ['45_54']],
      ['55_64', ['55_64']],
      ['65_plus', ['65_plus']],
    ]);
    expect(mapAnswers(merged.mapping, { age: '25_34' }).age).toBe('18_24+25_34');
    // The inputs are left as they were.
    expect(CSP_2019_MAPPING.age!.categories).toHaveLength(6);
  });

  it('merges a merged category again with its neighbour', () => {
    const once = mergeCategories(shipped(), CSP_2019_MAPPING, 'ethnic_group', ['black', 'other']);
    if (!once.ok) throw new Error(once.problem);
    const twice = mergeCategories(once.targets, once.mapping, 'ethnic_group', ['asian', 'black+other']);
    if (!twice.ok) throw new Error(twice.problem);
    const row = twice.targets.find((t) => t.district === 'gravesham' && t.category === 'asian+black+other');
    expect(row?.count).toBe(11999 + 6952 + 3230);
    expect(twice.mapping.ethnic_group!.categories.map((c) => c.category)).toEqual([
      'white',
      'mixed',
      'asian+black+other',
    ]);
  });

  it('refuses categories that are not neighbours, unknown ones, one alone and an unknown variable', () => {
    const targets = shipped();
    expect(mergeCategories(targets, CSP_2019_MAPPING, 'age', ['18_24', '35_44'])).toEqual({
      ok: false,
      problem:
        'only neighbouring categories of age can be merged: 25_34 lies between them (the order is 18_24, 25_34, 35_44, 45_54, 55_64, 65_plus)',
    });
    expect(mergeCategories(targets, CSP_2019_MAPPING, 'age', ['18_24', '16_17'])).toEqual({
      ok: false,
      problem: 'age has no category "16_17" (it has 18_24, 25_34, 35_44, 45_54, 55_64, 65_plus)',
    });
    expect(mergeCategories(targets, CSP_2019_MAPPING, 'sex', ['male', 'male'])).toEqual({
      ok: false,
      problem: 'name at least two different categories of sex to merge',
    });
    expect(mergeCategories(targets, CSP_2019_MAPPING, 'income', ['a', 'b'])).toEqual({
      ok: false,
      problem: 'there is no variable "income" to merge categories of',
    });
  });

  it('keeps the basis and source of each merged row', () => {
    const targets: PopulationTarget[] = [
      { district: 'd', variable: 'sex', category: 'female', count: 1, basis: 'all ages', source: 'Census' },
      { district: 'd', variable: 'sex', category: 'male', count: 2, basis: 'adults', source: 'Census' },
    ];
    const merged = mergeCategories(targets, CSP_2019_MAPPING, 'sex', ['female', 'male']);
    expect(merged.ok && merged.targets).toEqual([
      {
        district: 'd',
        variable: 'sex',
        category: 'female+male',
        count: 3,
        basis: 'all ages; adults',
        source: 'Census',
      },
    ]);
    expect(targets[0]!.count).toBe(1);
  });
});
