import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prng, randomRoute } from '../../bench/random-responses.ts';
import type { Filters } from '../../src/analysis/filters.ts';
import { buildReportFromRows } from '../../src/analysis/reference-report.ts';
import { buildReport } from '../../src/analysis/report.ts';
import type { ResponseRow } from '../../src/db/schema.ts';
import { importResponses } from '../../src/exports/import.ts';
import { newDraftToken } from '../../src/responses/anonymity.ts';
import { saveDraft, sendDraft, startDraft } from '../../src/responses/save-draft.ts';
import { recountSurvey } from '../../src/rollups/index.ts';
import { journey } from '../../src/survey/journey.ts';
import { cspSurvey, makeApp, Respondent, type TestApp } from '../helpers.ts';

const fixture = readFileSync(join(import.meta.dirname, '../fixtures/csp-2019-published.csv'));
const survey = cspSurvey();
const FILTERS: Filters[] = [
  { status: 'all' },
  { status: 'complete' },
  { status: 'partial' },
  { status: 'all', area: 'dartford' },
  { status: 'complete', area: 'gravesham' },
  { status: 'all', channel: 'facebook' },
  { status: 'all', from: '2019-02-20' },
  { status: 'all', to: '2019-02-25' },
  { status: 'complete', area: 'gravesham', channel: 'web', from: '2019-02-19', to: '2019-03-01' },
  { status: 'all', from: '2030-01-01' },
];

let t: TestApp;
beforeEach(async () => {
  t = await makeApp();
});
afterEach(async () => {
  await t.close();
});

async function expectCountsMatchRows(filters = FILTERS) {
  for (const f of filters)
    expect(await buildReport(t.db, survey, f), JSON.stringify(f)).toEqual(await buildReportFromRows(t.db, survey, f));
}

/** The kept counts without rows that have come back to zero. */
async function keptCounts() {
  const rows = await t.db.selectFrom('report_counts').selectAll().where('n', '!=', 0).execute();
  return rows.map((r) => ({ ...r, n: Number(r.n) })).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

describe('the running counts', () => {
  it('give the same report as counting the stored answers, under every filter, after an import', async () => {
    await importResponses(t.db, survey, fixture);
    await expectCountsMatchRows();
    const report = await buildReport(t.db, survey, { status: 'all' });
    expect(report.responses).toBe(420);
  });

  it('follow respondents as they answer, change their minds and send', async () => {
    const a = new Respondent(t.app);
    await a.start('facebook');
    await a.answer('area', { area: 'gravesham' });
    await a.answer('concern-1', { concern_1: 'violence' });
    await a.answer('concern-1-violence', { concern_1_top3: ['robbery'], concern_1_victim: 'yes' });
    await expectCountsMatchRows();
    // Change area (a dimension) and the first concern (drops a follow-up).
    await a.answer('area', { area: 'dartford' });
    await a.answer('concern-1', { concern_1: 'asb' });
    await expectCountsMatchRows();
    await a.answer('concern-1-asb', { concern_1_top3: ['drugs', 'fly_tipping'] });
    for (const page of ['concern-2', 'concern-3']) await a.answer(page);
    await a.answer('about-you', { age: '45_54' });
    await a.answer('postcode', { postcode: 'DA1 1AA' });
    await a.post('check-answers');
    const b = new Respondent(t.app);
    await b.start();
    await expectCountsMatchRows([{ status: 'all' }, { status: 'complete', area: 'dartford' }, { status: 'partial' }]);
    const report = await buildReport(t.db, survey, { status: 'all' });
    expect([report.responses, report.complete, report.partial]).toEqual([2, 1, 1]);
  });

  it('stay right over random drafts that are saved, revised and sent', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 1, max: 6 }), async (seed, count) => {
        const random = prng(seed);
        for (let i = 0; i < count; i++) {
          const { hash } = newDraftToken();
          const id = await startDraft(t.db, survey, {
            channel: random() < 0.5 ? 'web' : 'poster',
            tokenHash: hash,
            now: new Date(Date.UTC(2026, 1, 1 + i)),
          });
          // Each save is given the draft's row as a request read it: just now, or before the last save (two
          // tabs, a double click), which must be taken afresh rather than trusted.
          const read = () => t.db.selectFrom('responses').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
          const asGiven = async (earlier: ResponseRow) => {
            const pick = random();
            return pick < 0.5 ? earlier : await read();
          };
          const started = await read();
          // A first try, then a revised route from the start, as someone going back would.
          const first = randomRoute(survey, random, 1 + Math.floor(random() * 6));
          expect(await saveDraft(t.db, survey, await asGiven(started), first, new Date())).toBe(true);
          const revised = randomRoute(survey, random);
          const after = journey(survey, revised.answers);
          expect(await saveDraft(t.db, survey, await asGiven(started), after, new Date())).toBe(true);
          expect((await read()).answers).toBe(JSON.stringify(after.kept));
          if (random() < 0.7) {
            expect(await sendDraft(t.db, survey, await asGiven(started), after, new Date())).toBe(true);
            expect(await read()).toMatchObject({ status: 'complete', answers: JSON.stringify(after.answers) });
            // Sent once: sending again, from any row read before, changes nothing.
            expect(await sendDraft(t.db, survey, await asGiven(started), after, new Date())).toBe(false);
          }
        }
        await expectCountsMatchRows([
          { status: 'all' },
          { status: 'complete' },
          { status: 'all', area: 'gravesham' },
          { status: 'all', from: '2026-02-03' },
        ]);
      }),
      { numRuns: 15 },
    );
  });

  it('are rebuilt from the stored responses exactly as they were kept', async () => {
    await importResponses(t.db, survey, fixture);
    const r = new Respondent(t.app);
    await r.start();
    await r.answer('area', { area: 'dartford' });
    const kept = await keptCounts();
    expect(kept.length).toBeGreaterThan(100);
    expect((await recountSurvey(t.db, survey, 50)).responses).toBe(421);
    expect(await keptCounts()).toEqual(kept);
    await expectCountsMatchRows([{ status: 'all' }]);
  });
});
