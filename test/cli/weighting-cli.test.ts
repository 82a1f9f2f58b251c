import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shippedTargetsCsv } from '../../src/weighting/population/index.ts';
import { runCli as cli, freshDatabase } from '../helpers.ts';

// The weighting from the command line: report --weight (and --cap, --merge,
// --targets), and the population figures in and out (targets import|export).

const root = join(import.meta.dirname, '../..');
let dir: string;
let target: { url: string; drop: () => Promise<void> };
const shipped = () => (shippedTargetsCsv('csp-2019') as string).trim();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'soundings-weighting-cli-'));
  target = await freshDatabase(dir, 'weighting');
  const imported = await cli(
    ['import', '--survey', 'csp-2019', join(root, 'test/fixtures/csp-2019-published.csv')],
    target.url,
  );
  expect(imported.code).toBe(0);
}, 60_000);
afterAll(async () => {
  await target?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const report = async (...args: string[]) => {
  const run = await cli(['report', '--survey', 'csp-2019', ...args], target.url);
  return { ...run, json: run.code === 0 ? JSON.parse(run.stdout) : undefined };
};

describe('report --weight', () => {
  it('adds the weighting and weighted proportions with intervals for every choice question', async () => {
    const { code, json } = await report('--weight', 'age,sex');
    expect(code).toBe(0);
    expect(json.weighting).toMatchObject({ variables: ['age', 'sex'], converged: true, cap: null, targets: 'shipped' });
    for (const key of ['iterations', 'design_effect', 'effective_n', 'weighted_respondents', 'left_out'])
      expect(json.weighting, key).toHaveProperty(key);
    expect(json.weighting.effective_n).toBeLessThan(json.weighting.weighted_respondents);
    const weighted = json.questions.concern_1.weighted;
    const shares = Object.values(weighted.proportions) as number[];
    expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    for (const [code, [low, high]] of Object.entries(weighted.ci95) as [string, [number, number]][]) {
      expect(low, code).toBeLessThan(weighted.proportions[code]);
      expect(high, code).toBeGreaterThan(weighted.proportions[code]);
    }
    // Follow-ups per category, and multiple choice among those who answered (shares add to more than 1).
    const top3 = json.questions.concern_1_top3.asb.weighted;
    // Its base: those who answered it and could be weighted.
    expect(top3.base).toBeGreaterThan(100);
    expect(top3.base).toBeLessThanOrEqual(json.questions.concern_1_top3.asb.answered);
    expect((Object.values(top3.proportions) as number[]).reduce((a, b) => a + b, 0)).toBeGreaterThan(1);
    // Unweighted figures stay as they were.
    expect(json.questions.concern_1.counts.asb).toBe(163);
  });

  it('says why a weighting failed, with exit code 0 and no weighted figures', async () => {
    const { code, json } = await report('--weight', 'age,sex,ethnic_group');
    expect(code).toBe(0);
    expect(json.weighting.converged).toBe(false);
    expect(json.weighting.message).toContain('no respondent in dartford is in ethnic_group "asian"');
    expect(json.questions.concern_1.weighted).toBeUndefined();
    const capped = await report('--weight', 'age,sex', '--cap', '1.5');
    expect(capped.json.weighting.converged).toBe(false);
    const merged = await report('--weight', 'age,sex', '--merge', 'age:18_24+25_34', '--cap', '10');
    expect(merged.json.weighting).toMatchObject({
      converged: true,
      cap: 10,
      merges: [{ variable: 'age', categories: ['18_24', '25_34'] }],
    });
  });

  it('weights to a file of figures given with --targets, checked first', async () => {
    const even = shipped()
      .split('\n')
      .map((line) => line.replace(/^(\w+),sex,(female|male),\d+,/, '$1,sex,$2,1000,'))
      .join('\n');
    const file = join(dir, 'even.csv');
    writeFileSync(file, `${even}\n`);
    const { json } = await report('--weight', 'sex', '--targets', file);
    expect(json.weighting).toMatchObject({ converged: true, targets: 'file' });
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, `${shipped()}\ndartford,sex,other,-1,x,y\n`);
    const refused = await report('--weight', 'sex', '--targets', bad);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('other');
    expect((await report('--cap', '5')).code).toBe(2);
    expect((await report('--weight', 'height')).stderr).toContain(
      'weight must name variables from age, sex, ethnic_group',
    );
  });
});

describe('export --labels and --weight', () => {
  const exported = async (...args: string[]) => {
    const run = await cli(['export', '--survey', 'csp-2019', ...args], target.url);
    return {
      ...run,
      rows: run.code === 0 ? (parse(run.stdout, { columns: true, bom: true }) as Record<string, string>[]) : [],
    };
  };

  it('writes labels instead of codes with --labels, in the same columns', async () => {
    const [codes, labels] = await Promise.all([
      exported('--area', 'gravesham'),
      exported('--area', 'gravesham', '--labels'),
    ]);
    expect(labels.code).toBe(0);
    expect(Object.keys(labels.rows[0] ?? {})).toEqual(Object.keys(codes.rows[0] ?? {}));
    const asb = codes.rows.findIndex((r) => r.concern_1 === 'asb');
    expect(labels.rows[asb]?.concern_1).toBe('Anti-social behaviour');
    expect(labels.rows[asb]?.area).toBe('Gravesham');
    expect(labels.rows[asb]?.response_id).toBe(codes.rows[asb]?.response_id);
  });

  it('adds the weights report --weight works with, and refuses when that weighting is refused', async () => {
    const [csv, json] = await Promise.all([
      exported('--weight', 'age,sex', '--cap', '5'),
      report('--weight', 'age,sex', '--cap', '5'),
    ]);
    expect(csv.code).toBe(0);
    expect(Object.keys(csv.rows[0] ?? {}).at(-1)).toBe('weight');
    const weights = csv.rows.filter((r) => r.weight !== '').map((r) => Number(r.weight));
    expect(weights).toHaveLength(json.json.weighting.weighted_respondents);
    const sum = weights.reduce((a, b) => a + b, 0);
    const squares = weights.reduce((a, b) => a + b * b, 0);
    expect((weights.length * squares) / sum ** 2).toBeCloseTo(json.json.weighting.design_effect, 6);

    const refused = await exported('--weight', 'age,sex,ethnic_group');
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain(
      'No respondent in Dartford is in ethnic group “Asian or Asian British”, where 11,513 people live.',
    );
    for (const args of [
      ['--cap', '5'],
      ['--weight', 'height'],
      ['--weight', 'age', '--merge', 'age'],
    ]) {
      const wrong = await exported(...args);
      expect(wrong.code, args.join(' ')).toBe(2);
      expect(wrong.stdout, args.join(' ')).toBe('');
    }
  });
});

describe('targets import and export', () => {
  it('replaces the figures only with a checked file, and gives them back as CSV', async () => {
    const exported = await cli(['targets', 'export', '--survey', 'csp-2019'], target.url);
    expect(exported.stdout.replace(/^\uFEFF/, '').trim()).toBe(shipped());
    const bad = join(dir, 'missing.csv');
    writeFileSync(
      bad,
      `${shipped()
        .split('\n')
        .filter((l) => !l.startsWith('gravesham,age,'))
        .join('\n')}\n`,
    );
    const refused = await cli(['targets', 'import', '--survey', 'csp-2019', bad], target.url);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/gravesham/);
    expect((await cli(['targets', 'export', '--survey', 'csp-2019'], target.url)).stdout).toBe(exported.stdout);
    const good = join(dir, 'good.csv');
    writeFileSync(good, `${shipped().replace(/^dartford,sex,female,\d+,/m, 'dartford,sex,female,99999,')}\n`);
    const stored = await cli(['targets', 'import', '--survey', 'csp-2019', good], target.url);
    expect(stored.code).toBe(0);
    expect(stored.stdout).toMatch(/^Stored \d+ population figures for csp-2019\.\n$/);
    const after = await cli(['targets', 'export', '--survey', 'csp-2019'], target.url);
    expect(after.stdout).toContain('dartford,sex,female,99999,');
    expect((await report('--weight', 'sex')).json.weighting.targets).toBe('uploaded');
  });
});
