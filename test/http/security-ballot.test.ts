import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_FILTERS, type Filters, filtersQuery, parseFilters } from '../../src/analysis/filters.ts';
import { buildReport } from '../../src/analysis/report.ts';
import { clientKey } from '../../src/limits/client-key.ts';
import { hashDraftToken } from '../../src/responses/anonymity.ts';
import { DraftBurst, sentTooFast, startedAtOf } from '../../src/routes/respondent/guards.ts';
import {
  AdminAgent,
  testClock as clock,
  createAccount,
  cspSurvey,
  csrfTokenIn,
  FORM,
  form,
  makeAdminApp,
  makeApp,
  Respondent,
  storedContents,
  type TestApp,
} from '../helpers.ts';

const root = join(import.meta.dirname, '../..');
const PASSWORD = 'a long enough passphrase';
const PAGES = ['area', 'concern-1', 'concern-2', 'concern-3', 'about-you', 'postcode'];
const survey = cspSurvey();

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** Each response's status and flag, in a stable order (flagged first). */
const flags = async () =>
  (await t!.db.selectFrom('responses').select(['flag', 'status']).execute())
    .map((r) => [r.status, r.flag])
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

/** Answers every page (blank but for the area) and sends, `seconds` after starting. */
async function complete(
  r: Respondent,
  c?: ReturnType<typeof clock>,
  seconds = 120,
  fields: Record<string, string> = {},
) {
  for (const page of PAGES) await r.answer(page, page === 'area' ? { area: 'dartford' } : {});
  c?.advance(seconds * 1000);
  const sent = await r.post('check-answers', fields);
  expect(sent.headers.location).toBe('/s/csp-2019/thank-you');
}

describe('the honeypot', () => {
  it('flags a response when the hidden field is filled in on Start, a page or Send, and changes nothing else the robot can see', async () => {
    const c = clock();
    t = await makeApp({ now: c.now });
    const onStart = new Respondent(t.app);
    await onStart.get('');
    const started = await onStart.post('start', { 'website-url': 'http://spam.example' });
    expect(started.statusCode).toBe(303);
    expect(started.headers.location).toBe('/s/csp-2019/area');
    await onStart.get('area');
    await complete(onStart, c);

    const onPage = new Respondent(t.app);
    await onPage.start();
    expect(await onPage.answer('area', { area: 'gravesham', 'website-url': 'x' })).toBe('concern-1');
    for (const page of PAGES.slice(1)) await onPage.answer(page);
    c.advance(120_000);
    await onPage.post('check-answers');

    const onSend = new Respondent(t.app);
    await onSend.start();
    await complete(onSend, c, 120, { 'website-url': 'buy now' });

    const honest = new Respondent(t.app);
    await honest.start();
    await complete(honest, c, 120, { 'website-url': '' });

    expect(await flags()).toEqual([
      ['complete', 'honeypot'],
      ['complete', 'honeypot'],
      ['complete', 'honeypot'],
      ['complete', null],
    ]);
    // The page with the honeypot was stored as usual: flagged, never dropped.
    const values = await t.db.selectFrom('response_values').select('value').where('question_id', '=', 'area').execute();
    expect(values.map((v) => v.value).sort()).toEqual(['dartford', 'dartford', 'dartford', 'gravesham']);
  });
});

describe('the signed minimum time to complete', () => {
  it('flags a response sent sooner than 20 seconds after Start as too_fast; later ones are not flagged', async () => {
    const c = clock();
    t = await makeApp({ now: c.now });
    const quick = new Respondent(t.app);
    await quick.start();
    await complete(quick, c, 5);
    const human = new Respondent(t.app);
    await human.start();
    await complete(human, c, 21);
    expect(await flags()).toEqual([
      ['complete', 'too_fast'],
      ['complete', null],
    ]);
  });

  it('takes the minimum from the options', async () => {
    const c = clock();
    t = await makeApp({ now: c.now, respondent: { minCompletionMs: 60_000 } });
    const r = new Respondent(t.app);
    await r.start();
    await complete(r, c, 45);
    expect(await flags()).toEqual([['complete', 'too_fast']]);
  });

  it('keeps the start instant in the signed draft cookie only: changing it breaks the signature', async () => {
    const c = clock('2026-12-01T09:00:42.123Z');
    t = await makeApp({ now: c.now });
    const r = new Respondent(t.app);
    await r.start();
    const signed = r.cookieValue('soundings_draft') as string;
    const token = t.app.unsignCookie(signed).value as string;
    expect(startedAtOf(token)).toBe(Date.parse('2026-12-01T09:00:42.123Z'));
    const row = await t.db.selectFrom('responses').selectAll().executeTakeFirstOrThrow();
    expect(row.started_at).toBe('2026-12-01T09:00:00Z');
    expect(row.draft_token_hash).toBe(hashDraftToken(token));
    expect(JSON.stringify(row)).not.toContain(token.split('.')[1]);
    // Moving the start time back (to look slow) invalidates the cookie: no draft.
    const earlier = `${token.split('.')[0]}.${(Date.parse('2026-12-01T08:00:00Z')).toString(36)}`;
    const forged = `${earlier}.${signed.slice(signed.lastIndexOf('.') + 1)}`;
    const res = await t.app.inject({
      url: '/s/csp-2019/area',
      headers: { cookie: r.cookieWith('soundings_draft', encodeURIComponent(forged)) },
    });
    expect(res.headers.location).toBe('/s/csp-2019');
  });

  it('judges a draft started before the timer existed by its minute: only when certainly too fast', () => {
    expect(sentTooFast('untimed-token', '2026-12-01T09:00:00Z', new Date('2026-12-01T09:00:10Z'), 20_000)).toBe(true);
    expect(sentTooFast('untimed-token', '2026-12-01T09:00:00Z', new Date('2026-12-01T09:00:30Z'), 20_000)).toBe(false);
    expect(
      sentTooFast(
        `abc.${Date.parse('2026-12-01T09:00:50Z').toString(36)}`,
        '2026-12-01T09:00:00Z',
        new Date('2026-12-01T09:01:00Z'),
        20_000,
      ),
    ).toBe(true);
  });
});

describe('the signed time each page was shown', () => {
  /** The app with a reading time per page of 1.5 s, on a clock moved by hand. */
  async function reading() {
    const c = clock();
    t = await makeAdminApp({ now: c.now, respondent: { minPageMs: 1500 } });
    return c;
  }
  const flagOf = async () => (await t!.db.selectFrom('responses').select('flag').executeTakeFirstOrThrow()).flag;

  it('flags drafts whose pages were answered faster than anyone reads, sent or not, so flagged=exclude leaves them out', async () => {
    const c = await reading();
    await createAccount(t!.db, 'analyst@council.example', 'analyst', PASSWORD);
    for (let i = 0; i < 10; i++) {
      const bot = new Respondent(t!.app, 'csp-2019', `198.51.100.${i + 1}`);
      await bot.start();
      c.advance(70);
      await bot.answer('area', { area: 'dartford' });
      c.advance(70);
      await bot.answer('concern-1', { concern_1: 'asb' });
    }
    const person = new Respondent(t!.app, 'csp-2019', '192.0.2.1');
    await person.start();
    c.advance(4_000);
    await person.answer('area', { area: 'gravesham' });
    await person.get('concern-1');
    c.advance(2_000);
    await person.answer('concern-1', { concern_1: 'property' });
    const rows = await t!.db.selectFrom('responses').select(['status', 'flag']).execute();
    expect(rows.filter((r) => r.flag === 'too_fast')).toHaveLength(10);
    expect(rows.filter((r) => r.flag === null)).toHaveLength(1);
    const analyst = await new AdminAgent(t!.app).signIn('analyst@council.example', PASSWORD);
    const report = async (query: string) =>
      JSON.parse((await analyst.get(`/admin/surveys/csp-2019/report.json${query}`)).body).questions.concern_1.counts;
    expect(await report('')).toMatchObject({ asb: 10, property: 1 });
    const excluded = await report('?flagged=exclude');
    expect(excluded.asb ?? 0).toBe(0);
    expect(excluded.property).toBe(1);
  });

  it('does not flag a page left blank, however quickly, nor one read for long enough', async () => {
    const c = await reading();
    const r = new Respondent(t!.app);
    await r.start();
    c.advance(1_600);
    await r.answer('area', { area: 'dartford' });
    for (const page of ['concern-1', 'concern-2', 'concern-3', 'about-you', 'postcode']) await r.answer(page);
    expect(await flagOf()).toBeNull();
  });

  it('keeps the time a page was first shown when it comes back with an error', async () => {
    const c = await reading();
    const r = new Respondent(t!.app);
    await r.start();
    c.advance(2_000);
    expect((await r.post('area', { area: 'nowhere' })).statusCode).toBe(422);
    c.advance(100);
    await r.answer('area', { area: 'dartford' });
    expect(await flagOf()).toBeNull();
  });

  it('flags, never refuses, a page with answers whose time is missing, forged, or made for another page or draft', async () => {
    const c = await reading();
    const other = new Respondent(t!.app, 'csp-2019', '192.0.2.9');
    await other.start();
    const othersArea = other.shownAt('area') as string;
    const cases: [string, (r: Respondent) => Record<string, string | string[]>][] = [
      ['missing', () => ({ 'shown-at': [] })],
      ['empty', () => ({ 'shown-at': '' })],
      [
        'moved back',
        (r) => ({
          'shown-at': `${(c.now().getTime() - 120_000).toString(36)}.${(r.shownAt('area') as string).split('.')[1]}`,
        }),
      ],
      ['signature changed', (r) => ({ 'shown-at': `${(r.shownAt('area') as string).slice(0, -2)}AA` })],
      ["another draft's", () => ({ 'shown-at': othersArea })],
      ['given twice', (r) => ({ 'shown-at': [r.shownAt('area') as string, r.shownAt('area') as string] })],
    ];
    for (const [what, field] of cases) {
      await t!.db.deleteFrom('responses').where('flag', 'is not', null).execute();
      const r = new Respondent(t!.app, 'csp-2019', '203.0.113.1');
      await r.start();
      c.advance(60_000);
      const res = await r.post('area', { area: 'dartford', ...field(r) });
      expect(res.statusCode, what).toBe(303);
      const row = await t!.db
        .selectFrom('responses')
        .select(['flag', 'answers'])
        .where('flag', 'is not', null)
        .execute();
      expect(
        row.map((x) => x.flag),
        what,
      ).toEqual(['too_fast']);
      expect(JSON.parse(row[0]!.answers), what).toEqual({ area: { area: 'dartford' } });
    }
    // A page's time is for that page only.
    const r = new Respondent(t!.app, 'csp-2019', '203.0.113.2');
    await r.start();
    await r.get('concern-1');
    c.advance(60_000);
    await r.answer('area', { 'shown-at': r.shownAt('concern-1') as string, area: 'gravesham' });
    const flags = await t!.db
      .selectFrom('responses')
      .innerJoin('response_values', 'response_values.response_id', 'responses.id')
      .select('flag')
      .where('value', '=', 'gravesham')
      .execute();
    expect(flags).toEqual([{ flag: 'too_fast' }]);
  });
});

describe('one response per draft', () => {
  it('completes a draft exactly once, however often Send is pressed or replayed', async () => {
    t = await makeApp();
    const r = new Respondent(t.app);
    await r.start();
    for (const page of PAGES) await r.answer(page);
    const sends = await Promise.all([1, 2, 3, 4, 5].map(() => r.post('check-answers')));
    for (const res of sends) expect(res.headers.location).toBe('/s/csp-2019/thank-you');
    const sent = await t.db.selectFrom('responses').selectAll().execute();
    expect(sent.map((row) => row.status)).toEqual(['complete']);
    // Someone else in the household starts a new response: a new draft with a new token.
    const oldCookie = r.cookie;
    const oldToken = r.csrf;
    expect((await r.post('start', { restart: 'yes' })).statusCode).toBe(303);
    expect(r.cookie).not.toBe(oldCookie);
    const rows = await t.db.selectFrom('responses').selectAll().orderBy('status').execute();
    expect(rows.map((row) => row.status)).toEqual(['complete', 'partial']);
    expect(rows[1]?.draft_token_hash).not.toBe(rows[0]?.draft_token_hash);
    // The first draft's cookie and token change nothing any more.
    const replay = await t.app.inject({
      method: 'POST',
      url: '/s/csp-2019/check-answers',
      headers: { ...FORM, cookie: oldCookie },
      payload: form({ _csrf: oldToken }),
    });
    expect(replay.headers.location).toBe('/s/csp-2019/thank-you');
    expect(await t.db.selectFrom('responses').selectAll().orderBy('status').execute()).toEqual(rows);
  });
});

describe('the burst limit on new drafts', () => {
  it('flags drafts beyond the limit from one client, refuses an extreme burst with a clear 429, and leaves others alone', async () => {
    const c = clock();
    t = await makeApp({ now: c.now, respondent: { burst: { flagAfter: 3, refuseAfter: 5, windowMs: 10 * 60_000 } } });
    const from = (address: string) => new Respondent(t!.app, 'csp-2019', address);
    for (let i = 0; i < 5; i++) expect((await from('198.51.100.7').start()).statusCode).toBe(303);
    const before = await t.db.selectFrom('responses').select('id').execute();
    const refused = await from('198.51.100.7').start();
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    expect(refused.body).toContain('Too many responses have been started');
    expect(refused.body).toContain('please wait a few minutes');
    expect(await t.db.selectFrom('responses').select('id').execute()).toEqual(before);
    // Someone else is not held up, nor flagged.
    expect((await from('192.0.2.1').start()).statusCode).toBe(303);
    const flagOf = async (channel: string) =>
      (await t!.db.selectFrom('responses').select('flag').where('channel', '=', channel).execute()).map((r) => r.flag);
    expect((await flagOf('web')).sort()).toEqual(['burst', 'burst', null, null, null, null]);
    expect(await t.db.selectFrom('responses').select('flag').where('flag', 'is', null).execute()).toHaveLength(4);
    // Twenty minutes on, the client starts afresh.
    c.advance(20 * 60_000);
    expect((await from('198.51.100.7').start()).statusCode).toBe(303);
    expect(await t.db.selectFrom('responses').select('flag').where('flag', 'is', null).execute()).toHaveLength(5);
  });

  it('flags a client that starts drafts steadily, too slowly for the burst window, beyond 30 in a day', async () => {
    const c = clock();
    t = await makeApp({ now: c.now });
    // One every 70 seconds: under 10 in any 10 minutes, so the burst window never sees too many.
    for (let i = 0; i < 40; i++) {
      expect((await new Respondent(t.app, 'csp-2019', '198.51.100.61').start()).statusCode).toBe(303);
      c.advance(70_000);
    }
    const flags = (await t.db.selectFrom('responses').select('flag').execute()).map((r) => r.flag);
    expect(flags.filter((f) => f === null)).toHaveLength(30);
    expect(flags.filter((f) => f === 'burst')).toHaveLength(10);
    // Someone else is not counted with them.
    await new Respondent(t.app, 'csp-2019', '192.0.2.61').start();
    expect(await t.db.selectFrom('responses').select('flag').where('flag', 'is', null).execute()).toHaveLength(31);
  });

  it('counts a day by a sliding estimate under a salt per day, forgotten after two days', () => {
    const burst = new DraftBurst({ flagAfter: 1e9, refuseAfter: 1e9, windowMs: 60_000 }, 3);
    const day = 24 * 60 * 60_000;
    const at = (ms: number) => new Date(Date.parse('2026-12-01T00:00:00Z') + ms);
    const verdicts = [0, 1, 2, 3].map((i) => burst.record('198.51.100.1', at(i * 60_000)).verdict);
    expect(verdicts).toEqual(['ok', 'ok', 'ok', 'flag']);
    // Half a day into the next: yesterday's 4 count for half.
    expect(burst.record('198.51.100.1', at(day * 1.5)).verdict).toBe('ok');
    expect(burst.record('198.51.100.1', at(day * 1.5 + 1)).verdict).toBe('flag');
    // Two days later, nothing of it is left.
    expect(burst.record('198.51.100.1', at(day * 3.5)).verdict).toBe('ok');
  });

  it('counts a returning respondent once: resuming a draft is not a new one', async () => {
    t = await makeApp({ respondent: { burst: { flagAfter: 1, refuseAfter: 2, windowMs: 60_000 } } });
    const r = new Respondent(t.app, 'csp-2019', '203.0.113.5');
    await r.start();
    for (let i = 0; i < 5; i++) expect((await r.start()).statusCode).toBe(303);
    expect(await t.db.selectFrom('responses').select('flag').execute()).toEqual([{ flag: null }]);
  });

  it('groups an IPv6 client by its /64, and an IPv4-mapped address as IPv4', () => {
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe(clientKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'));
    expect(clientKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8:1:3::1')).not.toBe(clientKey('2001:db8:1:2::1'));
    expect(clientKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(clientKey('192.0.2.1')).toBe('192.0.2.1');
    const burst = new DraftBurst({ flagAfter: 1, refuseAfter: 10, windowMs: 60_000 });
    const now = new Date('2026-12-01T09:00:00Z');
    expect(burst.record('2001:db8:1:2::1', now).verdict).toBe('ok');
    expect(burst.record('2001:db8:1:2::99', now).verdict).toBe('flag');
    expect(burst.record('2001:db8:9:9::1', now).verdict).toBe('ok');
  });

  it('keeps no address, user agent or hash of either in the log or the database', async () => {
    const log: string[] = [];
    const address = '198.51.100.99';
    t = await makeApp({
      config: { logLevel: 'trace' },
      logStream: { write: (line) => log.push(line) },
      respondent: { burst: { flagAfter: 1, refuseAfter: 2, windowMs: 60_000 } },
    });
    for (let i = 0; i < 4; i++) await new Respondent(t.app, 'csp-2019', address).start();
    const text = log.join('');
    expect(text).toContain('respondent form refused');
    expect(text).not.toContain(address);
    expect(text).not.toContain('198.51.100');
    await t.app.close();
    const stored = await storedContents(t);
    expect(stored.length).toBeGreaterThan(0);
    for (const { name, text } of stored) expect(text, name).not.toContain(address);
  });
});

describe('flagged responses in the analysis', () => {
  /** Two complete responses, one flagged (too fast), one not; and a flagged partial. */
  async function withFlagged() {
    const c = clock();
    t = await makeAdminApp({ now: c.now });
    await createAccount(t.db, 'analyst@council.example', 'analyst', PASSWORD);
    const fast = new Respondent(t.app);
    await fast.start();
    await complete(fast, c, 2);
    const slow = new Respondent(t.app);
    await slow.start();
    for (const page of PAGES) await slow.answer(page, page === 'area' ? { area: 'gravesham' } : {});
    c.advance(300_000);
    await slow.post('check-answers');
    const bot = new Respondent(t.app);
    await bot.get('');
    await bot.post('start', { 'website-url': 'x' });
    return new AdminAgent(t.app).signIn('analyst@council.example', PASSWORD);
  }

  it('are included by default, and can be left out or shown alone in every table and export', async () => {
    const analyst = await withFlagged();
    const base = '/admin/surveys/csp-2019';
    const page = await analyst.get(`${base}/results/quality`);
    const cell = (what: string) =>
      new RegExp(`>${what}</th><td class="govuk-table__cell govuk-table__cell--numeric">(\\d+)<`).exec(page.body)?.[1];
    expect(cell('Flagged as possibly automated or repeated')).toBe('2');
    expect(cell('filled in a hidden field only a robot sees')).toBe('1');
    expect(cell('answered faster than a person could read the questions')).toBe('1');
    expect(page.body).toMatch(/<option value="include" selected>Included<\/option>/);

    const cases: [string, number, number, string[]][] = [
      ['', 3, 2, ['dartford', 'gravesham']],
      ['?flagged=include', 3, 2, ['dartford', 'gravesham']],
      ['?flagged=exclude', 1, 1, ['gravesham']],
      ['?flagged=only', 2, 1, ['dartford']],
    ];
    for (const [query, responses, complete, areas] of cases) {
      const report = JSON.parse((await analyst.get(`${base}/report.json${query}`)).body);
      expect([report.responses, report.complete], query).toEqual([responses, complete]);
      expect(Object.keys(report.questions.area.counts).sort(), query).toEqual(areas);
      const csv = parse((await analyst.get(`${base}/responses.csv${query}`)).body, { columns: true, bom: true });
      expect(csv.length, query).toBe(responses);
      const table: Record<string, string>[] = parse((await analyst.get(`${base}/tables/area.csv${query}`)).body, {
        columns: true,
        bom: true,
      });
      expect(
        table.filter((row) => row.Count !== '0').map((row) => row.Count),
        query,
      ).toEqual(areas.map(() => '1'));
      const book = new ExcelJS.Workbook();
      await book.xlsx.load((await analyst.get(`${base}/workbook.xlsx${query}`)).rawPayload as unknown as ArrayBuffer);
      expect(book.getWorksheet('Responses')?.rowCount, query).toBe(responses + 1);
      const html = (await analyst.get(`${base}${query}`)).body;
      expect(html, query).toContain(`href="${base}/responses.csv${query.replace('?flagged=include', '')}"`);
    }
    const excluded = await analyst.get(`${base}?flagged=exclude`);
    expect(excluded.body).toContain('flagged responses left out');
    expect(excluded.body).toMatch(/<option value="exclude" selected>Left out<\/option>/);
    expect((await analyst.get(`${base}/responses.csv?flagged=only`)).headers['content-disposition']).toContain(
      'csp-2019-flagged-responses.csv',
    );
    const bad = await analyst.get(`${base}?flagged=maybe`);
    expect(bad.statusCode).toBe(422);
    expect(bad.body).toContain('Flagged must be include, exclude or only');
  });

  it('are filtered the same way by the report model the command line uses', async () => {
    await withFlagged();
    const at = (f: Partial<Filters>) => buildReport(t!.db, survey, { ...DEFAULT_FILTERS, ...f });
    expect((await at({})).responses).toBe(3);
    expect((await at({ flagged: 'exclude' })).responses).toBe(1);
    expect((await at({ flagged: 'only' })).responses).toBe(2);
    expect((await at({ flagged: 'exclude', status: 'partial' })).responses).toBe(0);
  });

  it('keep DEFAULT_FILTERS, parseFilters and filtersQuery consistent', () => {
    expect(parseFilters(survey, {})).toEqual({ ok: true, filters: DEFAULT_FILTERS });
    expect(parseFilters(survey, { flagged: 'include' })).toEqual({ ok: true, filters: DEFAULT_FILTERS });
    expect(filtersQuery(DEFAULT_FILTERS)).toBe('');
    for (const flagged of ['include', 'exclude', 'only'] as const) {
      for (const status of ['all', 'complete', 'partial'] as const) {
        const filters: Filters = { status, flagged, area: 'dartford' };
        const parsed = parseFilters(survey, Object.fromEntries(new URLSearchParams(filtersQuery(filters))));
        expect(parsed.ok).toBe(true);
        if (parsed.ok) expect(parsed.filters).toEqual(flagged === 'include' ? { status, area: 'dartford' } : filters);
      }
    }
    expect(parseFilters(survey, { flagged: ['exclude', 'only'] }).ok).toBe(false);
  });

  it('are filtered by the command line: --flagged', async () => {
    await withFlagged();
    const databaseUrl = t!.databaseUrl;
    const run = async (args: string[]) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', join(root, 'src/cli.ts'), ...args], {
        cwd: root,
        env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent' },
      });
    const excluded = JSON.parse((await run(['report', '--survey', 'csp-2019', '--flagged', 'exclude'])).stdout);
    expect(excluded.responses).toBe(1);
    expect(excluded.filters).toEqual({ status: 'all', flagged: 'exclude' });
    const only = await run(['export', '--survey', 'csp-2019', '--flagged', 'only']);
    expect((parse(only.stdout, { columns: true, bom: true }) as unknown[]).length).toBe(2);
    await expect(run(['report', '--survey', 'csp-2019', '--flagged', 'maybe'])).rejects.toMatchObject({ code: 2 });
  });
});

describe('the forms a robot sees', () => {
  it('has a honeypot that people never see: hidden, out of the tab order and from screen readers', async () => {
    t = await makeApp();
    const r = new Respondent(t.app);
    const page = await r.get('');
    expect(page.body).toMatch(
      /<div class="govuk-!-display-none" aria-hidden="true">\s*<label for="website-url">Leave this field empty<\/label>\s*<input type="text" id="website-url" name="website-url" value="" tabindex="-1" autocomplete="off">/,
    );
    expect(csrfTokenIn(page.body)).toBe(r.csrf);
  });
});
