// The results compared with an earlier wave of the series: the compare
// control in the filters form, each table's previous %, current %, change and
// significance in words, labels that changed, what the filters apply to, the
// trend of the headline question across waves, and bad input on the page.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { importResponses } from '../../src/exports/import.ts';
import { replaceTargets, targetsOf } from '../../src/weighting/store.ts';
import { AdminAgent, createAccount, cspSurvey, cspWave, laterWaveCsv, makeAdminApp, type TestApp } from '../helpers.ts';

const fixture = readFileSync(join(import.meta.dirname, '../fixtures/csp-2019-published.csv'));
const PASSWORD = 'a long enough passphrase';
const wave2019 = cspSurvey();
const wave2020 = cspWave(2020);
const BASE = '/admin/surveys/csp-2020';

let t: TestApp;
let analyst: AdminAgent;
beforeEach(async () => {
  t = await makeAdminApp({ surveys: [wave2019, wave2020] });
  await importResponses(t.db, wave2019, fixture);
  await importResponses(t.db, wave2020, Buffer.from(laterWaveCsv(fixture, 2020, 80)));
  await createAccount(t.db, 'analyst@council.example', 'analyst', PASSWORD);
  analyst = await new AdminAgent(t.app).signIn('analyst@council.example', PASSWORD);
});
afterEach(async () => {
  await t.close();
});

/** The text of a table's rows on a page, cell by cell. */
function rowsOf(html: string, id: string): string[][] {
  const table = new RegExp(`<table[^>]*id="${id}"[\\s\\S]*?</table>`).exec(html)?.[0] ?? '';
  return [...table.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map((row) =>
    [...(row[1] as string).matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map((cell) =>
      (cell[1] as string)
        .replace(/<[^>]+>/g, '')
        .replace(/&#39;|&#x27;/g, "'")
        .replace(/\s+/g, ' ')
        .trim(),
    ),
  );
}

describe('comparing a wave with an earlier one', () => {
  it('offers the earlier waves of the series in the filters form, and none for the first wave', async () => {
    const page = await analyst.get(`${BASE}/results/priorities`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<label class="govuk-label" for="compare">Compare with an earlier wave</label>');
    expect(page.body).toContain(
      '<option value="csp-2019">2019 (Community Safety Priorities – Public Opinion Survey 2019)</option>',
    );
    const first = await analyst.get('/admin/surveys/csp-2019/results/priorities');
    expect(first.body).not.toContain('id="compare"');
  });

  it('adds previous %, current %, change in points and significance in words to each table', async () => {
    const page = await analyst.get(`${BASE}/results/priorities?compare=csp-2019`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Compared with 2019');
    expect(page.body).toContain('two-proportion z-test');
    expect(page.body).toMatch(/neither wave is a random sample/);
    const rows = rowsOf(page.body, 'concern_1');
    expect(rows[0]).toEqual(['Answer', 'Count (2020)', '2019 %', '2020 %', 'Change (points)', 'Significant change?']);
    // ASB: 163 of 407 (40.0%), then 83 of 327 (25.4%): z = −4.18, by hand (test/analysis/waves.test.ts).
    expect(rows).toContainEqual([
      'Antisocial behaviour (2019: Anti-social behaviour)',
      '83',
      '40.0%',
      '25.4%',
      '−14.7',
      'Yes, down ▼ (z = −4.18)',
    ]);
    // Property: 94 of 407 (23.1%), then 94 of 327 (28.7%): z = 1.74, not significant.
    // The change is worked out before rounding: 28.746 − 23.096 = 5.650 points.
    expect(rows).toContainEqual(['Property crime', '94', '23.1%', '28.7%', '+5.7', 'No (z = +1.74)']);
    // Every link between sections keeps the comparison, and the form shows it chosen.
    expect(page.body).toContain(`href="${BASE}/results/victims?compare=csp-2019"`);
    expect(page.body).toContain('<option value="csp-2019" selected>');
    // The table's CSV carries the comparison too.
    const csv = await analyst.get(`${BASE}/tables/concern_1.csv?compare=csp-2019`);
    expect(csv.statusCode).toBe(200);
    expect(csv.body).toContain('2019 %');
    // So does its chart: the two waves side by side, as on the page.
    expect(page.body).toContain(`href="${BASE}/charts/concern_1.svg?compare=csp-2019"`);
    const svg = await analyst.get(`${BASE}/charts/concern_1.svg?compare=csp-2019`);
    expect(svg.statusCode).toBe(200);
    expect(svg.body).toContain('>2019</text>');
    expect(svg.body).toContain('>2020</text>');
    // Changes are numbers there, so a spreadsheet can use them.
    expect(csv.body).toContain(
      'Antisocial behaviour (2019: Anti-social behaviour),83,40,25.4,-14.7,"Yes, down ▼ (z = −4.18)"',
    );
  });

  it('serves the comparison in report.json, linked from the overview with the comparison kept', async () => {
    const overview = await analyst.get(`${BASE}?compare=csp-2019`);
    expect(overview.body).toContain(`href="${BASE}/report.json?compare=csp-2019"`);
    const res = await analyst.get(`${BASE}/report.json?compare=csp-2019`);
    expect(res.statusCode).toBe(200);
    const { comparison } = res.json() as {
      comparison: { with: string; questions: Record<string, Record<string, { z: number; significant: boolean }>> };
    };
    expect(comparison.with).toBe('csp-2019');
    expect(comparison.questions.concern_1?.asb?.z).toBeCloseTo(-4.18388, 4);
    expect(comparison.questions.concern_1?.asb?.significant).toBe(true);
    const bad = await analyst.get(`${BASE}/report.json?compare=csp-2020`);
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('“csp-2020” is not an earlier wave than 2020');
  });

  it('applies the filters to both waves, and says that dates apply to this wave only', async () => {
    const page = await analyst.get(`${BASE}/results/priorities?compare=csp-2019&area=dartford&from=2020-02-18`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(
      'The filters apply to both waves, except: the dates apply to this wave only: all of 2019 is counted.',
    );
    const overall = await analyst.get(`${BASE}/results/priorities?compare=csp-2019`);
    expect(overall.body).toContain('The filters apply to both waves.');
    const rows = rowsOf(page.body, 'concern_1');
    const overallRows = rowsOf(overall.body, 'concern_1');
    // Dartford's shares differ from everyone's in both waves.
    expect(rows[1]?.slice(2, 4)).not.toEqual(overallRows[1]?.slice(2, 4));
  });

  it('compares weighted estimates when the page is weighted, saying so', async () => {
    const { targets } = await targetsOf(t.db, wave2019);
    await replaceTargets(t.db, wave2020, targets, new Date());
    const page = await analyst.get(`${BASE}/results/priorities?weight=age%2Csex&compare=csp-2019`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('weighted in both waves');
    expect(page.body).toContain('on the effective sample sizes (Kish)');
    const rows = rowsOf(page.body, 'concern_1');
    expect(rows[0]?.slice(-4)).toEqual([
      '2019 % weighted',
      '2020 % weighted',
      'Change (points)',
      'Significant change?',
    ]);
    expect(rows.find((r) => r[0]?.startsWith('Antisocial'))?.at(-1)).toMatch(/^Yes, down ▼/);
  });

  it('shows the most important issue across the waves on the overview, as a chart with its table', async () => {
    const page = await analyst.get(BASE);
    expect(page.body).toContain('Across the waves');
    const rows = rowsOf(page.body, 'trend-headline');
    expect(rows[0]).toEqual(['Answer', '2019 %', '2020 %']);
    expect(rows).toContainEqual(['Antisocial behaviour', '40.0%', '25.4%']);
    expect(page.body).toContain('id="chart-trend-headline"');
    const first = await analyst.get('/admin/surveys/csp-2019');
    expect(first.body).not.toContain('Across the waves');
  });

  it('says what is wrong with a comparison that cannot be made, on the page with the filters kept (422)', async () => {
    for (const [url, message] of [
      [`${BASE}/results/priorities?compare=nope&area=dartford`, 'There is no survey “nope” to compare with'],
      [
        '/admin/surveys/csp-2019/results/priorities?compare=csp-2020&area=dartford',
        '“csp-2020” is not an earlier wave than 2019: it has no earlier wave',
      ],
      [`${BASE}?compare=csp-2020&area=dartford`, '“csp-2020” is not an earlier wave than 2020: choose from csp-2019'],
    ] as const) {
      const page = await analyst.get(url);
      expect(page.statusCode, url).toBe(422);
      expect(page.body).toContain(message);
      expect(page.body).toContain('<option value="dartford" selected>');
    }
    const csv = await analyst.get(`${BASE}/tables/concern_1.csv?compare=nope`);
    expect(csv.statusCode).toBe(400);
  });
});
