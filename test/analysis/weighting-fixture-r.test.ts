import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { text } from 'node:stream/consumers';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportJson } from '../../src/analysis/report-json.ts';
import { importResponses } from '../../src/exports/import.ts';
import { writeExport } from '../../src/exports/job.ts';
import { shippedTargetsCsv } from '../../src/weighting/population/index.ts';
import { cspSurvey, makeApp, type TestApp } from '../helpers.ts';

// The 2019 responses weighted by age and sex as an analyst asks for them (the
// report behind the results pages and report.json), against R's survey
// package raking the same answers to the same figures (test/reference/rake.R).
// The answers are put into the figures' categories here from the definition's
// population mapping read as data, not by the product's code.

const SCRIPT = join(import.meta.dirname, '../reference/rake.R');
const fixture = readFileSync(join(import.meta.dirname, '../fixtures/csp-2019-published.csv'));
const survey = cspSurvey();
const VARIABLES = ['age', 'sex'];

type Json = Record<string, any>;
let t: TestApp;
let dir: string;
let report: Json;
const readCsv = (file: string): Record<string, string>[] =>
  parse(readFileSync(join(dir, file), 'utf8'), { columns: true, skip_empty_lines: true });

beforeAll(async () => {
  t = await makeApp();
  expect((await importResponses(t.db, survey, fixture)).ok).toBe(true);
  report = (await reportJson(
    t.db,
    survey,
    { status: 'all' },
    { weight: { variables: VARIABLES, cap: null, merges: [] } },
  )) as Json;

  const categoryOf = (variable: string, code: string) =>
    survey.population?.variables[variable]?.categories.find((c) => c.codes.includes(code))?.category ?? '';
  const rows: Record<string, string>[] = parse(fixture, { columns: true });
  const lines = ['id,district,age,sex,ethnic_group,concern,ticks'];
  for (const r of rows)
    lines.push(
      [
        r.response_id,
        r.area,
        categoryOf('age', r.age ?? ''),
        categoryOf('sex', r.gender ?? ''),
        '',
        r.concern_1,
        '',
      ].join(','),
    );
  dir = mkdtempSync(join(tmpdir(), 'soundings-fixture-r-'));
  writeFileSync(join(dir, 'respondents.csv'), `${lines.join('\n')}\n`);
  writeFileSync(join(dir, 'population.csv'), shippedTargetsCsv('csp-2019') as string);
  try {
    execFileSync('Rscript', [SCRIPT, '1e-7', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
      env: { ...process.env, VARIABLES: VARIABLES.join(',') },
    });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: Buffer };
    throw new Error(
      e.code === 'ENOENT'
        ? 'Rscript is not installed: this reference test needs R and its survey package (apt-get install -y r-cran-survey).'
        : `The R reference failed:\n${e.stderr?.toString() ?? e.message}`,
    );
  }
}, 180_000);

afterAll(async () => {
  await t?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the 2019 responses weighted by age and sex', () => {
  it('converge as R converges, weighting the same respondents', () => {
    expect(readCsv('status.csv').map((r) => r.converged)).toEqual(['TRUE', 'TRUE']);
    expect(report.weighting.converged).toBe(true);
    expect(report.weighting.weighted_respondents).toBe(readCsv('weights.csv').length);
    expect(report.weighting.left_out.total).toBe(420 - readCsv('weights.csv').length);
  });

  it('give the design effect R gives', () => {
    const overall = readCsv('summary.csv').find((r) => r.scope === 'overall');
    // Both stop within calibrate's 1e-7 of the same fixed point, R by Newton steps and the product by sweeps.
    expect(Math.abs(report.weighting.design_effect - Number(overall?.deff))).toBeLessThan(1e-6);
    for (const row of readCsv('summary.csv').filter((r) => r.scope !== 'overall'))
      expect(Math.abs(report.weighting.districts[row.scope as string].design_effect - Number(row.deff))).toBeLessThan(
        1e-6,
      );
  });

  it("give the most important issue's weighted shares and Wilson intervals R gives", () => {
    const weighted = report.questions.concern_1.weighted;
    const reference = readCsv('proportions.csv').filter((r) => r.question === 'concern');
    expect(reference.length).toBe(5);
    for (const r of reference) {
      const code = r.code as string;
      expect(Math.abs(weighted.proportions[code] - Number(r.proportion)), code).toBeLessThan(1e-6);
      expect(Math.abs(weighted.ci95[code][0] - Number(r.lower)), code).toBeLessThan(1e-6);
      expect(Math.abs(weighted.ci95[code][1] - Number(r.upper)), code).toBeLessThan(1e-6);
      expect(weighted.base, code).toBe(Number(r.base));
    }
    // Weighting moves the shares: the estimate is not the count.
    const asb = report.questions.concern_1.counts.asb / report.questions.concern_1.answered;
    expect(Math.abs(weighted.proportions.asb - asb)).toBeGreaterThan(0.001);
  });

  it('are the weights the responses CSV writes beside each response, and only those R weighted have one', async () => {
    const out = new PassThrough();
    const written = text(out);
    await writeExport(
      t.db,
      survey,
      { kind: 'csv', filters: { status: 'all' }, weight: { variables: VARIABLES, cap: null, merges: [] } },
      out,
    );
    const rows: Record<string, string>[] = parse(await written, { columns: true, bom: true });
    expect(rows).toHaveLength(420);
    const reference = new Map(readCsv('weights.csv').map((r) => [r.id as string, Number(r.weight)]));
    for (const row of rows) {
      const id = row.response_id as string;
      if (!reference.has(id)) expect(row.weight, id).toBe('');
      // A single weight moves more than the design effect between two stops near the same fixed point.
      else expect(Math.abs(Number(row.weight) - (reference.get(id) as number)), id).toBeLessThan(1e-5);
    }
    expect(rows.filter((r) => r.weight !== '')).toHaveLength(reference.size);
  });
});
