import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import fc from 'fast-check';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { optionsOf } from '../../src/survey/definition.ts';
import { isStoredText } from '../../src/survey/formats.ts';
import {
  AdminAgent,
  createAccount,
  cspSurvey,
  csrfTokenIn,
  makeAdminApp,
  Respondent,
  type TestApp,
} from '../helpers.ts';
import {
  fillPath,
  inertProblems,
  PROBES,
  type RegisteredRoute,
  registeredRoutes,
  snapshotAll,
} from './security-helpers.ts';

// Every respondent and admin endpoint, sent bodies and query strings made by
// fast-check: random and known field names, repeated fields, huge strings,
// emoji and ZWJ sequences, right-to-left and bidi controls, NUL, lone
// surrogates, malformed percent-encoding, formula payloads, XSS and template
// probes, and other content types. Whatever comes in: never a 500, nothing
// stored from a refused request, and every page shows what it echoes as text.
//
// Bounded: FUZZ_RUNS runs per endpoint (100 by default); FUZZ_SEED repeats a run.

const RUNS = Number(process.env.FUZZ_RUNS ?? 100);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const settings = { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) };
const PASSWORD = 'a long enough passphrase';
const survey = cspSurvey();
const CODES = [...new Set(survey.pages.flatMap((p) => p.questions.flatMap((q) => optionsOf(q).map((o) => o.code))))];
const QUESTION_FIELDS = survey.pages.flatMap((p) => p.questions.flatMap((q) => [q.id, `${q.id}-prefer-not-to-say`]));
/** Only these statuses are acceptable answers to anything a client can send. */
const EXPECTED_STATUS = new Set([200, 302, 303, 400, 403, 404, 413, 415, 422, 429]);
const MARKUP_PROBES = PROBES.filter((p) => /[<>"'&]/.test(p));

// --- What fast-check sends --------------------------------------------------

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const oddCharacter = fc.constantFrom(
  '\u0000',
  '\u0007',
  '\u202E', // right-to-left override
  '\u2066', // left-to-right isolate
  '\u2069',
  '\u200D', // zero-width joiner
  '\u200B',
  '\uFEFF',
  '\r\n',
  '\t',
  '👩‍👩‍👧‍👦',
  '🏳️‍🌈',
  'é',
  'ﷺ',
  'Z̸̡̛a̷l̴g̵o̶',
  'مرحبا',
  'שלום',
  '%',
  '&',
  '=',
  '+',
);
/** Text a field might carry. */
const text = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...PROBES) },
  { weight: 3, arbitrary: fc.constantFrom(...CODES, 'DA12 1AU', 'yes', 'no', 'check-answers', 'all', 'exclude') },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 24 }) },
  {
    weight: 3,
    arbitrary: fc.string({
      unit: fc.oneof(loneSurrogate, oddCharacter, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })),
      maxLength: 16,
    }),
  },
);
/** A huge value, sent now and then: past every body limit, or just under the largest. */
const huge = fc.integer({ min: 500, max: 40_000 }).map((n) => 'x'.repeat(n));

/** Form bodies: field names known to the endpoint or not, each with one value or several (`values`: likely ones). */
function bodies(known: string[], values: string[] = []) {
  const name = fc.oneof(
    { weight: 12, arbitrary: known.length ? fc.constantFrom(...known) : fc.constant('note') },
    {
      weight: 1,
      arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'a[b]', '__proto__[x]', '', 'website-url'),
    },
    { weight: 1, arbitrary: text },
  );
  const one = values.length ? fc.oneof(text, fc.constantFrom(...values)) : text;
  const value = fc.oneof({ weight: 6, arbitrary: one }, { weight: 1, arbitrary: fc.array(one, { maxLength: 4 }) });
  return fc.record({
    fields: fc.array(fc.tuple(name, value), { maxLength: 6 }),
    huge: fc.oneof({ weight: 1, arbitrary: huge }, { weight: 12, arbitrary: fc.constant(undefined) }),
    csrf: fc.constantFrom('valid', 'valid', 'valid', 'valid', 'absent', 'wrong', 'twice'),
    encoding: fc.constantFrom('percent', 'percent', 'raw'),
    junk: fc.oneof(
      {
        weight: 1,
        arbitrary: fc.constantFrom('%ED%A0%80', '%FF', '%C0%AF', '%', '%%', '%E0%A4%A', '&&', '==', '\u0000', '%00'),
      },
      { weight: 4, arbitrary: fc.constant(undefined) },
    ),
    contentType: fc.oneof(
      { weight: 12, arbitrary: fc.constant('application/x-www-form-urlencoded') },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          'application/x-www-form-urlencoded; charset=utf-16',
          'application/json',
          'text/plain',
          'multipart/form-data; boundary=x',
          'application/xml',
          '',
        ),
      },
    ),
  });
}
type Body = typeof bodies extends (k: string[]) => fc.Arbitrary<infer B> ? B : never;

/** Percent-encodes text as a browser would, but keeps lone surrogates as the (invalid) bytes they would be. */
function encode(text: string, raw: boolean): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0) as number;
    const bytes =
      code >= 0xd800 && code <= 0xdfff
        ? [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)]
        : [...Buffer.from(ch, 'utf8')];
    if (raw && !/[&=%+]/.test(ch))
      out += bytes.length === 1 ? ch : bytes.map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
    else
      out += /^[A-Za-z0-9_.~-]$/.test(ch)
        ? ch
        : bytes.map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  }
  return out;
}

/**
 * A plain body, for fast-check's `examples`: every property also runs these,
 * so each answer the test expects to reach (saved, explained, refused) is
 * reached whatever the random runs do.
 */
function example(fields: [string, string][], csrf: Body['csrf'] = 'valid'): Body {
  return {
    fields,
    huge: undefined,
    csrf,
    encoding: 'percent',
    junk: undefined,
    contentType: 'application/x-www-form-urlencoded',
  };
}

function payloadOf(body: Body, token: string): string {
  const pairs: [string, string][] = [];
  for (const [name, value] of body.fields)
    for (const v of Array.isArray(value) ? value : [value]) pairs.push([name, v]);
  if (body.huge) pairs.push([body.fields[0]?.[0] ?? 'big', body.huge]);
  if (body.csrf === 'valid') pairs.push(['_csrf', token]);
  if (body.csrf === 'wrong') pairs.push(['_csrf', `${token.slice(0, -3)}AAA`]);
  if (body.csrf === 'twice') pairs.push(['_csrf', token], ['_csrf', token]);
  const raw = body.encoding === 'raw';
  const text = pairs.map(([n, v]) => `${encode(n, raw)}=${encode(v, raw)}`).join('&');
  return body.junk ? `${text}&${body.junk}` : text;
}

// --- What must hold, whatever was sent ---------------------------------------

/** How often each status was answered, per test: the fuzz must reach past the first refusals. */
const seen = new Map<number, number>();
beforeEach(() => seen.clear());
const expectReached = (...statuses: number[]) => {
  for (const status of statuses)
    expect(seen.get(status), `never answered ${status}: ${JSON.stringify([...seen])}`).toBeGreaterThan(0);
  seen.clear();
};

async function checked(
  db: TestApp['db'],
  send: () => Promise<LightMyRequestResponse>,
  options: { mayChangeOnRefusal?: boolean } = {},
) {
  const before = await snapshotAll(db);
  const res = await send();
  seen.set(res.statusCode, (seen.get(res.statusCode) ?? 0) + 1);
  expect(res.statusCode, res.body.slice(0, 600)).not.toBe(500);
  expect(EXPECTED_STATUS.has(res.statusCode), `status ${res.statusCode}: ${res.body.slice(0, 300)}`).toBe(true);
  if (res.statusCode >= 400 && !options.mayChangeOnRefusal) expect(await snapshotAll(db)).toEqual(before);
  if (String(res.headers['content-type'] ?? '').startsWith('text/html')) {
    expect(inertProblems(res.body)).toEqual([]);
    for (const p of MARKUP_PROBES) expect(res.body.includes(p), `shows ${p} unescaped`).toBe(false);
  }
  return res;
}

function post(app: FastifyInstance, url: string, body: Body, token: string, cookie: string) {
  return app.inject({
    method: 'POST',
    url,
    headers: { ...(body.contentType ? { 'content-type': body.contentType } : {}), ...(cookie ? { cookie } : {}) },
    payload: payloadOf(body, token),
  });
}

/** The names and values of the inputs on a page: what a fuzzer that read the form would try. */
function formVocabulary(html: string): { names: string[]; values: string[] } {
  const names = [...html.matchAll(/name="([^"]+)"/g)].map((m) => m[1] as string);
  const values = [...html.matchAll(/value="([^"]*)"/g)].map((m) => m[1] as string);
  return { names: [...new Set(names)], values: [...new Set(values)] };
}

/** Every stored value is a code of the survey or a postcode sector: no free text gets in. Returns how many. */
async function expectOnlyValidValues(db: TestApp['db']): Promise<number> {
  const stored = await db.selectFrom('response_values').select(['question_id', 'value']).execute();
  for (const { question_id, value } of stored) {
    if (question_id === 'postcode')
      expect(isStoredText('postcode', value) || value === 'prefer_not_to_say', value).toBe(true);
    else expect(CODES, `${question_id}=${value}`).toContain(value);
  }
  return stored.length;
}

// --- The respondent's side ---------------------------------------------------

describe('fuzzing the respondent endpoints', () => {
  let t: TestApp;
  let onRoute: Respondent;
  let sender: Respondent;
  let visitor: Respondent;
  const pages = [...survey.pages.map((p) => p.id), 'check-answers', 'thank-you'];

  beforeAll(async () => {
    // No burst limit here: the fuzzer is one client starting hundreds of drafts.
    t = await makeAdminApp({ respondent: { burst: { flagAfter: 1e9, refuseAfter: 1e9, windowMs: 60_000 } } });
    onRoute = new Respondent(t.app);
    await onRoute.start();
    for (const page of ['area', 'concern-1', 'concern-2', 'concern-3', 'about-you', 'postcode'])
      await onRoute.answer(page);
    sender = new Respondent(t.app);
    await sender.start();
    for (const page of ['area', 'concern-1', 'concern-2', 'concern-3', 'about-you', 'postcode'])
      await sender.answer(page);
    visitor = new Respondent(t.app);
    await visitor.get('');
  });
  afterAll(async () => {
    await t.close();
  });

  it('POST /s/:slug/:page: any page id, any body', async () => {
    const questionsOf = (id: string) => survey.pageById.get(id)?.questions ?? [];
    const fieldsOf = (id: string) =>
      questionsOf(id).flatMap((q) => (q.type === 'text' ? [q.id, `${q.id}-prefer-not-to-say`] : [q.id]));
    const codesOf = (id: string) => [...questionsOf(id).flatMap((q) => optionsOf(q).map((o) => o.code)), 'DA1 1AA'];
    const onRoutePages = ['area', 'concern-1', 'concern-2', 'concern-3', 'about-you', 'postcode'];
    const target = fc.oneof(
      {
        weight: 5,
        arbitrary: fc
          .oneof(
            { weight: 3, arbitrary: fc.constantFrom(...onRoutePages) },
            { weight: 1, arbitrary: fc.constantFrom(...pages) },
          )
          .chain((page) => fc.tuple(fc.constant(page), bodies([...fieldsOf(page), 'return'], codesOf(page)))),
      },
      {
        weight: 1,
        arbitrary: fc.tuple(
          text.filter((s) => s.length > 0 && s.length < 200),
          bodies([...QUESTION_FIELDS, 'return']),
        ),
      },
    );
    let storedSome = false;
    await fc.assert(
      fc.asyncProperty(target, async ([page, body]) => {
        const res = await checked(t.db, () =>
          post(t.app, `/s/csp-2019/${encode(page, false)}`, body, onRoute.csrf, onRoute.cookie),
        );
        if (res.statusCode === 303) storedSome = (await expectOnlyValidValues(t.db)) > 0 || storedSome;
      }),
      {
        ...settings,
        examples: [
          [['area', example([['area', 'gravesham']])]], // saved
          [['area', example([['area', 'kent']])]], // explained (422)
          [['area', example([['nowhere', 'x']])]], // refused (400)
          [['area', example([['area', 'dartford']], 'wrong')]], // refused (403)
        ],
      },
    );
    expect(storedSome, 'no fuzzed answer was ever stored').toBe(true);
    // Deep enough: some bodies were saved, some explained (422), some refused.
    expectReached(303, 400, 403, 422);
  });

  it('POST /s/:slug/start: with and without a draft', async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), bodies(['src', 'restart']), async (withDraft, body) => {
        const who = withDraft ? onRoute : visitor;
        await checked(t.db, () => post(t.app, '/s/csp-2019/start', body, who.csrf, who.cookie));
      }),
      {
        ...settings,
        examples: [
          [false, example([])],
          [true, example([['nowhere', 'x']])],
          [false, example([], 'absent')],
        ],
      },
    );
    expectReached(303, 400, 403);
  });

  it('POST /s/:slug/check-answers', async () => {
    await fc.assert(
      fc.asyncProperty(bodies([]), async (body) => {
        await checked(t.db, () => post(t.app, '/s/csp-2019/check-answers', body, sender.csrf, sender.cookie));
      }),
      settings,
    );
  });

  it('GET with any query string', async () => {
    const paths = [
      '/',
      '/s/csp-2019',
      '/s/csp-2019/area',
      '/s/csp-2019/concern-1',
      '/s/csp-2019/check-answers',
      '/s/csp-2019/thank-you',
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), bodies(['src', 'return']), async (path, body) => {
        await checked(t.db, () =>
          t.app.inject({ url: `${path}?${payloadOf(body, onRoute.csrf)}`, headers: { cookie: onRoute.cookie } }),
        );
      }),
      settings,
    );
  });

  it('stored only valid codes and postcode sectors, shown as plain text in HTML, CSV and XLSX', async () => {
    await expectOnlyValidValues(t.db);
    for (const row of await t.db.selectFrom('responses').select(['channel', 'answers']).execute()) {
      expect(['web', ...survey.channels.map((c) => c.code)]).toContain(row.channel);
      expect(() => JSON.parse(row.answers)).not.toThrow();
    }
    await createAccount(t.db, 'analyst@council.example', 'analyst', PASSWORD);
    const analyst = await new AdminAgent(t.app).signIn('analyst@council.example', PASSWORD);
    const html = await analyst.get('/admin/surveys/csp-2019');
    expect(inertProblems(html.body)).toEqual([]);
    for (const cell of (
      parse((await analyst.get('/admin/surveys/csp-2019/responses.csv')).body, { bom: true }) as string[][]
    ).flat())
      expect(cell).not.toMatch(/^[=+\-@\t\r]/);
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(
      (await analyst.get('/admin/surveys/csp-2019/workbook.xlsx')).rawPayload as unknown as ArrayBuffer,
    );
    book.eachSheet((sheet) => sheet.eachRow((row) => row.eachCell((cell) => expect(cell.formula).toBeFalsy())));
  });
});

// --- The admin side -----------------------------------------------------------

describe('fuzzing the admin endpoints', () => {
  let t: TestApp;
  let admin: AdminAgent;
  let token: string;
  let victimId: string;
  let routes: RegisteredRoute[];
  let vocabulary: { names: string[]; values: string[] };

  const signIn = async () => {
    admin = await new AdminAgent(t.app).signIn('admin@council.example', PASSWORD);
    token = csrfTokenIn((await admin.get('/admin')).body);
  };

  beforeAll(async () => {
    t = await makeAdminApp();
    await createAccount(t.db, 'admin@council.example', 'admin', PASSWORD);
    victimId = await createAccount(t.db, 'victim@council.example', 'analyst', PASSWORD);
    await signIn();
    routes = (await registeredRoutes(t.app)).filter((r) => r.path.startsWith('/admin') && r.method === 'POST');
    const pages = [
      '/admin/login',
      '/admin/accounts/new',
      `/admin/accounts/${victimId}`,
      '/admin/surveys/csp-2019',
      '/admin/surveys/csp-2019/settings',
      '/admin/surveys/csp-2019/settings/close',
    ];
    for (const r of routes)
      if (!r.path.includes(':id') && !r.path.includes(':token')) pages.push(fillPath(r.path, { slug: 'csp-2019' }));
    const names = new Set<string>();
    const values = new Set<string>();
    for (const page of pages) {
      const res = await admin.get(page);
      if (res.statusCode !== 200) continue;
      const found = formVocabulary(res.body);
      for (const n of found.names) if (n !== '_csrf') names.add(n);
      for (const v of found.values) if (v.length < 64 && v !== token) values.add(v);
    }
    vocabulary = { names: [...names], values: [...values] };
  });
  afterAll(async () => {
    await t.close();
  });

  it('knows the forms it fuzzes', () => {
    expect(routes.length).toBeGreaterThan(8);
    for (const name of ['email', 'password', 'role', 'action', 'opens_at']) expect(vocabulary.names).toContain(name);
  });

  it('every admin form, signed in as an admin', async () => {
    const forms = routes.filter((r) => !r.path.endsWith('/import'));
    const schedule = forms.find((r) => r.path === '/admin/surveys/:slug/schedule') as RegisteredRoute;
    const accounts = forms.find((r) => r.path === '/admin/accounts') as RegisteredRoute;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...forms),
        bodies(vocabulary.names),
        fc.option(fc.constantFrom(...vocabulary.values), { nil: undefined }),
        async (route, body, known) => {
          if ((await admin.get('/admin')).statusCode !== 200) await signIn(); // signed out by a fuzzed form
          const fields =
            known === undefined ? body : { ...body, fields: [...body.fields, ['action', known] as [string, string]] };
          const url = fillPath(route.path, { slug: 'csp-2019', id: victimId, token: 'not-the-setup-token' });
          // A wrong password counts against the account (the lock), by design: that is the one change a refusal makes.
          await checked(t.db, () => post(t.app, url, fields, token, admin.cookieHeader), {
            mayChangeOnRefusal: route.path === '/admin/login' || route.path === '/admin/password',
          });
        },
      ),
      {
        ...settings,
        examples: [
          [schedule, example([['action', 'close']]), undefined], // saved
          [accounts, example([['email', 'not an address']]), undefined], // explained (422)
          [schedule, example([['action', 'frobnicate']]), undefined], // refused (400)
          [schedule, example([['action', 'open']], 'wrong'), undefined], // refused (403)
        ],
      },
    );
    expectReached(303, 400, 403, 422);
  });

  it('signing in, without a session', async () => {
    const visitor = new AdminAgent(t.app);
    const page = await visitor.get('/admin/login');
    const loginToken = csrfTokenIn(page.body);
    await fc.assert(
      fc.asyncProperty(bodies(['email', 'password', 'next']), async (body) => {
        await checked(t.db, () => post(t.app, '/admin/login', body, loginToken, visitor.cookieHeader), {
          mayChangeOnRefusal: true,
        });
      }),
      settings,
    );
  });

  it('importing: any CSV file, any multipart fields', async () => {
    const header = 'response_id,status,channel,started_at,submitted_at,area,concern_1,postcode';
    const csvCell = text.map((s) => `"${s.replace(/"/g, '""')}"`);
    const file = fc
      .array(fc.array(csvCell, { maxLength: 9 }), { maxLength: 6 })
      .map((rows) => [header, ...rows.map((r) => r.join(','))].join('\n'));
    await fc.assert(
      fc.asyncProperty(
        file,
        fc.array(fc.tuple(fc.constantFrom('note', 'file', '__proto__', '_csrf'), text), { maxLength: 3 }),
        async (csv, extra) => {
          if ((await admin.get('/admin')).statusCode !== 200) await signIn();
          const boundary = '----fuzz';
          const part = (name: string, value: string) =>
            `--${boundary}\r\nContent-Disposition: form-data; name="${name.replace(/["\r\n]/g, '')}"\r\n\r\n${value}\r\n`;
          const payload = Buffer.from(
            part('_csrf', token) +
              extra.map(([n, v]) => part(n, v)).join('') +
              `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.csv"\r\nContent-Type: text/csv\r\n\r\n${csv}\r\n--${boundary}--\r\n`,
          );
          await checked(t.db, () =>
            t.app.inject({
              method: 'POST',
              url: '/admin/surveys/csp-2019/import',
              headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, cookie: admin.cookieHeader },
              payload,
            }),
          );
        },
      ),
      settings,
    );
  });

  it('every admin page and download, with any query string', async () => {
    const gets = (await registeredRoutes(t.app)).filter((r) => r.path.startsWith('/admin') && r.method === 'GET');
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...gets),
        bodies(['status', 'area', 'channel', 'from', 'to', 'flagged', 'next', 'done', 'saved']),
        async (route, body) => {
          if ((await admin.get('/admin')).statusCode !== 200) await signIn();
          const url = fillPath(route.path, {
            slug: 'csp-2019',
            id: victimId,
            table: 'concern_1',
            token: 'x',
            file: 'x.svg',
          });
          await checked(t.db, () =>
            t.app.inject({ url: `${url}?${payloadOf(body, token)}`, headers: { cookie: admin.cookieHeader } }),
          );
        },
      ),
      settings,
    );
  });
});
