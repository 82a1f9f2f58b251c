import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shippedTargetsCsv } from '../../src/weighting/population/index.ts';
import { type Respondent, rake, weightedProportions } from '../../src/weighting/rake.ts';
import { mappingOf, parseTargets, TARGETS_COLUMNS } from '../../src/weighting/targets.ts';
import { cspSurvey } from '../helpers.ts';

const CSP_2019_MAPPING = mappingOf(cspSurvey());

// R's survey package is the reference: test/reference/rake.R rakes the same
// generated respondents to the same figures with calibrate(calfun = "raking")
// and works out the design effects, proportions and intervals from its own weights.
// Two runs: at epsilon 1e-7 (the product's) both must converge or refuse alike and
// every margin must meet R's rule; the figures are compared at 1e-12, because R's
// Newton steps finish far inside epsilon while sweeps approach the fixed point
// linearly, so at 1e-7 the two stop up to ~1e-6 apart (design effects ~1e-7).
// Without R the suite fails: it never skips.

const SCRIPT = join(import.meta.dirname, '..', 'reference', 'rake.R');
const DISTRICTS = ['dartford', 'gravesham'];
const AGES = ['18_24', '25_34', '35_44', '45_54', '55_64', '65_plus'];
const SEXES = ['female', 'male'];
const ETHNIC = ['white', 'mixed', 'asian', 'black', 'other'];
const CONCERNS = ['violence', 'property', 'town_centre', 'asb', 'substance'];
const TICKS = ['robbery', 'drugs', 'scams', 'fly_tipping', 'shoplifting', 'noisy_rowdy', 'street_drinking'];

/** mulberry32: a small seeded generator, so each dataset is the same on every run. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Scenario {
  name: string;
  seed: number;
  size: number;
  /** Share of respondents in dartford. */
  dartford: number;
  /** Relative chances of each category (the sample's skew). */
  age: number[];
  female: number;
  ethnic: number[];
  /** Chance that an answer (district, or a variable) is missing. */
  gaps: number;
  /** Population counts drawn at random instead of the shipped figures. */
  randomPopulation?: boolean;
  /** Whether positive weights can meet the margins at all (both R and rake must refuse when not). */
  reachable: boolean;
}

interface Row {
  id: string;
  district: string | undefined;
  values: Record<string, string | undefined>;
  concern: string | undefined;
  ticks: string[] | undefined;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'small, mildly skewed',
    seed: 5,
    size: 150,
    dartford: 0.5,
    age: [1, 1, 1.2, 1.2, 1.4, 1.6],
    female: 0.55,
    ethnic: [12, 0.5, 1, 1, 0.5],
    gaps: 0.03,
    reachable: true,
  },
  {
    // So few white respondents, each with their own age, that no positive weights meet every margin.
    name: 'small and even across ethnic groups: the margins are out of reach',
    seed: 11,
    size: 80,
    dartford: 0.5,
    age: [1, 1, 1, 1, 1, 1],
    female: 0.5,
    ethnic: [1, 1, 1, 1, 1],
    gaps: 0,
    reachable: false,
  },
  {
    name: 'the 2019 skew: older, 64% female, mostly white, with gaps',
    seed: 2019,
    size: 1200,
    dartford: 0.6,
    age: [0.3, 1, 1.5, 2, 2.5, 3],
    female: 0.64,
    ethnic: [20, 0.6, 1, 0.8, 0.4],
    gaps: 0.08,
    reachable: true,
  },
  {
    name: 'large, heavily skewed, gravesham under-represented',
    seed: 7,
    size: 6000,
    dartford: 0.85,
    age: [0.1, 0.5, 1, 2, 4, 6],
    female: 0.75,
    ethnic: [40, 0.3, 0.5, 0.5, 0.2],
    gaps: 0.15,
    reachable: true,
  },
  {
    name: 'random population figures',
    seed: 4242,
    size: 500,
    dartford: 0.4,
    age: [2, 1, 1, 1, 1, 2],
    female: 0.4,
    ethnic: [5, 1, 2, 1, 1],
    gaps: 0.05,
    randomPopulation: true,
    reachable: true,
  },
];

function pick(random: () => number, options: string[], chances: number[]): string {
  const total = chances.reduce((a, b) => a + b, 0);
  let u = random() * total;
  for (let i = 0; i < options.length; i++) {
    u -= chances[i]!;
    if (u < 0) return options[i]!;
  }
  return options[options.length - 1]!;
}

function generate(s: Scenario): { rows: Row[]; populationCsv: string } {
  const random = generator(s.seed);
  const rows: Row[] = [];
  for (let i = 0; i < s.size; i++) {
    const district = i < 12 ? DISTRICTS[i % 2]! : random() < s.dartford ? 'dartford' : 'gravesham';
    // The first six of each district cover every category, so no margin is empty.
    const j = Math.floor(i / 2);
    const covering = i < 12;
    const age = covering ? AGES[j]! : pick(random, AGES, s.age);
    const sex = covering ? SEXES[j % 2]! : random() < s.female ? 'female' : 'male';
    const ethnic = covering ? ETHNIC[j % 5]! : pick(random, ETHNIC, s.ethnic);
    const gap = () => !covering && random() < s.gaps;
    // Answers lean on age and sex, so weighting moves them.
    const concern = gap()
      ? undefined
      : pick(random, CONCERNS, [1 + AGES.indexOf(age), sex === 'female' ? 3 : 1, 2, 6 - AGES.indexOf(age), 1]);
    const ticks = gap()
      ? undefined
      : TICKS.filter((_, k) => random() < (k === 0 && sex === 'female' ? 0.6 : 0.25) + AGES.indexOf(age) * 0.03);
    rows.push({
      id: `r${i + 1}`,
      district: gap() ? undefined : district,
      values: { age: gap() ? undefined : age, sex: gap() ? undefined : sex, ethnic_group: gap() ? undefined : ethnic },
      concern,
      ticks: ticks && ticks.length > 0 ? ticks : undefined,
    });
  }
  let populationCsv = shippedTargetsCsv('csp-2019') as string;
  if (s.randomPopulation) {
    const lines = [TARGETS_COLUMNS.join(',')];
    for (const district of DISTRICTS)
      for (const [variable, categories] of [
        ['age', AGES],
        ['sex', SEXES],
        ['ethnic_group', ETHNIC],
      ] as const)
        for (const category of categories)
          lines.push(`${district},${variable},${category},${1 + Math.floor(random() * 20000)},random,test`);
    populationCsv = `${lines.join('\n')}\n`;
  }
  return { rows, populationCsv };
}

const csvField = (value: string | undefined) => value ?? '';

function writeDataset(dir: string, rows: Row[], populationCsv: string): void {
  mkdirSync(dir);
  const lines = ['id,district,age,sex,ethnic_group,concern,ticks'];
  for (const r of rows)
    lines.push(
      [r.id, r.district, r.values.age, r.values.sex, r.values.ethnic_group, r.concern, r.ticks?.join(';')]
        .map(csvField)
        .join(','),
    );
  writeFileSync(join(dir, 'respondents.csv'), `${lines.join('\n')}\n`);
  writeFileSync(join(dir, 'population.csv'), populationCsv);
}

const readCsv = (file: string): Record<string, string>[] =>
  parse(readFileSync(file, 'utf8'), { columns: true, skip_empty_lines: true });

/** R's epsilon for calibrate as the product runs it, and a far tighter one to compare the fixed points. */
const RUNS = { default: 1e-7, precise: 1e-12 } as const;
type Run = keyof typeof RUNS;

let work: string;
const datasets = SCENARIOS.map((scenario) => ({ scenario, ...generate(scenario) }));
const dirOf = (run: Run, k: number) => join(work, run, `dataset-${k}`);

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'soundings-rake-'));
  for (const run of Object.keys(RUNS) as Run[]) {
    mkdirSync(join(work, run));
    datasets.forEach((d, k) => {
      writeDataset(dirOf(run, k), d.rows, d.populationCsv);
    });
    const dirs = datasets.map((_, k) => dirOf(run, k));
    try {
      execFileSync('Rscript', [SCRIPT, String(RUNS[run]), ...dirs], {
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 120_000,
      });
    } catch (error) {
      const e = error as NodeJS.ErrnoException & { stderr?: Buffer };
      if (e.code === 'ENOENT')
        throw new Error(
          'Rscript is not installed: the weighting reference test needs R and its survey package (apt-get install -y r-cran-survey).',
        );
      throw new Error(
        `The R reference (test/reference/rake.R) failed; it needs R's survey package (apt-get install -y r-cran-survey):\n${e.stderr?.toString() ?? e.message}`,
      );
    }
  }
}, 180_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function respondentsOf(rows: Row[]): Respondent[] {
  return rows.map((r) => ({ district: r.district, values: r.values }));
}

function targetsOf(populationCsv: string) {
  const parsed = parseTargets(populationCsv, { mapping: CSP_2019_MAPPING, districts: DISTRICTS });
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  return parsed.targets;
}

describe('raking agrees with R survey::calibrate(calfun = "raking")', () => {
  datasets.forEach(({ scenario, rows, populationCsv }, k) => {
    describe(`${scenario.size} respondents, ${scenario.name}`, () => {
      it("converges where R converges (epsilon 1e-7), every margin within R's rule of the totals R scaled", () => {
        const dir = dirOf('default', k);
        const result = rake(respondentsOf(rows), targetsOf(populationCsv));
        const status = readCsv(join(dir, 'status.csv'));
        const failed = status.filter((r) => r.converged !== 'TRUE').map((r) => r.district);
        expect(status).toHaveLength(2);
        expect(failed.length === 0, "R's calibrate converged in every district").toBe(scenario.reachable);
        if (!scenario.reachable) {
          expect(result.ok).toBe(false);
          if (result.ok) return;
          expect(result.reason).toBe('not-converged');
          expect(failed).toContain(result.district);
          expect(result).not.toHaveProperty('weights');
          return;
        }
        if (!result.ok) throw new Error(result.message);

        const totals = new Map<string, number>();
        rows.forEach((row, i) => {
          const w = result.weights[i];
          if (w === null || w === undefined) return;
          for (const variable of ['age', 'sex', 'ethnic_group']) {
            const key = `${row.district} ${variable} ${row.values[variable]}`;
            totals.set(key, (totals.get(key) ?? 0) + w);
          }
        });
        const margins = readCsv(join(dir, 'margins.csv'));
        expect(margins).toHaveLength(26);
        for (const m of margins) {
          const target = Number(m.total);
          const got = totals.get(`${m.district} ${m.variable} ${m.category}`) ?? 0;
          expect(
            Math.abs(target - got) / (1 + Math.abs(target)),
            `${m.district} ${m.variable} ${m.category}`,
          ).toBeLessThan(RUNS.default);
        }

        // Both stop near the same fixed point, R by Newton steps and rake by sweeps: close, not equal.
        const reference = new Map(readCsv(join(dir, 'weights.csv')).map((r) => [r.id!, Number(r.weight)]));
        expect(result.overall.respondents).toBe(reference.size);
        rows.forEach((row, i) => {
          const ours = result.weights[i];
          const theirs = reference.get(row.id);
          if (theirs === undefined) expect(ours, row.id).toBeNull();
          else expect(Math.abs(ours! - theirs) / theirs, row.id).toBeLessThan(1e-5);
        });
      });

      if (!scenario.reachable) return;
      it('matches R at the fixed point (epsilon 1e-12): weights, design effects, proportions, intervals', () => {
        const dir = dirOf('precise', k);
        const result = rake(respondentsOf(rows), targetsOf(populationCsv), undefined, {
          epsilon: RUNS.precise,
          maxIterations: 1000,
        });
        if (!result.ok) throw new Error(result.message);
        const reference = new Map(readCsv(join(dir, 'weights.csv')).map((r) => [r.id!, Number(r.weight)]));
        expect(reference.size).toBeGreaterThan(scenario.size * 0.3);
        expect(result.overall.respondents).toBe(reference.size);
        rows.forEach((row, i) => {
          const ours = result.weights[i];
          const theirs = reference.get(row.id);
          if (theirs === undefined) expect(ours, row.id).toBeNull();
          else expect(Math.abs(ours! - theirs), row.id).toBeLessThan(1e-6);
        });

        const deffs = new Map(readCsv(join(dir, 'summary.csv')).map((r) => [r.scope!, Number(r.deff)]));
        for (const d of result.districts)
          expect(Math.abs(d.designEffect - deffs.get(d.district)!), d.district).toBeLessThan(1e-9);
        expect(Math.abs(result.overall.designEffect - deffs.get('overall')!)).toBeLessThan(1e-9);

        const proportions = {
          concern: weightedProportions(rows.map((r, i) => ({ weight: result.weights[i] ?? null, codes: r.concern }))),
          ticks: weightedProportions(rows.map((r, i) => ({ weight: result.weights[i] ?? null, codes: r.ticks }))),
        };
        const expected = readCsv(join(dir, 'proportions.csv'));
        expect(expected.length).toBe(CONCERNS.length + TICKS.length);
        for (const e of expected) {
          const ours = proportions[e.question as 'concern' | 'ticks'];
          const estimate = ours.proportions.get(e.code!);
          const what = `${e.question} ${e.code}`;
          expect(estimate, what).toBeDefined();
          expect(ours.base, what).toBe(Number(e.base));
          expect(Math.abs(ours.effectiveBase - Number(e.neff)), what).toBeLessThan(1e-6);
          expect(Math.abs(estimate!.proportion - Number(e.proportion)), what).toBeLessThan(1e-6);
          expect(Math.abs(estimate!.lower - Number(e.lower)), what).toBeLessThan(1e-6);
          expect(Math.abs(estimate!.upper - Number(e.upper)), what).toBeLessThan(1e-6);
        }
        for (const question of ['concern', 'ticks'] as const)
          expect(proportions[question].proportions.size).toBe(expected.filter((e) => e.question === question).length);
      });
    });
  });
});
