import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { documentOf } from '../../src/survey/document.ts';
import { AdminAgent, createAccount, csrfTokenIn, makeAdminApp, Respondent, type TestApp } from '../helpers.ts';
import { snapshotAll } from './security-helpers.ts';

// The admin pages of a survey's definition: download, upload a new version or
// a new survey, copy as next year's wave, edit the wording with a preview.

const PASSWORD = 'a long enough passphrase';
const BOUNDARY = '----soundings-definition';
const BASE = '/admin/surveys/csp-2019';

let t: TestApp;
let admin: AdminAgent;
beforeEach(async () => {
  t = await makeAdminApp();
  await createAccount(t.db, 'admin@council.example', 'admin', PASSWORD);
  admin = await new AdminAgent(t.app).signIn('admin@council.example', PASSWORD);
});
afterEach(async () => {
  await t.close();
});

const shipped = () => documentOf(t.app.surveys.get('csp-2019')!) as any;

/** Uploads a document as the page's form sends it, with the page's token. */
async function upload(page: string, action: string, document: unknown) {
  const token = csrfTokenIn((await admin.get(page)).body);
  const file = typeof document === 'string' ? document : JSON.stringify(document);
  return admin.keep(
    await t.app.inject({
      method: 'POST',
      url: action,
      headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, cookie: admin.cookieHeader },
      payload:
        `--${BOUNDARY}\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${token}\r\n` +
        `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="survey.json"\r\nContent-Type: application/json\r\n\r\n${file}\r\n--${BOUNDARY}--\r\n`,
    }),
  );
}

async function answerOne(slug = 'csp-2019') {
  const r = new Respondent(t.app, slug);
  await r.start();
  await r.answer('area', { area: 'dartford' });
}

describe('the definition page', () => {
  it('downloads the current version as JSON, and lists the versions', async () => {
    const page = await admin.get(`${BASE}/definition`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Residents see version 1 of this survey');
    const file = await admin.get(`${BASE}/definition.json`);
    expect(file.headers['content-disposition']).toBe('attachment; filename="csp-2019.json"');
    expect(JSON.parse(file.body)).toEqual(shipped());
  });

  it('stores an uploaded new version, served at once', async () => {
    const doc = shipped();
    doc.thankYou = ['Thank you. Final priorities will be decided by the end of March 2020.'];
    const res = await upload(`${BASE}/definition`, `${BASE}/definition`, doc);
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe(`${BASE}/definition?done=version`);
    expect(t.app.surveys.get('csp-2019')?.version).toBe(2);
    expect(t.app.surveys.get('csp-2019')?.thankYou).toEqual(doc.thankYou);
    expect((await admin.get(`${BASE}/definition`)).body).toContain('Residents see version 2');
  });

  it('lists every problem of a bad file, and every refused structural change once answered, storing nothing', async () => {
    const bad = shipped();
    bad.start = 'nowhere';
    bad.pages[0].next = [{ goto: 'missing' }];
    const refused = await upload(`${BASE}/definition`, `${BASE}/definition`, bad);
    expect(refused.statusCode).toBe(422);
    expect(refused.body).toContain('start page &quot;nowhere&quot; does not exist');
    expect(refused.body).toContain('routes to unknown page &quot;missing&quot;');
    expect(refused.body).toContain('govuk-error-summary');

    await answerOne();
    const before = await snapshotAll(t.db);
    const changed = shipped();
    changed.pages[0].questions[0].options.pop();
    changed.analysis.headline = 'concern_2';
    const structural = await upload(`${BASE}/definition`, `${BASE}/definition`, changed);
    expect(structural.statusCode).toBe(422);
    expect(structural.body).toContain('the survey has responses, so its codes and routing cannot change');
    expect(structural.body).toContain('analysis › headline: was &quot;concern_1&quot;; now &quot;concern_2&quot;');
    expect(structural.body).toContain('pages &quot;area&quot; › questions &quot;area&quot; › options');
    expect(await snapshotAll(t.db)).toEqual(before);
    expect(t.app.surveys.get('csp-2019')?.version).toBe(1);

    const notJson = await upload(`${BASE}/definition`, `${BASE}/definition`, 'not json');
    expect(notJson.statusCode).toBe(422);
    expect(notJson.body).toContain('the file is not JSON');
    const other = await upload(`${BASE}/definition`, `${BASE}/definition`, { ...shipped(), slug: 'other' });
    expect(other.statusCode).toBe(422);
    expect(other.body).toContain('the file is the definition of &quot;other&quot;');
  });

  it('uploads a new survey from the dashboard; an existing slug is refused', async () => {
    expect((await admin.get('/admin')).body).toContain('href="/admin/new-survey"');
    const created = await upload('/admin/new-survey', '/admin/new-survey', { ...shipped(), slug: 'csp-new' });
    expect(created.statusCode).toBe(303);
    expect(created.headers.location).toBe('/admin/surveys/csp-new/definition?done=created');
    expect((await t.app.inject({ method: 'GET', url: '/s/csp-new' })).statusCode).toBe(200);
    const again = await upload('/admin/new-survey', '/admin/new-survey', { ...shipped(), slug: 'csp-new' });
    expect(again.statusCode).toBe(422);
    expect(again.body).toContain('there is already a survey &quot;csp-new&quot;');
  });
});

describe('copy as next year’s wave', () => {
  it('makes a new survey with the same codes; bad input is explained and stores nothing', async () => {
    const before = await snapshotAll(t.db);
    const bad = await admin.submit(`${BASE}/copy`, `${BASE}/copy`, {
      id: 'CSP 2020',
      title: '',
      opens: '2020-02-30',
      closes: '',
    });
    expect(bad.statusCode).toBe(422);
    for (const message of [
      'The id must be lower case letters',
      'Enter a title for the new survey',
      'Enter the date it opens',
      'Enter the date it closes',
    ])
      expect(bad.body).toContain(message);
    expect(await snapshotAll(t.db)).toEqual(before);
    const taken = await admin.submit(`${BASE}/copy`, `${BASE}/copy`, {
      id: 'csp-2019',
      title: 'Again',
      opens: '2020-02-17',
      closes: '2020-03-01',
    });
    expect(taken.statusCode).toBe(422);
    expect(taken.body).toContain('There is already a survey with the id csp-2019');

    const res = await admin.submit(`${BASE}/copy`, `${BASE}/copy`, {
      id: 'csp-2020',
      title: 'Community Safety Priorities 2020',
      opens: '2020-02-17',
      closes: '2020-03-01',
    });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/admin/surveys/csp-2020/definition?done=copied');
    const wave = t.app.surveys.get('csp-2020')!;
    expect(wave.title).toBe('Community Safety Priorities 2020');
    expect(wave.questionIds).toEqual(t.app.surveys.get('csp-2019')!.questionIds);
    expect(documentOf(wave).pages).toEqual(shipped().pages);
    expect(wave.opensAt).toBe('2020-02-17T00:00:00.000Z');
  });
});

describe('the wording editor', () => {
  it('previews the changes as a resident sees them, then publishes them as a new version', async () => {
    const editor = await admin.get(`${BASE}/wording`);
    expect(editor.statusCode).toBe(200);
    const fields = Object.fromEntries(
      [
        ...editor.body.matchAll(
          /<(?:input|textarea)[^>]* id="([^"]+)" name="[^"]+"[^>]*?(?: value="([^"]*)")?>(?:([^<]*)<\/textarea>)?/g,
        ),
      ].map((m) => [
        m[1] as string,
        (m[2] ?? m[3] ?? '')
          .replace(/&amp;/g, '&')
          .replace(/&quot;/g, '"')
          .replace(/&#39;/g, "'")
          .replace(/&lt;/g, '<')
          .replace(/&gt;/g, '>'),
      ]),
    );
    expect(fields.thankYou).toContain('end of March 2019');
    const sent = {
      ...fields,
      thankYou: 'Thank you for taking the time.\n\nFinal priorities will be decided by the end of March 2020.',
      'p0-q0-label': 'Where do you live?',
      'p0-q0-o0': 'Dartford borough',
      action: 'preview',
    };
    const preview = await admin.submit(`${BASE}/wording`, `${BASE}/wording`, sent);
    expect(preview.statusCode).toBe(303);
    expect(preview.headers.location).toBe(`${BASE}/wording/preview`);
    // Residents still see the old wording.
    expect(t.app.surveys.get('csp-2019')?.version).toBe(1);
    const area = await admin.get(`${BASE}/wording/preview?page=area`);
    expect(area.body).toContain('Dartford borough');
    expect(area.body).toContain('Where do you live?');
    const thanks = await admin.get(`${BASE}/wording/preview?page=thank-you`);
    expect(thanks.body).toContain('end of March 2020');

    const published = await admin.submit(`${BASE}/wording/preview`, `${BASE}/wording`, { action: 'publish' });
    expect(published.statusCode).toBe(303);
    expect(published.headers.location).toBe(`${BASE}/definition?done=published`);
    const survey = t.app.surveys.get('csp-2019')!;
    expect(survey.version).toBe(2);
    expect(survey.thankYou).toEqual([
      'Thank you for taking the time.',
      'Final priorities will be decided by the end of March 2020.',
    ]);
    const page = await new Respondent(t.app).get('');
    expect(page.statusCode).toBe(200);
    const print = await t.app.inject({ method: 'GET', url: '/print/csp-2019' });
    expect(print.body).toContain('Dartford borough');
  });

  it('refuses an empty required text with the error beside it, storing nothing', async () => {
    const before = await snapshotAll(t.db);
    const res = await admin.submit(`${BASE}/wording`, `${BASE}/wording`, { title: '', action: 'preview' });
    expect(res.statusCode).toBe(422);
    expect(res.body).toContain('<a href="#title">Title cannot be empty</a>');
    expect(res.body).toContain('id="title-error"');
    expect(await snapshotAll(t.db)).toEqual(before);
  });
});
