import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import helmet from 'helmet';
import { afterEach, describe, expect, it } from 'vitest';
import { helmetHeaders, helmetOptions } from '../../src/plugins/security.ts';
import { FORM_COOKIE } from '../../src/routes/respondent/index.ts';
import {
  AdminAgent,
  testClock as clock,
  createAccount,
  csrfTokenIn,
  FORM,
  form,
  makeAdminApp,
  makeApp,
  Respondent,
  type TestApp,
} from '../helpers.ts';
import { fillPath, postForm, registeredRoutes, snapshotAll } from './security-helpers.ts';

const root = join(import.meta.dirname, '../..');
const PASSWORD = 'a long enough passphrase';
const CSP =
  "default-src 'self';script-src 'self';style-src 'self';img-src 'self';font-src 'self';connect-src 'self';" +
  "form-action 'self';frame-ancestors 'none';base-uri 'none';object-src 'none'";

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** A respondent part-way through: started, with the area answered. */
async function startedRespondent(app: TestApp['app']) {
  const r = new Respondent(app);
  await r.start();
  await r.answer('area', { area: 'gravesham' });
  return r;
}

describe('security headers', () => {
  it('sends a strict Content-Security-Policy, no-referrer, nosniff and no framing on every kind of response', async () => {
    t = await makeApp();
    const responses = [
      await t.app.inject({ url: '/' }),
      await t.app.inject({ url: '/s/csp-2019' }),
      await t.app.inject({ url: '/s/no-such-survey' }),
      await t.app.inject({ url: '/public/build/app.css' }),
      await t.app.inject({ url: '/admin/login' }),
      await t.app.inject({ method: 'POST', url: '/s/csp-2019/start', headers: { 'content-type': 'application/json' } }),
    ];
    for (const res of responses) {
      const what = `${res.statusCode} ${res.headers['content-type']}`;
      expect(res.headers['content-security-policy'], what).toBe(CSP);
      expect(res.headers['referrer-policy'], what).toBe('no-referrer');
      expect(res.headers['x-content-type-options'], what).toBe('nosniff');
      expect(res.headers['x-frame-options'], what).toBe('DENY');
      expect(res.headers['cross-origin-opener-policy'], what).toBe('same-origin');
      expect(res.headers['permissions-policy'], what).toMatch(/camera=\(\)/);
      // Over plain http, no HSTS (a browser would ignore it) and no upgrade of requests.
      expect(res.headers['strict-transport-security'], what).toBeUndefined();
      expect(res.headers['x-powered-by'], what).toBeUndefined();
    }
    expect(CSP).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
  });

  it("are exactly the headers helmet's own middleware sets on a real response, for http and https", async () => {
    for (const url of ['http://localhost:3000', 'https://survey.example.org']) {
      const server = createServer((req, res) => helmet(helmetOptions(url))(req, res, () => res.end()));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const { port } = server.address() as AddressInfo;
        const real = await fetch(`http://127.0.0.1:${port}/`);
        const transport = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding']);
        const fromHelmet = Object.fromEntries([...real.headers].filter(([name]) => !transport.has(name)));
        expect(Object.keys(fromHelmet).length, url).toBeGreaterThan(8);
        expect(helmetHeaders(helmetOptions(url)), url).toEqual(fromHelmet);
        // And each of them reaches a reply of the app.
        t = await makeApp({ config: { publicUrl: url } });
        const page = await t.app.inject({ url: '/s/csp-2019' });
        for (const [name, value] of Object.entries(fromHelmet))
          expect(page.headers[name], `${url} ${name}`).toBe(value);
        await t.close();
        t = undefined;
      } finally {
        server.close();
      }
    }
  });

  it('answers a URL the router cannot read with the plain error page and every header, never bare JSON', async () => {
    for (const publicUrl of ['http://localhost:3000', 'https://survey.council.example']) {
      t = await makeApp({ config: { publicUrl } });
      const https = publicUrl.startsWith('https:');
      for (const [url, status] of [
        ['/s/csp-2019/%ff', 400],
        ['/s/csp-2019/%E0%A4%A', 400],
        ['/admin/accounts/%zz', 400],
        [`/s/${'x'.repeat(200)}`, 414],
      ] as const) {
        const res = await t.app.inject({ url });
        expect(res.statusCode, url).toBe(status);
        expect(res.headers['content-type'], url).toMatch(/^text\/html/);
        expect(res.body, url).toContain('There is a problem with that web address');
        expect(res.body, url).not.toMatch(/FST_ERR|statusCode|"error"/);
        expect(res.headers['content-security-policy'], url).toBe(https ? `${CSP};upgrade-insecure-requests` : CSP);
        expect(res.headers['strict-transport-security'], url).toBe(
          https ? 'max-age=31536000; includeSubDomains' : undefined,
        );
        expect(res.headers['referrer-policy'], url).toBe('no-referrer');
        expect(res.headers['x-content-type-options'], url).toBe('nosniff');
        expect(res.headers['x-frame-options'], url).toBe('DENY');
        expect(res.headers['cross-origin-opener-policy'], url).toBe('same-origin');
        expect(res.headers['cross-origin-resource-policy'], url).toBe('same-origin');
        expect(res.headers['permissions-policy'], url).toMatch(/camera=\(\)/);
        expect(res.headers['cache-control'], url).toBe('no-store');
        expect(res.headers['x-powered-by'], url).toBeUndefined();
      }
      await t.close();
      t = undefined;
    }
  });

  it('adds HSTS and upgrade-insecure-requests only when the public address is https', async () => {
    t = await makeApp({ config: { publicUrl: 'https://survey.council.example' } });
    for (const url of ['/s/csp-2019', '/admin/login', '/no-such-page']) {
      const res = await t.app.inject({ url });
      expect(res.headers['strict-transport-security'], url).toBe('max-age=31536000; includeSubDomains');
      expect(res.headers['content-security-policy'], url).toBe(`${CSP};upgrade-insecure-requests`);
    }
  });

  it('sends Cache-Control: no-store on every page that shows answers or admin data; only public assets are cached', async () => {
    t = await makeAdminApp();
    await createAccount(t.db, 'analyst@council.example', 'analyst', PASSWORD);
    const r = await startedRespondent(t.app);
    const respondentPages = [
      await r.get(''),
      await r.get('area'),
      await r.get('concern-1'),
      await r.post('concern-1', { concern_1: 'not-a-code' }), // 422 with the values kept
      await r.post('concern-1', { _csrf: 'stale' }), // 403, the page shown again
      await t.app.inject({ url: '/s/no-such-survey' }),
    ];
    for (const res of respondentPages) expect(res.headers['cache-control'], String(res.statusCode)).toBe('no-store');
    for (const page of ['concern-1', 'concern-2', 'concern-3', 'about-you', 'postcode']) await r.answer(page);
    expect((await r.get('check-answers')).headers['cache-control']).toBe('no-store');
    await r.post('check-answers');
    expect((await r.get('thank-you')).headers['cache-control']).toBe('no-store');

    const analyst = await new AdminAgent(t.app).signIn('analyst@council.example', PASSWORD);
    const base = '/admin/surveys/csp-2019';
    for (const url of [
      '/admin',
      base,
      `${base}/report.json`,
      `${base}/responses.csv`,
      `${base}/tables/concern_1.csv`,
      `${base}/chart.svg`,
      `${base}/workbook.xlsx`,
      '/admin/no-such-page',
    ]) {
      const res = await analyst.get(url);
      expect(res.headers['cache-control'], url).toBe('no-store');
    }
    expect((await t.app.inject({ url: '/public/build/app.css' })).headers['cache-control']).toBe(
      'public, max-age=3600',
    );
  });

  it('serves a chart to download as an SVG the CSP allows: same origin, no script, not sniffed', async () => {
    t = await makeAdminApp();
    await createAccount(t.db, 'analyst@council.example', 'analyst', PASSWORD);
    const analyst = await new AdminAgent(t.app).signIn('analyst@council.example', PASSWORD);
    const page = await analyst.get('/admin/surveys/csp-2019/results/priorities');
    const src = /href="([^"]+\.svg)"/.exec(page.body)?.[1];
    expect(src).toMatch(/^\/admin\/surveys\/csp-2019\/charts\/[\w-]+\.svg$/);
    const svg = await analyst.get(src as string);
    expect(svg.headers['content-type']).toBe('image/svg+xml; charset=utf-8');
    expect(svg.headers['x-content-type-options']).toBe('nosniff');
    expect(svg.headers['content-security-policy']).toBe(CSP);
    expect(svg.body).not.toMatch(/<script|\son[a-z]+=|style=/i);
  });
});

describe('deployment mistakes', () => {
  it('warns once, without the address, when requests come through a proxy and TRUST_PROXY is not set', async () => {
    const log: string[] = [];
    t = await makeApp({ config: { logLevel: 'warn' }, logStream: { write: (line) => log.push(line) } });
    for (let i = 0; i < 3; i++)
      await t.app.inject({ url: '/s/csp-2019', headers: { 'x-forwarded-for': '203.0.113.9' } });
    const warnings = log.filter((line) => line.includes('TRUST_PROXY'));
    expect(warnings).toHaveLength(1);
    // It names what to write: a hop count or the proxies' addresses, never "true".
    expect(warnings[0]).toContain('TRUST_PROXY=1');
    expect(warnings[0]).toContain('TRUST_PROXY=10.0.0.0/8');
    expect(warnings[0]).not.toContain('TRUST_PROXY=true');
    expect(log.join('')).not.toContain('203.0.113.9');
    await t.close();
    log.length = 0;
    t = await makeApp({
      config: { logLevel: 'warn', trustProxy: 1 },
      logStream: { write: (line) => log.push(line) },
    });
    await t.app.inject({ url: '/s/csp-2019', headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(log.filter((line) => line.includes('TRUST_PROXY'))).toEqual([]);
  });
});

describe('templates', () => {
  const templates = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory()
        ? templates(join(dir, entry.name))
        : entry.name.endsWith('.eta')
          ? [join(dir, entry.name)]
          : [],
    );

  it('have no inline script, inline style or event-handler attribute (the CSP would refuse them)', () => {
    const files = templates(join(root, 'views'));
    expect(files.length).toBeGreaterThan(20);
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const name = relative(root, file);
      expect(text, name).not.toMatch(/\sstyle\s*=/i);
      expect(text, name).not.toMatch(/<style[\s>]/i);
      expect(text, name).not.toMatch(/\son[a-z]+\s*=/i);
      expect(text, name).not.toMatch(/javascript:/i);
      for (const script of text.match(/<script\b[^>]*>/gi) ?? []) expect(script, name).toMatch(/\ssrc="/);
    }
  });

  it('output data escaped: raw output only for the layout body, partials and charts', () => {
    // A chart is SVG made by src/charts, which escapes every label (test/unit/charts/charts.test.ts).
    for (const file of templates(join(root, 'views'))) {
      const text = readFileSync(file, 'utf8');
      for (const raw of text.match(/<%~[^%]*%>/g) ?? [])
        expect(raw, relative(root, file)).toMatch(/^<%~\s*(it\.body|include\(|includeFile\(|[\w.]+\.chart\s*%>)/);
    }
  });
});

describe('what the app accepts', () => {
  it('parses bodies only as web forms: JSON, text, XML and multipart are refused (415), nothing stored', async () => {
    t = await makeAdminApp();
    await createAccount(t.db, 'admin@council.example', 'admin', PASSWORD);
    const r = await startedRespondent(t.app);
    const admin = await new AdminAgent(t.app).signIn('admin@council.example', PASSWORD);
    const before = await snapshotAll(t.db);
    const types: [string, string][] = [
      ['application/json', '{"concern_1":"asb"}'],
      ['text/plain', 'concern_1=asb'],
      ['application/xml', '<concern_1>asb</concern_1>'],
      [
        'multipart/form-data; boundary=x',
        '--x\r\nContent-Disposition: form-data; name="concern_1"\r\n\r\nasb\r\n--x--',
      ],
      ['application/x-www-form-urlencoded-but-not', 'concern_1=asb'],
    ];
    for (const [type, payload] of types) {
      for (const [url, cookie] of [
        ['/s/csp-2019/concern-1', r.cookie],
        ['/s/csp-2019/start', r.cookie],
        ['/s/csp-2019/check-answers', r.cookie],
        ['/admin/login', ''],
        ['/admin/accounts', admin.cookieHeader],
        ['/admin/surveys/csp-2019/schedule', admin.cookieHeader],
      ] as const) {
        const res = await t.app.inject({
          method: 'POST',
          url,
          headers: { 'content-type': type, ...(cookie ? { cookie } : {}) },
          payload,
        });
        expect(res.statusCode, `${type} to ${url}`).toBe(415);
      }
    }
    expect(await snapshotAll(t.db)).toEqual(before);
  });

  it('limits bodies per route: Start and Send 1 KB, a question page 8 KB, everything else 16 KB', async () => {
    t = await makeAdminApp();
    const r = await startedRespondent(t.app);
    const before = await snapshotAll(t.db);
    const cases: [string, number, number][] = [
      ['/s/csp-2019/start', 1024, 1100],
      ['/s/csp-2019/check-answers', 1024, 1100],
      ['/s/csp-2019/concern-1', 8 * 1024, 8300],
      ['/admin/login', 16 * 1024, 17_000],
    ];
    for (const [url, limit, size] of cases) {
      const res = await t.app.inject({
        method: 'POST',
        url,
        headers: { ...FORM, cookie: r.cookie },
        payload: `_csrf=${'x'.repeat(size)}`,
      });
      expect(res.statusCode, `${url} over ${limit}`).toBe(413);
      expect(res.body).toContain('Too much was sent');
    }
    expect(await snapshotAll(t.db)).toEqual(before);
  });

  it('refuses __proto__, constructor and prototype as field names, in forms and query strings, everywhere', async () => {
    t = await makeAdminApp();
    await createAccount(t.db, 'admin@council.example', 'admin', PASSWORD);
    const r = await startedRespondent(t.app);
    const admin = await new AdminAgent(t.app).signIn('admin@council.example', PASSWORD);
    const token = csrfTokenIn((await admin.get('/admin/accounts/new')).body);
    const before = await snapshotAll(t.db);
    for (const name of ['__proto__', 'constructor', 'prototype']) {
      const body = `${encodeURIComponent(name)}=x&concern_1=asb&_csrf=${encodeURIComponent(r.csrf)}`;
      for (const url of ['/s/csp-2019/concern-1', '/s/csp-2019/start', '/s/csp-2019/check-answers']) {
        const res = await t.app.inject({ method: 'POST', url, headers: { ...FORM, cookie: r.cookie }, payload: body });
        expect(res.statusCode, `${name} to ${url}`).toBe(400);
        expect(res.body).toContain('The form had a field this page does not ask for');
      }
      const accounts = await t.app.inject({
        method: 'POST',
        url: '/admin/accounts',
        headers: { ...FORM, cookie: admin.cookieHeader },
        payload: `${encodeURIComponent(name)}=x&email=new%40council.example&role=admin&password=${encodeURIComponent(PASSWORD)}&_csrf=${encodeURIComponent(token)}`,
      });
      expect(accounts.statusCode, name).toBe(400);
      for (const url of [
        `/s/csp-2019/concern-1?${encodeURIComponent(name)}=x`,
        `/admin/surveys/csp-2019?${encodeURIComponent(name)}=x`,
        `/?${encodeURIComponent(name)}=x`,
      ]) {
        const res = await t.app.inject({ url, headers: { cookie: `${r.cookie}; ${admin.cookieHeader}` } });
        expect(res.statusCode, url).toBe(400);
        expect(res.body).toContain('The web address had a part this page does not use');
      }
    }
    expect(await snapshotAll(t.db)).toEqual(before);
    // Brackets are not parsed into nested objects: `__proto__[x]` is just an unknown name.
    for (const url of ['/s/csp-2019/concern-1', '/s/csp-2019/start']) {
      const res = await t.app.inject({
        method: 'POST',
        url: `${url}?__proto__[polluted]=1&constructor[prototype][polluted]=1`,
        headers: { ...FORM, cookie: r.cookie },
        payload: `__proto__[polluted]=1&constructor.prototype.polluted=1&_csrf=${encodeURIComponent(r.csrf)}`,
      });
      expect(res.statusCode, url).toBe(400);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(await snapshotAll(t.db)).toEqual(before);
  });

  it('refuses a NUL character in any field, query or path on either engine (PostgreSQL cannot store one), changing nothing', async () => {
    t = await makeAdminApp();
    await createAccount(t.db, 'admin@council.example', 'admin', PASSWORD);
    const r = await startedRespondent(t.app);
    const admin = await new AdminAgent(t.app).signIn('admin@council.example', PASSWORD);
    const token = csrfTokenIn((await admin.get('/admin/accounts/new')).body);
    const visitor = new AdminAgent(t.app);
    const loginToken = csrfTokenIn((await visitor.get('/admin/login')).body);
    const before = await snapshotAll(t.db);
    const forms: [string, string, string][] = [
      ['/s/csp-2019/concern-1', r.cookie, `concern_1=asb%00&_csrf=${encodeURIComponent(r.csrf)}`],
      ['/s/csp-2019/start', r.cookie, `src=face%00book&_csrf=${encodeURIComponent(r.csrf)}`],
      ['/admin/login', visitor.cookieHeader, `email=%00&password=%20&_csrf=${encodeURIComponent(loginToken)}`],
      [
        '/admin/accounts',
        admin.cookieHeader,
        `email=new%00%40council.example&role=admin&password=${encodeURIComponent(PASSWORD)}&_csrf=${encodeURIComponent(token)}`,
      ],
    ];
    for (const [url, cookie, payload] of forms) {
      const res = await t.app.inject({ method: 'POST', url, headers: { ...FORM, cookie }, payload });
      expect(res.statusCode, url).toBe(400);
      expect(res.body).toContain('The form had a character that cannot be used');
    }
    for (const url of ['/s/csp-2019/concern-1?x=%00', '/admin/surveys/csp-2019?area=%00', '/admin/surveys/csp%00']) {
      const res = await t.app.inject({ url, headers: { cookie: `${r.cookie}; ${admin.cookieHeader}` } });
      expect(res.statusCode, url).toBe(400);
      expect(res.body).toContain('The web address had a character that cannot be used');
    }
    expect(await snapshotAll(t.db)).toEqual(before);
  });

  it('refuses a field given twice where a form sends it once, changing nothing', async () => {
    t = await makeAdminApp();
    await createAccount(t.db, 'admin@council.example', 'admin', PASSWORD);
    const r = await startedRespondent(t.app);
    const admin = await new AdminAgent(t.app).signIn('admin@council.example', PASSWORD);
    const page = await admin.get('/admin/surveys/csp-2019');
    for (const p of ['concern-1', 'concern-2', 'concern-3', 'about-you', 'postcode']) await r.answer(p);
    const before = await snapshotAll(t.db);
    const start = await r.post('start', { src: ['facebook', 'poster'], restart: 'yes' });
    expect(start.statusCode).toBe(400);
    expect(start.body).toContain('The form had a field or value it cannot accept');
    const send = await r.post('check-answers', { _csrf: [r.csrf, r.csrf] });
    expect(send.statusCode).toBe(403);
    const twice = await r.post('concern-1', { concern_1: ['asb', 'violence'] });
    expect(twice.statusCode).toBe(422);
    const token = await r.post('concern-1', { _csrf: [r.csrf, r.csrf], concern_1: 'asb' });
    expect(token.statusCode).toBe(403);
    // A repeated date must not read as "no date".
    const schedule = await admin.post('/admin/surveys/csp-2019/schedule', {
      _csrf: csrfTokenIn(page.body),
      action: 'dates',
      opens_at: ['2026-12-01T09:00', '2026-12-02T09:00'],
      closes_at: '',
    });
    expect(schedule.statusCode).toBe(400);
    expect(schedule.body).toContain('Nothing was changed');
    const filters = await admin.get('/admin/surveys/csp-2019?status=complete&status=partial');
    expect(filters.statusCode).toBe(422);
    expect(filters.body).toContain('Status must be given once');
    expect(await snapshotAll(t.db)).toEqual(before);
  });

  it('never shows an object property for a message code in the query string', async () => {
    t = await makeAdminApp();
    await createAccount(t.db, 'admin@council.example', 'admin', PASSWORD);
    const admin = await new AdminAgent(t.app).signIn('admin@council.example', PASSWORD);
    for (const done of ['toString', 'hasOwnProperty', 'valueOf', 'created&done=removed']) {
      const res = await admin.get(`/admin/accounts?done=${done}`);
      expect(res.statusCode, done).toBe(200);
      expect(res.body, done).not.toMatch(/\[object|function |native code/);
    }
  });
});

describe("the respondent's forms: CSRF", () => {
  it('carry a token and a hidden honeypot field on every form, and work without JavaScript', async () => {
    t = await makeApp();
    const r = new Respondent(t.app);
    const startPage = await r.get('');
    expect(startPage.body).toMatch(
      /<form method="post" action="\/s\/csp-2019\/start">\s*<input type="hidden" name="_csrf" value="[\w-]{40,}">/,
    );
    expect(startPage.body).toContain('name="website-url"');
    expect(String(startPage.headers['set-cookie'])).toMatch(
      new RegExp(`^${FORM_COOKIE}=.+; Path=/s; HttpOnly; SameSite=Lax`),
    );
    await r.start();
    const area = await r.get('area');
    expect(area.body).toMatch(/name="_csrf" value="[\w-]{40,}"/);
    expect(area.body).toContain('<div class="govuk-!-display-none" aria-hidden="true">');
    for (const page of ['area', 'concern-1', 'concern-2', 'concern-3', 'about-you', 'postcode']) await r.answer(page);
    const check = await r.get('check-answers');
    expect(csrfTokenIn(check.body)).toBe(r.csrf);
    // Once there is a draft, tokens are bound to it: the Start page's token no longer passes.
    expect(csrfTokenIn(startPage.body)).not.toBe(r.csrf);
  });

  it('refuses Start, a page and Send without the right token: 403, the page again with a fresh token and a message, nothing stored', async () => {
    t = await makeApp();
    const r = await startedRespondent(t.app);
    await r.answer('concern-1', { concern_1: 'asb' });
    const other = await startedRespondent(t.app);
    const before = await snapshotAll(t.db);
    const tokens: [string, Record<string, string | string[]>][] = [
      ['none', {}],
      ['empty', { _csrf: '' }],
      ['wrong', { _csrf: `${r.csrf.slice(0, -4)}AAAA` }],
      ["another respondent's", { _csrf: other.csrf }],
      ['huge', { _csrf: 'x'.repeat(500) }],
    ];
    for (const [what, token] of tokens) {
      const page = await t.app.inject({
        method: 'POST',
        url: '/s/csp-2019/concern-1-asb',
        headers: { ...FORM, cookie: r.cookie },
        payload: form({ ...token, concern_1_top3: ['drugs'], concern_1_victim: 'yes' }),
      });
      expect(page.statusCode, what).toBe(403);
      expect(page.body, what).toContain('Your session was refreshed, please check this page and press Continue again');
      expect(page.body, what).toContain('role="alert"');
      expect(csrfTokenIn(page.body), what).toMatch(/^[\w-]{40,}$/);
      // The page shows what the draft holds, not what was sent: a forged form cannot pre-fill it.
      expect(page.body, what).not.toMatch(/value="drugs" checked/);

      const start = await t.app.inject({
        method: 'POST',
        url: '/s/csp-2019/start',
        headers: { ...FORM, cookie: r.cookie },
        payload: form({ ...token, restart: 'yes' }),
      });
      expect(start.statusCode, what).toBe(403);
      expect(start.body, what).toContain('Your session was refreshed, please press the button again');
      expect(start.body, what).toContain('Continue where you left off');
    }
    // Send, once the route is complete.
    for (const page of ['concern-1-asb', 'concern-2', 'concern-3', 'about-you', 'postcode']) await r.answer(page);
    const sendBefore = await snapshotAll(t.db);
    const send = await r.post('check-answers', { _csrf: other.csrf });
    expect(send.statusCode).toBe(403);
    expect(send.body).toContain('Your session was refreshed, please press Send answers again');
    expect(send.body).toContain('Check your answers before sending them');
    expect(await snapshotAll(t.db)).toEqual(sendBefore);
    // Pressing the button on the page shown works.
    expect((await r.post('check-answers', { _csrf: csrfTokenIn(send.body) })).headers.location).toBe(
      '/s/csp-2019/thank-you',
    );
    expect(before.responses).toHaveLength(2);
  });

  it('refuses a Start from another site (no pre-draft cookie, or a token made for another browser)', async () => {
    t = await makeApp();
    const mine = await t.app.inject({ url: '/s/csp-2019' });
    const token = csrfTokenIn(mine.body);
    // The attacker's page posts a token it fetched for itself, from the victim's browser (no cookie of ours).
    const forged = await postForm(t.app, '/s/csp-2019/start', { _csrf: token, src: 'facebook' });
    expect(forged.statusCode).toBe(403);
    expect(forged.body).toContain('Your session was refreshed');
    expect(forged.body).toContain('check that your browser allows cookies');
    // The page shown gives the browser its own secret and a token that works with it.
    const cookie = String(forged.headers['set-cookie']).split(';')[0] as string;
    expect(cookie).toMatch(new RegExp(`^${FORM_COOKIE}=`));
    expect(await t.db.selectFrom('responses').select('id').execute()).toHaveLength(0);
    const again = await postForm(
      t.app,
      '/s/csp-2019/start',
      { _csrf: csrfTokenIn(forged.body), src: 'facebook' },
      cookie,
    );
    expect(again.statusCode).toBe(303);
    expect(await t.db.selectFrom('responses').select('channel').execute()).toEqual([{ channel: 'facebook' }]);
  });

  it('keeps working for a respondent who comes back days later, from a page left open', async () => {
    const c = clock();
    t = await makeApp({ now: c.now });
    const r = await startedRespondent(t.app);
    const left = await r.get('concern-1');
    c.advance(40 * 24 * 60 * 60_000); // 40 days on: the phone was in a drawer
    const res = await r.post('concern-1', { _csrf: csrfTokenIn(left.body), concern_1: 'property' });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/s/csp-2019/concern-1-property');
  });

  it('stops a form from an older draft (started again in another tab) from changing the new one', async () => {
    t = await makeApp();
    const r = await startedRespondent(t.app);
    const oldForm = await r.get('concern-1');
    // Another tab: Start again with no answers.
    const restart = await r.post('start', { restart: 'yes' });
    expect(restart.statusCode).toBe(303);
    const fresh = await snapshotAll(t.db);
    const res = await r.post('area', { _csrf: csrfTokenIn(oldForm.body), area: 'dartford' });
    expect(res.statusCode).toBe(403);
    expect(res.body).not.toMatch(/value="gravesham" checked/);
    expect(await snapshotAll(t.db)).toEqual(fresh);
  });

  it('treats a tampered or stale draft cookie as none: the answer is refused with a message, nothing stored', async () => {
    t = await makeApp();
    const r = await startedRespondent(t.app);
    const before = await snapshotAll(t.db);
    const value = r.cookieValue('soundings_draft') as string;
    const dot = value.lastIndexOf('.');
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    for (const draft of [
      encodeURIComponent(`${flip(value.slice(0, dot))}${value.slice(dot)}`),
      encodeURIComponent(`${value.slice(0, dot)}.${flip(value.slice(dot + 1))}`),
      encodeURIComponent(t.app.signCookie('never-issued')),
      '',
    ]) {
      const cookie = r.cookieWith('soundings_draft', draft);
      const res = await postForm(t.app, '/s/csp-2019/concern-1', { _csrf: r.csrf, concern_1: 'asb' }, cookie);
      // The form was made for the draft the cookie no longer names: said so, never saved elsewhere or dropped silently.
      expect(res.statusCode, cookie).toBe(403);
      expect(res.body, cookie).toContain('Nothing on that page was saved');
      const page = await t.app.inject({ url: '/s/csp-2019/concern-1', headers: { cookie } });
      expect(page.headers.location, cookie).toBe('/s/csp-2019');
    }
    expect(await snapshotAll(t.db)).toEqual(before);
  });
});

describe('no state change on GET', () => {
  it('leaves everything stored as it was after a GET of every route, signed in or not, with a draft or not', async () => {
    t = await makeAdminApp();
    const analystId = await createAccount(t.db, 'analyst@council.example', 'analyst', PASSWORD);
    await createAccount(t.db, 'admin@council.example', 'admin', PASSWORD);
    const r = await startedRespondent(t.app);
    await r.answer('concern-1', { concern_1: 'asb' });
    const admin = await new AdminAgent(t.app).signIn('admin@council.example', PASSWORD);
    const routes = (await registeredRoutes(t.app)).filter((route) => route.method === 'GET');
    expect(routes.length).toBeGreaterThan(20);
    const params = {
      slug: 'csp-2019',
      page: 'concern-1-asb',
      id: analystId,
      table: 'concern_1',
      token: 'no-such-setup-token',
      file: 'csp-2019', // the HTML questionnaire (the PDF would start Chromium)
      '*': 'anything',
    };
    const before = await snapshotAll(t.db);
    for (const route of routes) {
      const url = fillPath(route.path, params).replace('*', 'anything');
      for (const cookie of [`${r.cookie}; ${admin.cookieHeader}`, '']) {
        const res = await t.app.inject({ url, headers: cookie ? { cookie } : {} });
        expect(res.statusCode, url).toBeLessThan(500);
      }
    }
    expect(await snapshotAll(t.db)).toEqual(before);
  });
});
