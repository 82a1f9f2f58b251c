import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { representativeness, representativenessOf } from '../../src/analysis/representativeness.ts';
import { weightingFor } from '../../src/analysis/weighting.ts';
import { importResponses } from '../../src/exports/import.ts';
import { cspSurvey, makeApp, type TestApp } from '../helpers.ts';

const fixture = readFileSync(join(import.meta.dirname, '../fixtures/csp-2019-published.csv'));
const survey = cspSurvey();
const SETTINGS = { variables: ['age', 'sex'], cap: null, merges: [] };

let t: TestApp;
beforeAll(async () => {
  t = await makeApp();
  await importResponses(t.db, survey, fixture);
});
afterAll(async () => {
  await t.close();
});

describe('the representativeness of a weighting', () => {
  it('is worked out once per weighting and survey version, and is the comparison itself', async () => {
    const weighting = await weightingFor(t.db, survey, { status: 'all' }, SETTINGS);
    const first = representativenessOf(survey, weighting);
    expect(first).toEqual(
      representativeness(survey, weighting.matrix, weighting.rows, weighting.targets, weighting.mapping),
    );
    expect(first.map((v) => v.variable)).toEqual(['age', 'sex', 'ethnic_group']);
    expect(representativenessOf(survey, weighting)).toBe(first);
    // Another version of the definition (its labels may differ): worked out again.
    const reworded = cspSurvey();
    const again = representativenessOf(reworded, weighting);
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
  });
});
