import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { countsDisagreements } from '../../src/analysis/check-counts.ts';
import { SECTIONS } from '../../src/analysis/sections.ts';
import { importResponses } from '../../src/exports/import.ts';
import {
  AdminAgent,
  testClock as clock,
  createAccount,
  cspSurvey,
  csrfTokenIn,
  FORM,
  form,
  makeAdminApp,
  Respondent,
  type TestApp,
} from '../helpers.ts';

const fixture = readFileSync(join(import.meta.dirname, '../fixtures/csp-2019-published.csv'));
const PASSWORD = 'a long enough passphrase';
const BASE = '/admin/surveys/csp-2019';
const BANNER = 'This response will not be counted: it is stored as a staff test.';
const PAGES = [
  'concern-1',
  'concern-1-asb',
  'concern-1-asb-reported',
  'concern-2',
  'concern-3',
  'about-you',
  'postcode',
];

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function setUp(options: Parameters<typeof makeAdminApp>[0] = {}) {
  t = await makeAdminApp(options);
  await createAccount(t.db, 'analyst@council.example', 'analyst', PASSWORD);
  await createAccount(t.db, 'admin@council.example', 'admin', PASSWORD);
  const analyst = await new AdminAgent(t.app).signIn('analyst@council.example', PASSWORD);
  const admin = await new AdminAgent(t.app).signIn('admin@council.example', PASSWORD);
  return { t, analyst, admin };
}

/** Presses "Try the survey (test mode)" on the survey's admin page; returns the browser, now holding the test draft. */
async function tryIt(agent: AdminAgent): Promise<Respondent> {
  const page = await agent.get(BASE);
  expect(page.body).toContain('Try the survey (test mode)');
  const res = await agent.post(`${BASE}/test`, { _csrf: csrfTokenIn(page.body) });
  expect(res.statusCode).toBe(303);
  expect(res.headers.location).toBe('/s/csp-2019/area');
  expect(String(res.headers['set-cookie'])).toMatch(/soundings_draft=.*Path=\/s\/csp-2019.*HttpOnly/);
  const r = new Respondent(t!.app);
  r.keep(res);
  return r;
}

/** Answers every page as someone in Dartford worried most by anti-social behaviour would, and sends. */
async function answerAndSend(r: Respondent) {
  expect(await r.answer('area', { area: 'dartford' })).toBe('concern-1');
  expect(await r.answer('concern-1', { concern_1: 'asb' })).toBe('concern-1-asb');
  expect(await r.answer('concern-1-asb', { concern_1_top3: ['noisy_rowdy'], concern_1_victim: 'yes' })).toBe(
    'concern-1-asb-reported',
  );
  for (const page of PAGES.slice(2)) await r.answer(page, page === 'about-you' ? { gender: 'female' } : {});
  const sent = await r.post('check-answers');
  expect(sent.headers.location).toBe('/s/csp-2019/thank-you');
}

const rows = () => t!.db.selectFrom('responses').select(['id', 'status', 'excluded']).orderBy('id').execute();
/** A page with its CSRF tokens taken out: they differ on every load. */
const withoutTokens = (html: string) => html.replace(/name="_csrf" value="[^"]+"/g, '');

describe('test mode', () => {
  it('takes staff through a survey that has not opened, every page saying so, and keeps the response as a test', async () => {
    const c = clock('2026-12-01T09:00:00.000Z');
    const survey = cspSurvey({ opensAt: '2027-01-10T09:00:00.000Z', closesAt: '2027-02-10T17:00:00.000Z' });
    const { analyst } = await setUp({ now: c.now, surveys: [survey] });
    // Residents find it not open yet.
    const resident = new Respondent(t!.app);
    expect((await resident.get('')).body).toContain('This survey opens on 10 January 2027');

    const r = await tryIt(analyst);
    const first = await r.get('area');
    expect(first.statusCode).toBe(200);
    expect(first.body).toContain('Test mode');
    expect(first.body).toContain(BANNER);
    expect(await r.answer('area', { area: 'dartford' })).toBe('concern-1');
    for (const page of ['concern-1', 'concern-2', 'concern-3', 'about-you', 'postcode']) {
      expect((await r.get(page)).body).toContain(BANNER);
      await r.answer(page);
    }
    const check = await r.get('check-answers');
    expect(check.body).toContain(BANNER);
    expect((await r.post('check-answers')).headers.location).toBe('/s/csp-2019/thank-you');
    const thanks = await r.get('thank-you');
    expect(thanks.body).toContain(BANNER);
    expect(thanks.body).toContain('Your test response has been saved');
    expect(thanks.body).toContain('This was a test: it will not be counted');
    expect(thanks.body).toContain('Thank you for taking the time to complete this survey.');
    // The start page too, where Start again gives another test, never a response that counts.
    const start = await r.get('');
    expect(start.statusCode).toBe(200);
    expect(start.body).toContain(BANNER);
    const again = await r.post('start', { restart: 'yes' });
    expect(again.headers.location).toBe('/s/csp-2019/area');
    expect((await rows()).map((row) => [row.status, row.excluded]).sort()).toEqual([
      ['complete', 'test'],
      ['partial', 'test'],
    ]);
    // Nothing of the test on a resident's pages.
    expect((await resident.get('')).body).not.toContain('Test mode');
  });

  it('works after the survey has closed too, and for an admin as for an analyst', async () => {
    const c = clock('2027-03-01T09:00:00.000Z');
    const survey = cspSurvey({ opensAt: '2027-01-10T09:00:00.000Z', closesAt: '2027-02-10T17:00:00.000Z' });
    const { admin } = await setUp({ now: c.now, surveys: [survey] });
    const r = await tryIt(admin);
    await answerAndSend(r);
    expect((await rows()).map((row) => [row.status, row.excluded])).toEqual([['complete', 'test']]);

    // A test an analyst puts back into the figures is a response like any other: the dates apply to it again.
    const restored = await tryIt(admin);
    expect(await restored.answer('area', { area: 'dartford' })).toBe('concern-1');
    const id = (await rows()).find((row) => row.status === 'partial')!.id;
    const page = await admin.get(`${BASE}/responses/${id}`);
    await admin.post(`${BASE}/responses/${id}/restore`, { _csrf: csrfTokenIn(page.body) });
    await restored.get('concern-1');
    const refused = await restored.post('concern-1', { concern_1: 'asb' });
    expect(refused.statusCode).toBe(403);
    expect(refused.body).toContain('This survey closed');
  });

  it('cannot be entered by a resident: no admin session, a forged or unsigned cookie, extra fields, or a draft excluded as a test', async () => {
    const c = clock('2027-03-01T09:00:00.000Z');
    const survey = cspSurvey({ opensAt: '2027-01-10T09:00:00.000Z', closesAt: '2027-02-10T17:00:00.000Z' });
    const { analyst } = await setUp({ now: c.now, surveys: [survey] });

    // The admin route, without a session: refused, no cookie.
    const anonymous = await t!.app.inject({ method: 'POST', url: `${BASE}/test`, headers: FORM, payload: '' });
    expect(anonymous.statusCode).toBe(403);
    expect(String(anonymous.headers['set-cookie'] ?? '')).not.toContain('soundings_draft');

    // A cookie made to look like a test draft's, unsigned or signed with another key: no draft at all.
    const resident = new Respondent(t!.app);
    await resident.get('');
    for (const forged of ['test:abc.mz1', 'test:abc.mz1.c2lnbmF0dXJl']) {
      const cookie = resident.cookieWith('soundings_draft', encodeURIComponent(forged));
      const shown = await t!.app.inject({ method: 'GET', url: '/s/csp-2019/area', headers: { cookie } });
      expect(shown.statusCode).toBe(303);
      expect(shown.headers.location).toBe('/s/csp-2019');
      const saved = await t!.app.inject({
        method: 'POST',
        url: '/s/csp-2019/area',
        headers: { ...FORM, cookie },
        payload: form({ _csrf: resident.csrf, area: 'dartford' }),
      });
      expect(saved.statusCode).toBe(403);
      expect(saved.body).not.toContain('Test mode');
    }
    // Start on the closed survey: refused, nothing stored.
    const closedStart = await resident.post('start', { test: 'yes' });
    expect(closedStart.statusCode).toBe(403);
    expect(closedStart.body).not.toContain('Test mode');
    expect(await rows()).toEqual([]);

    // While it is open, fields asking for a test on Start are refused, and nothing is stored.
    c.advance(-40 * 24 * 60 * 60_000);
    const asking = new Respondent(t!.app);
    await asking.get('');
    for (const fields of [{ test: 'yes' }, { mode: 'test' }, { excluded: 'test' }] as Record<string, string>[]) {
      const started = await asking.post('start', fields);
      expect(started.statusCode).toBe(400);
      expect(started.body).not.toContain('Test mode');
    }
    expect(await rows()).toEqual([]);

    // A resident's own draft, started while open and excluded by an analyst as a test, does not carry them past closing.
    const late = new Respondent(t!.app);
    await late.start();
    expect(await late.answer('area', { area: 'dartford' })).toBe('concern-1');
    const [row] = await rows();
    const page = await analyst.get(`${BASE}/responses/${row!.id}`);
    const excluded = await analyst.post(`${BASE}/responses/${row!.id}/exclude`, {
      _csrf: csrfTokenIn(page.body),
      reason: 'test',
    });
    expect(excluded.statusCode).toBe(303);
    c.advance(40 * 24 * 60 * 60_000);
    await late.get('concern-1');
    const refused = await late.post('concern-1', { concern_1: 'asb' });
    expect(refused.statusCode).toBe(403);
    expect(refused.body).toContain('This survey closed');
    expect(refused.body).not.toContain('Test mode');
    expect((await late.get('')).body).toContain('This survey closed');
    expect((await late.post('start')).statusCode).toBe(403);
    const stored = await t!.db.selectFrom('responses').select('answers').executeTakeFirstOrThrow();
    expect(JSON.parse(stored.answers)).toEqual({ area: { area: 'dartford' } });
  });
});

describe('test responses', () => {
  it('never count: the report, every results page, the CSV and the overview read as they did without them', async () => {
    const { analyst } = await setUp();
    await importResponses(t!.db, cspSurvey(), fixture);
    const reportJson = async (query = '') =>
      JSON.parse((await analyst.get(`${BASE}/report.json?crosstab=concern_1,area${query}`)).body);
    const pages = async () =>
      Promise.all(
        SECTIONS.filter((s) => s.id !== 'quality').map(async (s) =>
          withoutTokens((await analyst.get(`${BASE}${s.path}`)).body),
        ),
      );
    const csv = async () => (await analyst.get(`${BASE}/responses.csv`)).body;
    const counted = async () =>
      /Counted in the figures<\/th>\s*<td[^>]*>(\d+)</.exec((await analyst.get(`${BASE}/results/quality`)).body)?.[1];
    const before = { report: await reportJson(), pages: await pages(), csv: await csv(), counted: await counted() };
    expect(before.counted).toBe('420');

    // A test sent, and another left part-way: both would move the figures if they counted.
    await answerAndSend(await tryIt(analyst));
    const partial = await tryIt(analyst);
    expect(await partial.answer('area', { area: 'gravesham' })).toBe('concern-1');
    const tests = await rows();
    expect(tests.filter((row) => row.excluded === 'test')).toHaveLength(2);

    expect(await reportJson()).toEqual(before.report);
    expect(await pages()).toEqual(before.pages);
    expect(await csv()).toBe(before.csv);
    expect(await counted()).toBe('420');
    expect((await countsDisagreements(t!.db, cspSurvey())).differ).toEqual([]);
    // They are there, and marked as tests: switched in on request, listed as tests.
    const included = await reportJson('&excluded=include');
    expect(included.responses).toBe(before.report.responses + 2);
    expect(included.questions.concern_1.counts.asb).toBe(before.report.questions.concern_1.counts.asb + 1);
    expect((await analyst.get(`${BASE}/results/quality`)).body).toMatch(/a test by staff<\/th>\s*<td[^>]*>2</);
    expect((await analyst.get(`${BASE}/responses?excluded=only`)).body.match(/A test by staff/g)).toHaveLength(2);
  });

  it('are erased by an admin in one action, after a confirmation saying how many, keeping every other response', async () => {
    const { analyst, admin } = await setUp();
    const survey = cspSurvey();
    await importResponses(t!.db, survey, fixture);
    const [duplicate, marked] = await t!.db.selectFrom('responses').select('id').orderBy('id').limit(2).execute();
    for (const [id, reason] of [
      [duplicate!.id, 'duplicate'],
      [marked!.id, 'test'],
    ] as const) {
      const page = await analyst.get(`${BASE}/responses/${id}`);
      await analyst.post(`${BASE}/responses/${id}/exclude`, { _csrf: csrfTokenIn(page.body), reason });
    }
    await answerAndSend(await tryIt(analyst));
    await (await tryIt(admin)).answer('area', { area: 'dartford' });
    const report = async () => JSON.parse((await analyst.get(`${BASE}/report.json`)).body);
    const before = await report();
    const testIds = (await t!.db.selectFrom('responses').select('id').where('excluded', '=', 'test').execute()).map(
      (r) => r.id,
    );
    expect(testIds).toHaveLength(3);

    // Analysts may not; the list offers it to admins only.
    expect((await analyst.get(`${BASE}/responses/erase-tests`)).statusCode).toBe(403);
    expect((await analyst.get(`${BASE}/responses`)).body).not.toContain('Erase test responses');
    const listed = await admin.get(`${BASE}/responses`);
    expect(listed.body).toContain(`href="${BASE}/responses/erase-tests"`);
    const confirm = await admin.get(`${BASE}/responses/erase-tests`);
    expect(confirm.statusCode).toBe(200);
    expect(confirm.body).toContain('Erase all 3 test responses?');
    const refusedToAnalyst = await analyst.post(`${BASE}/responses/erase-tests`, {
      _csrf: csrfTokenIn((await analyst.get(`${BASE}/responses`)).body),
      confirm: 'yes',
    });
    expect(refusedToAnalyst.statusCode).toBe(403);
    // Without the confirmation field, back to the confirmation page, nothing erased.
    const hasty = await admin.post(`${BASE}/responses/erase-tests`, { _csrf: csrfTokenIn(confirm.body) });
    expect(hasty.headers.location).toBe(`${BASE}/responses/erase-tests`);
    expect(await t!.db.selectFrom('responses').select('id').where('excluded', '=', 'test').execute()).toHaveLength(3);

    const done = await admin.post(`${BASE}/responses/erase-tests`, {
      _csrf: csrfTokenIn(confirm.body),
      confirm: 'yes',
    });
    expect(done.statusCode).toBe(303);
    expect(done.headers.location).toBe(`${BASE}/responses/erase-tests?erased=3`);
    const after = await admin.get(String(done.headers.location));
    expect(after.body).toContain('3 test responses were erased');
    expect(after.body).toContain('There are no test responses to erase');

    // Gone with everything stored for them; the duplicate and every counted response kept.
    const left = await rows();
    expect(left).toHaveLength(420 - 1);
    expect(left.filter((r) => r.excluded)).toEqual([
      { id: duplicate!.id, status: expect.any(String), excluded: 'duplicate' },
    ]);
    for (const table of ['response_values', 'response_pages'] as const)
      expect(await t!.db.selectFrom(table).select('response_id').where('response_id', 'in', testIds).execute()).toEqual(
        [],
      );
    expect(await report()).toEqual(before);
    expect((await countsDisagreements(t!.db, survey)).differ).toEqual([]);
    const entries = await t!.db.selectFrom('audit_log').selectAll().where('action', '=', 'erase-tests').execute();
    expect(entries.map((e) => [e.account_email, e.details, e.response_id])).toEqual([
      ['admin@council.example', '3', null],
    ]);
    expect((await admin.get(`${BASE}/audit`)).body).toMatch(
      /admin@council\.example<\/td>\s*<td[^>]*>Test responses erased<\/td>\s*<td[^>]*>3 test responses</,
    );

    // Erasing again finds none, and writes nothing more to the audit log.
    await admin.post(`${BASE}/responses/erase-tests`, { _csrf: csrfTokenIn(confirm.body), confirm: 'yes' });
    expect(await t!.db.selectFrom('audit_log').select('id').where('action', '=', 'erase-tests').execute()).toHaveLength(
      1,
    );
  });
});
