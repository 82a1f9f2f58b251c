import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { importResponses } from '../../src/exports/import.ts';
import { shippedTargetsCsv } from '../../src/weighting/population/index.ts';
import { AdminAgent, createAccount, cspSurvey, csrfTokenIn, makeAdminApp, type TestApp } from '../helpers.ts';
import { snapshotAll } from './security-helpers.ts';

const fixture = readFileSync(join(import.meta.dirname, '../fixtures/csp-2019-published.csv'));
const survey = cspSurvey();
const PASSWORD = 'a long enough passphrase';
const BASE = '/admin/surveys/csp-2019';
const REPRESENTATIVENESS = `${BASE}/results/representativeness`;

let t: TestApp;
let analyst: AdminAgent;
let admin: AdminAgent;
beforeEach(async () => {
  t = await makeAdminApp();
  await createAccount(t.db, 'analyst@council.example', 'analyst', PASSWORD);
  await createAccount(t.db, 'admin@council.example', 'admin', PASSWORD);
  analyst = await new AdminAgent(t.app).signIn('analyst@council.example', PASSWORD);
  admin = await new AdminAgent(t.app).signIn('admin@council.example', PASSWORD);
  expect((await importResponses(t.db, survey, fixture)).ok).toBe(true);
});
afterEach(async () => {
  await t.close();
});

/** A comparison table's rows by category label: the text of each cell after the label. */
function comparison(html: string, id: string): Map<string, string[]> {
  const table = new RegExp(`<table[^>]*id="${id}">([\\s\\S]*?)</table>`).exec(html)?.[1] ?? '';
  const body = /<tbody[^>]*>([\s\S]*)<\/tbody>/.exec(table)?.[1] ?? '';
  const rows = new Map<string, string[]>();
  for (const row of body.split('</tr>')) {
    const label = /<th scope="row"[^>]*>([^<]*)/.exec(row)?.[1]?.trim();
    if (!label) continue;
    rows.set(
      label,
      [...row.matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((m) => m[1] as string),
    );
  }
  return rows;
}

const percentOf = (cell: string | undefined) => Number.parseFloat(cell ?? 'NaN');

describe('Representativeness', () => {
  it('shows women and older residents over-represented, with the caveats, overall and per district', async () => {
    const page = await analyst.get(REPRESENTATIVENESS);
    expect(page.statusCode).toBe(200);
    const sex = comparison(page.body, 'sex-all');
    const female = sex.get('Female') as string[];
    // Respondents, % of respondents, % of population, difference, ratio.
    expect(percentOf(female[1])).toBeGreaterThan(60);
    expect(percentOf(female[2])).toBeGreaterThan(49);
    expect(percentOf(female[2])).toBeLessThan(53);
    expect(percentOf(female[3])).toBeCloseTo(percentOf(female[1]) - percentOf(female[2]), 0);
    expect(Number(female[4])).toBeCloseTo(percentOf(female[1]) / percentOf(female[2]), 1);
    // Respondents counted straight from the file: women in each district, and both together.
    const rows: Record<string, string>[] = parse(fixture, { columns: true, bom: true });
    const women = (area?: string) =>
      rows.filter(
        (r) => r.gender === 'female' && (area ? r.area === area : ['dartford', 'gravesham'].includes(r.area ?? '')),
      ).length;
    expect(Number(female[0])).toBe(women());
    expect(Number(comparison(page.body, 'sex-dartford').get('Female')?.[0])).toBe(women('dartford'));
    expect(Number(comparison(page.body, 'sex-gravesham').get('Female')?.[0])).toBe(women('gravesham'));
    const age = comparison(page.body, 'age-all');
    expect(percentOf(age.get('55 to 64')?.[1])).toBeGreaterThan(percentOf(age.get('55 to 64')?.[2]));
    expect(percentOf(age.get('18 to 24')?.[1])).toBeLessThan(percentOf(age.get('18 to 24')?.[2]));
    for (const id of ['sex-dartford', 'sex-gravesham', 'age-dartford', 'ethnic_group-gravesham'])
      expect(page.body, id).toContain(`id="${id}"`);
    // Who could not be placed, and why; every caveat of the figures.
    expect(page.body).toMatch(/Not placed: [^<]*Not answered: \d+/);
    expect(page.body).toMatch(/Not placed: [^<]*Transgender \(no population row\): \d+/);
    const escaped = (text: string) => text.replaceAll('&', '&amp;').replaceAll("'", '&#39;').replaceAll('"', '&#34;');
    for (const caveat of survey.population?.caveats ?? []) expect(page.body).toContain(escaped(caveat));
    // A chart beside each comparison.
    expect(page.body).toContain('id="chart-sex-all"');
  });

  it('refuses the default weighting on the 2019 answers, naming each empty cell and offering merges', async () => {
    const page = await analyst.get(`${REPRESENTATIVENESS}?weight=age,sex,ethnic_group`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('could not be done, so the results stay unweighted');
    expect(page.body).toContain(
      'No respondent in Dartford is in ethnic group “Asian or Asian British”, where 11,513 people live.',
    );
    // Each suggestion is a link that tries the merge.
    expect(page.body).toContain(
      `href="${REPRESENTATIVENESS}?weight=age%2Csex%2Cethnic_group&amp;merge=ethnic_group%3Aasian%2Bblack#weighting"`,
    );
    expect(page.body).toContain(`href="${REPRESENTATIVENESS}?weight=age%2Csex#weighting">weight without ethnic group`);
    // A results page asked for that weighting shows its figures unweighted, and says why.
    const priorities = await analyst.get(`${BASE}/results/priorities?weight=age,sex,ethnic_group`);
    expect(priorities.body).toContain('could not be done, so these figures are unweighted');
    expect(priorities.body).not.toContain('(weighted estimates)');
    // Its downloads refuse rather than hand out unweighted figures as weighted ones.
    const csv = await analyst.get(`${BASE}/tables/concern_1.csv?weight=age,sex,ethnic_group`);
    expect(csv.statusCode).toBe(409);
  });

  it('reports a weighting that cannot converge, and a cap the margins cannot meet', async () => {
    const merged = await analyst.get(
      `${REPRESENTATIVENESS}?weight=age,sex,ethnic_group&merge=ethnic_group:mixed%2Basian&merge=ethnic_group:asian%2Bblack&merge=ethnic_group:black%2Bother`,
    );
    expect(merged.body).toContain('could not be made to match every target at once within 100 rounds');
    // The merges were joined into one, and the form shows them ticked.
    expect(merged.body).toMatch(/value="ethnic_group:asian\+black" checked/);
    const capped = await analyst.get(`${REPRESENTATIVENESS}?weight=age,sex&cap=1.5`);
    expect(capped.body).toContain('The weights cannot stay under the cap and still match the targets');
  });

  it('offers every variable, cap and neighbouring pair, keeping the filters', async () => {
    const page = await analyst.get(`${REPRESENTATIVENESS}?area=gravesham`);
    for (const variable of ['age', 'sex', 'ethnic_group'])
      expect(page.body).toMatch(new RegExp(`name="weight" type="checkbox" value="${variable}" checked`));
    expect(page.body).toMatch(/name="cap" type="radio" value="none" checked/);
    expect(page.body).toContain('value="age:18_24+25_34"');
    expect(page.body).toMatch(/<input type="hidden" name="area" value="gravesham">/);
  });
});

describe('weighted results', () => {
  const WEIGHT = 'weight=age,sex';

  it("move the most important issue's shares, with intervals and the effective sample size stated", async () => {
    const page = await analyst.get(`${BASE}/results/priorities?${WEIGHT}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('These figures are <strong>weighted</strong> to the population by age, sex');
    expect(page.body).toContain('Most important issue (weighted estimates)');
    expect(page.body).toMatch(/effective sample size \d+\.\d/);
    expect(page.body).toContain('Wilson');
    // The weighted figures say when their responses were read (a large survey's are rebuilt behind them).
    expect(page.body).toMatch(
      /Respondents weighted<\/dt><dd[^>]*>\d+ \(the responses as of \d{4}-\d\d-\d\d \d\d:\d\d UTC\)/,
    );
    const table = comparison(page.body, 'concern_1');
    const asb = table.get('Anti-social behaviour') as string[];
    // Count, % as answered, % weighted, interval: the count stays the base.
    expect(asb[0]).toBe('163');
    expect(asb[1]).toBe('40.0%');
    expect(asb[2]).not.toBe('40.0%');
    expect(percentOf(asb[3])).toBeLessThan(percentOf(asb[2]));
    expect(percentOf(asb[4])).toBeGreaterThan(percentOf(asb[2]));
    // The same figure as the report JSON gives for the same URL.
    const json = JSON.parse((await analyst.get(`${BASE}/report.json?${WEIGHT}`)).body);
    expect(asb[2]).toBe(`${(json.questions.concern_1.weighted.proportions.asb * 100).toFixed(1)}%`);
    expect(json.weighting).toMatchObject({ variables: ['age', 'sex'], converged: true, targets: 'shipped' });
    expect(json.weighting.design_effect).toBeGreaterThan(1);
    expect(json.questions.concern_1_top3.asb.weighted.proportions.fly_tipping).toBeGreaterThan(0);
  });

  it('keep the weighting on every link, and switch back to unweighted', async () => {
    const page = await analyst.get(`${BASE}/results/about-you?${WEIGHT}&area=dartford`);
    // One area's respondents are weighted to its own figures alone.
    expect(page.body).toContain('Gender (weighted estimates)');
    const json = JSON.parse((await analyst.get(`${BASE}/report.json?${WEIGHT}&area=dartford`)).body);
    expect(Object.keys(json.weighting.districts)).toEqual(['dartford']);
    expect(page.body).toContain(`href="${BASE}/results/priorities?area=dartford&amp;weight=age%2Csex"`);
    expect(page.body).toContain(`href="${BASE}/tables/about-you-age.csv?area=dartford&amp;weight=age%2Csex"`);
    expect(page.body).toContain(`href="${BASE}/results/about-you?area=dartford">Show unweighted</a>`);
    // The filters form keeps the weighting.
    expect(page.body).toMatch(/<input type="hidden" name="weight" value="age,sex">/);
    const csv: Record<string, string>[] = parse((await analyst.get(`${BASE}/tables/concern_1.csv?${WEIGHT}`)).body, {
      columns: true,
      bom: true,
    });
    expect(Object.keys(csv[0] ?? {})).toEqual([
      'Answer',
      'Count',
      '% as answered',
      '% weighted',
      '95% CI low',
      '95% CI high',
    ]);
    const unweighted = await analyst.get(`${BASE}/results/priorities`);
    expect(unweighted.body).toContain('These figures are <strong>unweighted</strong>');
    expect(unweighted.body).not.toContain('(weighted estimates)');
  });

  it('come back as the page with the problem when the weighting asked for makes no sense (422)', async () => {
    for (const [query, message] of [
      ['weight=height', 'Weight must name variables from age, sex, ethnic_group'],
      ['weight=age&cap=0.5', 'Cap must be none, or a number above 1'],
      ['weight=age&merge=age', 'Merge must be like age:18_24+25_34'],
      ['weight=age&weight=sex&weight[x]=1', ''],
    ] as const) {
      const page = await analyst.get(`${BASE}/results/priorities?${query}`);
      if (!message) {
        expect(page.statusCode, query).toBeLessThan(500);
        continue;
      }
      expect(page.statusCode, query).toBe(422);
      expect(page.body, query).toContain(message);
      expect(page.body, query).toContain('govuk-error-summary');
    }
    const apart = await analyst.get(`${REPRESENTATIVENESS}?weight=age&merge=age:18_24%2B35_44`);
    expect(apart.body).toContain('only neighbouring categories of age can be merged');
  });
});

describe('population figures', () => {
  const TARGETS = `${BASE}/settings/targets`;

  async function upload(agent: AdminAgent, content: string) {
    const page = await agent.get(TARGETS);
    const boundary = '----soundings-targets';
    const payload = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${csrfTokenIn(page.body)}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="figures.csv"\r\nContent-Type: text/csv\r\n\r\n${content}\r\n` +
        `--${boundary}--\r\n`,
    );
    return agent.keep(
      await t.app.inject({
        method: 'POST',
        url: TARGETS,
        headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, cookie: agent.cookieHeader },
        payload,
      }),
    );
  }

  it('are the shipped ones until an admin uploads others, checked, which every figure then uses', async () => {
    const shipped = await admin.get(`${TARGETS}.csv`);
    expect(shipped.body.replace(/^\uFEFF/, '').trim()).toBe((shippedTargetsCsv('csp-2019') as string).trim());
    // Women as many as men in Gravesham's figures now: the comparison follows.
    const lines = (shippedTargetsCsv('csp-2019') as string).trim().split('\n');
    const changed = lines
      .map((line) =>
        /^gravesham,sex,(female|male),/.test(line) ? line.replace(/,(female|male),\d+,/, ',$1,50000,') : line,
      )
      .join('\n');
    const stored = await upload(admin, changed);
    expect(stored.statusCode).toBe(200);
    expect(stored.body).toContain('population figures stored');
    expect(stored.body).toContain('These were uploaded on');
    const page = await analyst.get(REPRESENTATIVENESS);
    expect(page.body).toContain('Population figures: uploaded by an admin');
    expect(comparison(page.body, 'sex-gravesham').get('Female')?.[2]).toBe('50.0%');
  });

  it('refuse a bad file with every problem listed, storing nothing', async () => {
    const before = await snapshotAll(t.db);
    const lines = (shippedTargetsCsv('csp-2019') as string).trim().split('\n');
    const bad = [
      ...lines.filter((line) => !line.startsWith('dartford,sex,')),
      'gravesham,age,under_18,100,x,y',
      'gravesham,sex,female,-5,x,y',
    ].join('\n');
    const refused = await upload(admin, bad);
    expect(refused.statusCode).toBe(422);
    expect(refused.body).toContain('Nothing was stored');
    expect(refused.body).toMatch(/under_18/);
    expect(refused.body).toMatch(/-5|negative/);
    expect(refused.body).toMatch(/dartford[^<]*sex|sex[^<]*dartford/);
    expect(await snapshotAll(t.db)).toEqual(before);
    expect((await upload(admin, '')).statusCode).toBe(422);
    expect(await snapshotAll(t.db)).toEqual(before);
  });

  it('are an admin’s to change: an analyst may not see the upload', async () => {
    expect((await analyst.get(TARGETS)).statusCode).toBe(403);
    expect((await analyst.get(REPRESENTATIVENESS)).body).not.toContain('See or replace the population figures');
    expect((await admin.get(REPRESENTATIVENESS)).body).toContain('See or replace the population figures');
  });
});
