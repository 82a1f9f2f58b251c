import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { countsDisagreements } from '../../src/analysis/check-counts.ts';
import { buildReport } from '../../src/analysis/report.ts';
import { importResponses } from '../../src/exports/import.ts';
import { AdminAgent, createAccount, cspSurvey, csrfTokenIn, makeAdminApp, type TestApp } from '../helpers.ts';

const fixture = readFileSync(join(import.meta.dirname, '../fixtures/csp-2019-published.csv'));
const survey = cspSurvey();
const PASSWORD = 'a long enough passphrase';
const BASE = '/admin/surveys/csp-2019';

let t: TestApp;
let analyst: AdminAgent;
let admin: AdminAgent;
let analystId: string;
beforeEach(async () => {
  t = await makeAdminApp();
  analystId = await createAccount(t.db, 'analyst@council.example', 'analyst', PASSWORD);
  await createAccount(t.db, 'admin@council.example', 'admin', PASSWORD);
  analyst = await new AdminAgent(t.app).signIn('analyst@council.example', PASSWORD);
  admin = await new AdminAgent(t.app).signIn('admin@council.example', PASSWORD);
  await importResponses(t.db, survey, fixture);
});
afterEach(() => t.close());

const report = (filters = {}) => buildReport(t.db, survey, { status: 'all', ...filters });
const concern1 = async (filters = {}) =>
  (await report(filters)).questions.concern_1 as { answered: number; counts: Record<string, number> };

/** A response whose most important issue is anti-social behaviour. */
async function asbResponse() {
  const row = await t.db
    .selectFrom('response_values')
    .select('response_id')
    .where('question_id', '=', 'concern_1')
    .where('value', '=', 'asb')
    .orderBy('response_id')
    .executeTakeFirstOrThrow();
  return row.response_id;
}

describe('the responses list', () => {
  it('pages through the responses under the filters, and opens one with its answers along its route', async () => {
    const list = await analyst.get(`${BASE}/responses`);
    expect(list.statusCode).toBe(200);
    expect(list.body).toContain('420 responses: page 1 of 9');
    expect(list.body.match(/<tr class="govuk-table__row">/g)?.length).toBe(51);
    const partial = await analyst.get(`${BASE}/responses?status=partial`);
    expect(partial.body).toContain('20 responses.');
    const id = await asbResponse();
    const one = await analyst.get(`${BASE}/responses/${id}`);
    expect(one.statusCode).toBe(200);
    expect(one.body).toContain('Anti-social behaviour');
    expect(one.body).toContain('Which Local Authority area do you live in?');
    expect((await analyst.get(`${BASE}/responses/nope`)).statusCode).toBe(404);
  });
});

describe('excluding a response', () => {
  it('drops it out of every figure and export, can switch it back in, and restores it, all in the audit log', async () => {
    const id = await asbResponse();
    const before = await concern1();
    const page = await analyst.get(`${BASE}/responses/${id}`);
    // A reason is needed; "another reason" needs words.
    const noReason = await analyst.post(`${BASE}/responses/${id}/exclude`, { _csrf: csrfTokenIn(page.body) });
    expect(noReason.statusCode).toBe(422);
    expect(noReason.body).toContain('<a href="#reason">Choose why this response should be excluded</a>');
    const noWords = await analyst.post(`${BASE}/responses/${id}/exclude`, {
      _csrf: csrfTokenIn(page.body),
      reason: 'other',
    });
    expect(noWords.statusCode).toBe(422);
    expect((await report()).responses).toBe(420);

    const excluded = await analyst.post(`${BASE}/responses/${id}/exclude`, {
      _csrf: csrfTokenIn(page.body),
      reason: 'test',
      note: 'keyed in while training',
    });
    expect(excluded.statusCode).toBe(303);
    expect((await report()).responses).toBe(419);
    expect((await concern1()).counts.asb).toBe((before.counts.asb ?? 0) - 1);
    expect((await countsDisagreements(t.db, survey)).differ).toEqual([]);
    // Out of the downloads and cross-tabs too, unless switched back in.
    const csv = (await analyst.get(`${BASE}/responses.csv`)).body;
    expect(csv).not.toContain(id);
    expect((await analyst.get(`${BASE}/responses.csv?excluded=include`)).body).toContain(id);
    expect((await report({ excluded: 'include' })).responses).toBe(420);
    expect((await concern1({ excluded: 'include' })).counts.asb).toBe(before.counts.asb);
    expect((await report({ excluded: 'only' })).responses).toBe(1);
    const crosstab = async (query: string) =>
      JSON.parse((await analyst.get(`${BASE}/report.json?crosstab=concern_1,area${query}`)).body).crosstab;
    const total = (row: Record<string, number>) => Object.values(row).reduce((a, b) => a + b, 0);
    expect(total((await crosstab('')).counts.asb)).toBe(total((await crosstab('&excluded=include')).counts.asb) - 1);
    // Seen on the quality page, and marked in the list.
    expect((await analyst.get(`${BASE}/results/quality`)).body).toMatch(
      /Excluded by an analyst \(not counted\)<\/th>\s*<td[^>]*>1</,
    );
    expect((await analyst.get(`${BASE}/responses?excluded=only`)).body).toContain('A test by staff');

    const shown = await analyst.get(`${BASE}/responses/${id}`);
    expect(shown.body).toContain('No: excluded (A test by staff)');
    const restored = await analyst.post(`${BASE}/responses/${id}/restore`, { _csrf: csrfTokenIn(shown.body) });
    expect(restored.statusCode).toBe(303);
    expect((await report()).responses).toBe(420);
    expect(await concern1()).toEqual(before);
    expect((await countsDisagreements(t.db, survey)).differ).toEqual([]);

    // The audit log: admins read it, analysts may not.
    expect((await analyst.get(`${BASE}/audit`)).statusCode).toBe(403);
    const log = (await admin.get(`${BASE}/audit`)).body;
    expect(log).toMatch(/analyst@council\.example<\/td>\s*<td[^>]*>Restored/);
    expect(log).toMatch(
      /analyst@council\.example<\/td>\s*<td[^>]*>Excluded<\/td>\s*<td[^>]*>A test by staff: keyed in while training/,
    );
    const entries = await t.db.selectFrom('audit_log').selectAll().orderBy('at').execute();
    expect(entries.map((e) => [e.action, e.account_id, e.response_id])).toEqual([
      ['exclude', analystId, id],
      ['restore', analystId, id],
    ]);
  });
});

describe('deleting a response', () => {
  it('is for admins, after a confirmation page, and erases it with its counts', async () => {
    const id = await asbResponse();
    expect((await analyst.get(`${BASE}/responses/${id}/delete`)).statusCode).toBe(403);
    const confirm = await admin.get(`${BASE}/responses/${id}/delete`);
    expect(confirm.body).toContain('Delete this response for good?');
    // Without the confirmation field, back to the confirmation page.
    const hasty = await admin.post(`${BASE}/responses/${id}/delete`, { _csrf: csrfTokenIn(confirm.body) });
    expect(hasty.headers.location).toBe(`${BASE}/responses/${id}/delete`);
    expect((await report()).responses).toBe(420);
    const done = await admin.post(`${BASE}/responses/${id}/delete`, {
      _csrf: csrfTokenIn(confirm.body),
      confirm: 'yes',
      note: 'asked to be erased',
    });
    expect(done.statusCode).toBe(303);
    expect(await t.db.selectFrom('responses').select('id').where('id', '=', id).execute()).toEqual([]);
    expect((await report()).responses).toBe(419);
    expect((await countsDisagreements(t.db, survey)).differ).toEqual([]);
    expect((await admin.get(`${BASE}/audit`)).body).toMatch(/Deleted<\/td>\s*<td[^>]*>asked to be erased/);
  });
});

describe('paper forms', () => {
  async function enter(agent: AdminAgent, fields: Record<string, string | string[]>) {
    const page = await agent.get(`${BASE}/paper`);
    const responseId = /name="response_id" value="([^"]+)"/.exec(page.body)?.[1] as string;
    const res = await agent.post(`${BASE}/paper`, {
      _csrf: csrfTokenIn(page.body),
      response_id: responseId,
      ...fields,
    });
    return { res, responseId };
  }

  it('get a short reference to write on the form, are found by it, and corrected keeping who keyed them in', async () => {
    const { res, responseId } = await enter(analyst, { q1: 'dartford', q2: 'asb' });
    expect(res.statusCode).toBe(303);
    const saved = await analyst.get(String(res.headers.location));
    expect(saved.body).toContain('Paper questionnaire saved as P-000001');
    expect((await enter(analyst, { q1: 'gravesham' })).res.statusCode).toBe(303);
    const found = await analyst.get(`${BASE}/responses?ref=p-1`);
    expect(found.body).toContain('1 response.');
    expect(found.body).toContain('P-000001');
    const bad = await analyst.get(`${BASE}/responses?ref=banana`);
    expect(bad.statusCode).toBe(422);
    expect(bad.body).toContain('Enter a paper reference like P-000042');

    const before = await concern1();
    const form = await admin.get(`${BASE}/paper?correct=${responseId}`);
    expect(form.body).toContain('Correct paper questionnaire P-000001');
    expect(form.body).toMatch(/value="asb" checked/);
    const corrected = await admin.post(`${BASE}/paper`, {
      _csrf: csrfTokenIn(form.body),
      response_id: responseId,
      correct: 'yes',
      q1: 'dartford',
      q2: 'property',
    });
    expect(corrected.headers.location).toBe(`${BASE}/responses/${responseId}?done=corrected`);
    const after = await concern1();
    expect(after.counts.asb).toBe((before.counts.asb ?? 0) - 1);
    expect(after.counts.property).toBe((before.counts.property ?? 0) + 1);
    expect((await countsDisagreements(t.db, survey)).differ).toEqual([]);
    // The reference and who first keyed it in stay; the audit log has both versions.
    const entry = await t.db
      .selectFrom('paper_entries')
      .selectAll()
      .where('response_id', '=', responseId)
      .executeTakeFirstOrThrow();
    expect([entry.reference, entry.account_id]).toEqual([1, analystId]);
    const audit = await t.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'correct')
      .executeTakeFirstOrThrow();
    expect(JSON.parse(audit.details ?? '{}')).toMatchObject({
      before: { 'concern-1': { concern_1: 'asb' } },
      after: { 'concern-1': { concern_1: 'property' } },
    });
  });
});
