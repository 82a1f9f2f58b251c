import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { OWASP_HASHING } from '../../src/admin/accounts.ts';
import { parseDatabaseUrl } from '../../src/db/url.ts';
import {
  AdminAgent,
  createAccount,
  csrfTokenIn,
  FORM,
  form,
  makeAdminApp,
  makeApp,
  storedContents,
  TEST_HASHING,
  type TestApp,
  testClock,
} from '../helpers.ts';

const ADMIN = 'chief@council.gov.uk';
const ANALYST = 'numbers@council.gov.uk';
const PASSWORD = 'correct horse battery staple';
const ANALYST_PASSWORD = 'another long passphrase';
const OTHER_ID = '00000000-0000-4000-8000-000000000000';

/** The shared test clock, moved on in minutes here. */
function clock(start?: string) {
  const c = testClock(start);
  return { now: c.now, advance: (minutes: number) => c.advance(minutes * 60_000) };
}

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function withAccounts(options: Parameters<typeof makeAdminApp>[0] = {}) {
  t = await makeAdminApp(options);
  const adminId = await createAccount(t.db, ADMIN, 'admin', PASSWORD);
  const analystId = await createAccount(t.db, ANALYST, 'analyst', ANALYST_PASSWORD);
  return { app: t.app, db: t.db, adminId, analystId };
}

const setCookies = (res: { headers: Record<string, unknown> }) => {
  const set = res.headers['set-cookie'];
  return (Array.isArray(set) ? set : set === undefined ? [] : [set]).map(String);
};
const cookieNamed = (res: { headers: Record<string, unknown> }, name: string) =>
  setCookies(res).find((c) => c.startsWith(`${name}=`));

/** The page's text without the per-request CSRF token, to compare two answers. */
const withoutToken = (html: string) => html.replace(/name="_csrf" value="[^"]+"/g, '');

async function accountsSnapshot() {
  return t!.db.selectFrom('admin_accounts').selectAll().orderBy('email').execute();
}

describe('first run: the setup link', () => {
  it('is printed (log and console) from the public URL, works once, and signs the new admin in', async () => {
    const log: string[] = [];
    const printed: string[] = [];
    t = await makeAdminApp({
      config: { publicUrl: 'https://survey.council.example', logLevel: 'warn' },
      logStream: { write: (line) => log.push(line) },
      admin: { announce: (text) => printed.push(text) },
    });
    const logged = /https:\/\/survey\.council\.example\/admin\/setup\/([A-Za-z0-9_-]{43})/.exec(log.join(''));
    expect(logged).not.toBeNull();
    const token = logged![1]!;
    expect(printed.join('')).toContain(`https://survey.council.example/admin/setup/${token}`);

    const agent = new AdminAgent(t.app, { host: 'evil.example' });
    expect((await agent.get('/admin/setup/not-the-token')).statusCode).toBe(404);
    const page = await agent.get(`/admin/setup/${token}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Create the first admin account');
    expect(page.body).toContain('autocomplete="new-password"');
    expect(page.headers['cache-control']).toBe('no-store');

    const short = await agent.post(`/admin/setup/${token}`, {
      _csrf: csrfTokenIn(page.body),
      email: ' First@Council.gov.uk ',
      password: 'too short',
    });
    expect(short.statusCode).toBe(422);
    expect(short.body).toContain('Password must be 12 characters or more');
    expect(short.body).toContain('value="first@council.gov.uk"');
    expect(short.body).not.toContain('too short');
    expect(await accountsSnapshot()).toEqual([]);

    const made = await agent.post(`/admin/setup/${token}`, {
      _csrf: csrfTokenIn(short.body),
      email: ' First@Council.gov.uk ',
      password: PASSWORD,
    });
    expect(made.statusCode).toBe(303);
    expect(made.headers.location).toBe('/admin');
    const accounts = await accountsSnapshot();
    expect(accounts.map((a) => [a.email, a.role])).toEqual([['first@council.gov.uk', 'admin']]);
    expect(accounts[0]!.password_hash).toMatch(/^\$argon2id\$v=19\$/);
    expect(accounts[0]!.password_hash).not.toContain(PASSWORD);
    const home = await agent.get('/admin');
    expect(home.statusCode).toBe(200);
    expect(home.body).toContain('first@council.gov.uk');

    // Used once: never again, whoever asks.
    expect((await agent.get(`/admin/setup/${token}`)).statusCode).toBe(404);
    const again = new AdminAgent(t.app);
    const loginPage = await again.get('/admin/login');
    const replay = await again.post(`/admin/setup/${token}`, {
      _csrf: csrfTokenIn(loginPage.body),
      email: 'intruder@example.com',
      password: PASSWORD,
    });
    expect(replay.statusCode).toBe(404);
    expect(await accountsSnapshot()).toHaveLength(1);
  });

  it('never writes the token in the request log', async () => {
    const log: string[] = [];
    const printed: string[] = [];
    t = await makeAdminApp({
      config: { logLevel: 'trace' },
      logStream: { write: (line) => log.push(line) },
      admin: { announce: (text) => printed.push(text) },
    });
    const token = /\/admin\/setup\/([A-Za-z0-9_-]+)/.exec(printed.join(''))![1]!;
    const agent = new AdminAgent(t.app);
    const page = await agent.get(`/admin/setup/${token}?x=1`);
    await agent.post(`/admin/setup/${token}`, {
      _csrf: csrfTokenIn(page.body),
      email: 'first@council.gov.uk',
      password: 'short',
    });
    await agent.get(`/admin/setup/${token}x`);
    // The start-up line that announces the link is the one place it is written.
    const requestLog = log.filter((line) => !line.includes('No admin account yet'));
    expect(requestLog.join('').length).toBeGreaterThan(0);
    expect(requestLog.join('')).toContain('"url":"/admin/setup/[token]"');
    for (const line of requestLog) expect(line).not.toContain(token);
  });

  it('is not offered when an account exists', async () => {
    const log: string[] = [];
    const printed: string[] = [];
    const first = await makeAdminApp();
    await createAccount(first.db, ADMIN, 'admin', PASSWORD);
    const databaseUrl = first.databaseUrl;
    await first.app.close();
    // The same database, started again.
    const { buildApp } = await import('../../src/app.ts');
    const { connect } = await import('../../src/db/open.ts');
    const { testConfig, cspSurvey } = await import('../helpers.ts');
    const db = await connect(databaseUrl);
    const app = await buildApp({
      db,
      config: testConfig({ database: parseDatabaseUrl(databaseUrl), logLevel: 'warn' }),
      surveys: [cspSurvey()],
      logStream: { write: (line) => log.push(line) },
      admin: { passwordHashing: TEST_HASHING, announce: (text) => printed.push(text) },
    });
    t = {
      app,
      db,
      databaseUrl,
      dir: first.dir,
      close: async () => {
        await app.close();
        await first.close();
      },
    };
    expect(log.join('')).not.toContain('/admin/setup/');
    expect(printed).toEqual([]);
    expect((await app.inject({ url: '/admin/setup/anything' })).statusCode).toBe(404);
  });

  it('stops working once an account is made another way (the command line)', async () => {
    const printed: string[] = [];
    t = await makeAdminApp({ admin: { announce: (text) => printed.push(text) } });
    const token = /\/admin\/setup\/([A-Za-z0-9_-]+)/.exec(printed.join(''))![1]!;
    expect((await t.app.inject({ url: `/admin/setup/${token}` })).statusCode).toBe(200);
    const login = await t.app.inject({ url: '/admin/login' });
    expect(login.body).toContain('There is no admin account yet');
    await createAccount(t.db, ADMIN, 'admin', PASSWORD);
    expect((await t.app.inject({ url: `/admin/setup/${token}` })).statusCode).toBe(404);
    expect((await t.app.inject({ url: '/admin/login' })).body).not.toContain('There is no admin account yet');
  });
});

describe('signing in and out', () => {
  it('signs in, shows the surveys, and signs out for good', async () => {
    const { db } = await withAccounts();
    const agent = new AdminAgent(t!.app);
    const page = await agent.get('/admin/login');
    expect(page.statusCode).toBe(200);
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.body).toContain('autocomplete="username"');
    expect(page.body).toContain('autocomplete="current-password"');
    const res = await agent.login(ADMIN.toUpperCase(), PASSWORD);
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/admin');

    const home = await agent.get('/admin');
    expect(home.statusCode).toBe(200);
    expect(home.headers['cache-control']).toBe('no-store');
    expect(home.body).toContain('Soundings admin');
    expect(home.body).toContain('href="/admin/surveys/csp-2019"');
    expect(home.body).toContain('href="/admin/accounts"');
    expect(home.body).toContain('Sign out');
    // A signed-in admin who opens the sign-in page goes straight in.
    expect((await agent.get('/admin/login')).headers.location).toBe('/admin');

    const stolen = agent.session!;
    expect(await db.selectFrom('admin_sessions').selectAll().execute()).toHaveLength(1);
    const out = await agent.logout();
    expect(out.statusCode).toBe(303);
    expect(out.headers.location).toBe('/admin/login?signed-out=yes');
    expect(agent.session).toBeUndefined();
    expect((await agent.get(out.headers.location as string)).body).toContain('You have signed out');
    expect(await db.selectFrom('admin_sessions').selectAll().execute()).toHaveLength(0);
    // The old cookie, replayed, opens nothing.
    const replay = await t!.app.inject({ url: '/admin', headers: { cookie: `soundings_admin=${stolen}` } });
    expect(replay.statusCode).toBe(303);
    expect(replay.headers.location).toBe('/admin/login');
  });

  it('sets the session cookie HttpOnly, SameSite=Strict, on /admin, and stores only a hash of its token', async () => {
    const { db, adminId } = await withAccounts();
    const res = await new AdminAgent(t!.app).login(ADMIN, PASSWORD);
    const cookie = cookieNamed(res, 'soundings_admin')!;
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Strict/);
    expect(cookie).toMatch(/; Path=\/admin/);
    expect(cookie).not.toMatch(/Secure/);
    expect(cookie).not.toMatch(/Max-Age|Expires/);
    const signed = decodeURIComponent(cookie.split(';')[0]!.split('=').slice(1).join('='));
    const token = t!.app.unsignCookie(signed).value!;
    const rows = await db.selectFrom('admin_sessions').selectAll().execute();
    expect(rows).toEqual([
      expect.objectContaining({
        account_id: adminId,
        token_hash: createHash('sha256').update(token).digest('hex'),
      }),
    ]);
    expect(JSON.stringify(rows)).not.toContain(token);
  });

  it('marks the cookies Secure when the public address is https', async () => {
    await withAccounts({ config: { publicUrl: 'https://survey.council.example' } });
    const agent = new AdminAgent(t!.app);
    const page = await agent.get('/admin/login');
    expect(cookieNamed(page, 'soundings_admin_csrf')).toMatch(/; Secure/);
    const res = await agent.login(ADMIN, PASSWORD);
    expect(cookieNamed(res, 'soundings_admin')).toMatch(/; Secure/);
    expect(cookieNamed(res, 'soundings_admin')).toMatch(/; SameSite=Strict/);
  });

  it('gives a new session at every sign-in and ends the one before', async () => {
    const { db } = await withAccounts();
    const agent = new AdminAgent(t!.app);
    await agent.signIn(ADMIN, PASSWORD);
    const first = agent.session!;
    // Signing in again (from a form opened while signed in, say).
    const again = await agent.submit('/admin', '/admin/login', { email: ADMIN, password: PASSWORD });
    expect(again.statusCode).toBe(303);
    const second = agent.session!;
    expect(second).not.toBe(first);
    expect(await db.selectFrom('admin_sessions').selectAll().execute()).toHaveLength(1);
    const old = await t!.app.inject({ url: '/admin', headers: { cookie: `soundings_admin=${first}` } });
    expect(old.headers.location).toBe('/admin/login');
    expect((await agent.get('/admin')).statusCode).toBe(200);
  });

  it('refuses a tampered, forged or unknown session cookie, and clears it', async () => {
    await withAccounts();
    const agent = new AdminAgent(t!.app);
    await agent.signIn(ADMIN, PASSWORD);
    const real = decodeURIComponent(agent.session!);
    const [token, signature] = [real.slice(0, real.lastIndexOf('.')), real.slice(real.lastIndexOf('.') + 1)];
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    for (const cookie of [
      `${flip(token)}.${signature}`, // token changed, signature kept
      `${token}.${flip(signature)}`, // signature changed
      token, // unsigned
      t!.app.signCookie('a-token-that-was-never-issued'), // signed by us but unknown
      '',
    ]) {
      const res = await t!.app.inject({
        url: '/admin/accounts',
        headers: { cookie: `soundings_admin=${encodeURIComponent(cookie)}` },
      });
      expect(res.statusCode, cookie).toBe(303);
      expect(res.headers.location).toBe('/admin/login?next=%2Fadmin%2Faccounts');
      if (cookie) expect(cookieNamed(res, 'soundings_admin')).toMatch(/Expires=Thu, 01 Jan 1970/);
    }
  });

  it('ends a session after 30 minutes without a request, and after 12 hours whatever happens', async () => {
    const c = clock();
    const { db } = await withAccounts({ now: c.now });
    const agent = new AdminAgent(t!.app);
    await agent.signIn(ADMIN, PASSWORD);
    c.advance(29);
    expect((await agent.get('/admin')).statusCode).toBe(200);
    c.advance(29); // 58 minutes after sign-in, 29 since the last request
    expect((await agent.get('/admin')).statusCode).toBe(200);
    c.advance(31);
    const idle = await agent.get('/admin');
    expect(idle.statusCode).toBe(303);
    expect(idle.headers.location).toBe('/admin/login');
    expect(await db.selectFrom('admin_sessions').selectAll().execute()).toHaveLength(0);

    await agent.signIn(ADMIN, PASSWORD);
    for (let minutes = 0; minutes < 12 * 60 - 20; minutes += 20) {
      c.advance(20);
      expect((await agent.get('/admin')).statusCode, `after ${minutes + 20} minutes`).toBe(200);
    }
    c.advance(20);
    expect((await agent.get('/admin')).headers.location).toBe('/admin/login');
  });

  it('takes its session limits from the options', async () => {
    const c = clock();
    await withAccounts({ now: c.now, admin: { sessionLimits: { idleMs: 5 * 60_000 } } });
    const agent = new AdminAgent(t!.app);
    await agent.signIn(ADMIN, PASSWORD);
    c.advance(4);
    expect((await agent.get('/admin')).statusCode).toBe(200);
    c.advance(5);
    expect((await agent.get('/admin')).statusCode).toBe(303);
  });

  it('goes back to the page asked for after signing in, but never off the admin site', async () => {
    await withAccounts();
    const agent = new AdminAgent(t!.app);
    const asked = await agent.get('/admin/accounts/new');
    expect(asked.headers.location).toBe('/admin/login?next=%2Fadmin%2Faccounts%2Fnew');
    const page = await agent.get(asked.headers.location as string);
    expect(page.body).toContain('name="next" value="/admin/accounts/new"');
    const res = await agent.post('/admin/login', {
      _csrf: csrfTokenIn(page.body),
      email: ADMIN,
      password: PASSWORD,
      next: '/admin/accounts/new',
    });
    expect(res.headers.location).toBe('/admin/accounts/new');
    for (const next of [
      '//evil.example/admin',
      'https://evil.example',
      '/admin//evil.example',
      '/elsewhere',
      '/admin/logout',
    ]) {
      const other = new AdminAgent(t!.app);
      const r = await other.login(ADMIN, PASSWORD, next);
      expect(r.headers.location, next).toBe('/admin');
    }
  });

  it('builds no address from the Host header', async () => {
    await withAccounts();
    const agent = new AdminAgent(t!.app, { host: 'evil.example', 'x-forwarded-host': 'evil.example' });
    const page = await agent.get('/admin/login');
    expect(page.body).not.toContain('evil.example');
    const res = await agent.login(ADMIN, PASSWORD);
    expect(res.headers.location).toBe('/admin');
    expect((await agent.get('/admin')).body).not.toContain('evil.example');
    expect((await agent.logout()).headers.location).toBe('/admin/login?signed-out=yes');
  });

  it('signs a person out from a session that has already ended without complaint', async () => {
    const c = clock();
    await withAccounts({ now: c.now });
    const agent = new AdminAgent(t!.app);
    await agent.signIn(ADMIN, PASSWORD);
    const home = await agent.get('/admin');
    c.advance(60);
    const res = await agent.post('/admin/logout', { _csrf: csrfTokenIn(home.body) });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/admin/login?signed-out=yes');
  });
});

describe('wrong details', () => {
  it('gives the same answer for an unknown email address and a wrong password', async () => {
    await withAccounts();
    const wrongPassword = await new AdminAgent(t!.app).login(ADMIN, 'not the password at all');
    const unknownEmail = await new AdminAgent(t!.app).login('nobody@council.gov.uk', 'not the password at all');
    const anotherAccount = await new AdminAgent(t!.app).login(ANALYST, 'not the password at all');
    for (const res of [wrongPassword, unknownEmail, anotherAccount]) {
      expect(res.statusCode).toBe(422);
      expect(res.body).toContain('Email address or password is not correct');
      expect(res.body).not.toContain('not the password at all');
      expect(cookieNamed(res, 'soundings_admin')).toBeUndefined();
    }
    expect(withoutToken(unknownEmail.body).replace('nobody@council.gov.uk', ADMIN)).toBe(
      withoutToken(wrongPassword.body),
    );
  });

  it('takes about as long for an unknown email address as for a wrong password (real Argon2id costs)', async () => {
    await withAccounts({ admin: { passwordHashing: OWASP_HASHING } });
    // Accounts with production-strength hashes, one per attempt so no lock starts.
    const { hashPassword, setPassword } = await import('../../src/admin/accounts.ts');
    const strong = await hashPassword(PASSWORD, OWASP_HASHING);
    const emails: string[] = [];
    for (let i = 0; i < 4; i++) {
      const email = `timing-${i}@council.gov.uk`;
      await setPassword(t!.db, await createAccount(t!.db, email, 'analyst', PASSWORD), strong);
      emails.push(email);
    }
    const time = async (email: string) => {
      const agent = new AdminAgent(t!.app);
      const page = await agent.get('/admin/login');
      // CPU time of this process (the hashing threads included), not wall time: a busy machine or a slow
      // disk (a known account's failed attempt is written down) would otherwise decide the comparison.
      const started = process.cpuUsage();
      const res = await agent.post('/admin/login', {
        _csrf: csrfTokenIn(page.body),
        email,
        password: 'wrong wrong wrong',
      });
      expect(res.statusCode).toBe(422);
      const used = process.cpuUsage(started);
      return used.user + used.system;
    };
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 4; i++) {
      known.push(await time(emails[i]!));
      unknown.push(await time(`ghost-${i}@council.gov.uk`));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    // Without the stand-in hash an unknown address would answer in a tiny fraction of the time.
    expect(median(unknown)).toBeGreaterThan(median(known) * 0.4);
  });

  it('explains an empty form, keeping the email address', async () => {
    await withAccounts();
    const agent = new AdminAgent(t!.app);
    const res = await agent.submit('/admin/login', '/admin/login', { email: 'someone@council.gov.uk', password: '' });
    expect(res.statusCode).toBe(422);
    expect(res.body).toContain('Enter your password');
    expect(res.body).toContain('href="#password"');
    expect(res.body).toContain('value="someone@council.gov.uk"');
    expect(res.body).toContain('<title>Error: Sign in');
  });

  it('locks an account for a while after 5 wrong passwords in a row, longer each time', async () => {
    const c = clock();
    const { db, adminId } = await withAccounts({ now: c.now });
    const viewer = await new AdminAgent(t!.app).signIn(ADMIN, PASSWORD);
    const statusOnPages = async () => {
      const list = (await viewer.get('/admin/accounts')).body;
      const own = (await viewer.get(`/admin/accounts/${adminId}`)).body;
      return [/Locked for now/.test(list), /Locked for now/.test(own)];
    };
    expect(await statusOnPages()).toEqual([false, false]);
    const agent = new AdminAgent(t!.app);
    for (let i = 0; i < 5; i++) expect((await agent.login(ADMIN, `wrong password ${i}`)).statusCode).toBe(422);
    expect(await statusOnPages()).toEqual([true, true]);
    const locked = await agent.login(ADMIN, PASSWORD);
    expect(locked.statusCode).toBe(429);
    expect(locked.headers['retry-after']).toBe('60');
    expect(locked.body).toContain('There have been too many attempts to sign in. Wait 1 minute, then try again');
    expect(cookieNamed(locked, 'soundings_admin')).toBeUndefined();
    c.advance(1);
    expect((await agent.login(ADMIN, 'wrong again')).statusCode).toBe(422);
    const longer = await agent.login(ADMIN, PASSWORD);
    expect(longer.statusCode).toBe(429);
    expect(longer.body).toContain('Wait 2 minutes');
    c.advance(2);
    expect((await agent.login(ADMIN, PASSWORD)).statusCode).toBe(303);
    // Signing in forgets the failures: the next wrong password is the first of five again.
    expect(await db.selectFrom('sign_in_attempts').selectAll().execute()).toEqual([]);
    expect(await statusOnPages()).toEqual([false, false]);
  });

  it('locks an unknown email address just the same, so locks reveal nothing', async () => {
    await withAccounts();
    const agent = new AdminAgent(t!.app);
    for (let i = 0; i < 5; i++) await agent.login('ghost@council.gov.uk', `wrong ${i}`);
    for (let i = 0; i < 5; i++) await agent.login(ADMIN, `wrong ${i}`);
    const ghost = await agent.login('ghost@council.gov.uk', 'anything at all');
    const real = await agent.login(ADMIN, 'anything at all');
    expect(ghost.statusCode).toBe(429);
    expect(real.statusCode).toBe(429);
    expect(withoutToken(ghost.body).replace('ghost@council.gov.uk', ADMIN)).toBe(withoutToken(real.body));
  });

  it('keeps the lock of an unknown address in the database with the real ones: another instance sees it, and no address is stored', async () => {
    const { db } = await withAccounts();
    for (let i = 0; i < 5; i++)
      expect(
        (await new AdminAgent(t!.app, {}, `192.0.2.${i + 1}`).login('Ghost@Council.gov.uk', `wrong ${i}`)).statusCode,
      ).toBe(422);
    for (let i = 0; i < 5; i++)
      expect((await new AdminAgent(t!.app, {}, `192.0.2.${i + 1}`).login(ADMIN, `wrong ${i}`)).statusCode).toBe(422);
    // A second instance on the same database, as behind a load balancer: both are locked there too.
    const { buildApp } = await import('../../src/app.ts');
    const { testConfig, cspSurvey } = await import('../helpers.ts');
    const other = await buildApp({
      db,
      config: testConfig({ database: parseDatabaseUrl(t!.databaseUrl) }),
      surveys: [cspSurvey()],
      admin: { passwordHashing: TEST_HASHING },
    });
    // Not closed: closing it would close the test's database, which the test closes itself.
    for (const email of ['ghost@council.gov.uk', ADMIN])
      expect((await new AdminAgent(other, {}, '192.0.2.99').login(email, 'anything at all')).statusCode, email).toBe(
        429,
      );
    const stored = JSON.stringify(
      await db
        .selectFrom('sign_in_attempts' as never)
        .selectAll()
        .execute(),
    );
    expect(stored).not.toMatch(/ghost|chief|council/i);
  });

  it('forgets an address tried and left alone for a day, so tried addresses cannot fill the table', async () => {
    const c = clock();
    const { db } = await withAccounts({ now: c.now });
    for (let i = 0; i < 3; i++) await new AdminAgent(t!.app).login(`ghost-${i}@council.gov.uk`, 'not it');
    expect(await db.selectFrom('sign_in_attempts').selectAll().execute()).toHaveLength(3);
    c.advance(23 * 60);
    await new AdminAgent(t!.app).login('ghost-0@council.gov.uk', 'not it either');
    c.advance(2 * 60);
    await new AdminAgent(t!.app).signIn(ADMIN, PASSWORD);
    // ghost-0 was tried again 2 hours ago; the others a day ago; the admin's success left nothing.
    expect(await db.selectFrom('sign_in_attempts').select('failures').execute()).toEqual([{ failures: 2 }]);
  });

  it('counts an IPv6 client by its /64, whichever of its addresses it uses', async () => {
    await withAccounts();
    for (let i = 0; i < 20; i++) {
      const agent = new AdminAgent(t!.app, {}, `2001:db8:7:7:${(i + 1).toString(16)}::1`);
      expect((await agent.login(`guess-${i}@council.gov.uk`, 'password123456')).statusCode).toBe(422);
    }
    expect((await new AdminAgent(t!.app, {}, '2001:db8:7:7:ffff::99').login(ADMIN, PASSWORD)).statusCode).toBe(429);
    // Another /64 is another client.
    expect((await new AdminAgent(t!.app, {}, '2001:db8:7:8::1').login(ADMIN, PASSWORD)).statusCode).toBe(303);
  });

  it('slows one client trying many addresses, without storing or logging its address', async () => {
    const c = clock();
    const log: string[] = [];
    const address = '198.51.100.23';
    const userAgent = 'Mozilla/5.0 (AdminProbe; agent-9b1e)';
    await withAccounts({ now: c.now, config: { logLevel: 'trace' }, logStream: { write: (line) => log.push(line) } });
    const attacker = new AdminAgent(t!.app, { 'user-agent': userAgent }, address);
    for (let i = 0; i < 20; i++)
      expect((await attacker.login(`guess-${i}@council.gov.uk`, 'password123456')).statusCode).toBe(422);
    const slowed = await attacker.login(ADMIN, PASSWORD);
    expect(slowed.statusCode).toBe(429);
    expect(slowed.body).toContain('Wait 15 minutes');
    // Someone else is not held up.
    expect((await new AdminAgent(t!.app, {}, '192.0.2.1').login(ADMIN, PASSWORD)).statusCode).toBe(303);
    c.advance(15);
    expect((await attacker.login(ADMIN, PASSWORD)).statusCode).toBe(303);

    const text = log.join('');
    expect(text).toContain('"url":"/admin/login"');
    for (const secret of [address, userAgent, 'agent-9b1e', PASSWORD]) expect(text, secret).not.toContain(secret);
    await t!.app.close();
    const stored = await storedContents(t!);
    expect(stored.length).toBeGreaterThan(0);
    for (const { name, text } of stored) {
      for (const secret of [address, userAgent, PASSWORD]) expect(text, `${name}: ${secret}`).not.toContain(secret);
    }
  });
});

describe('simultaneous sign-ins', () => {
  /**
   * The app with a password check that counts its calls and takes a while, as
   * Argon2id does (tens of milliseconds), so that requests overlap it.
   */
  async function counting(options: Parameters<typeof makeAdminApp>[0] = {}) {
    const { verifyPassword } = await import('../../src/admin/accounts.ts');
    const checks = { count: 0 };
    const app = await withAccounts({
      ...options,
      admin: {
        verifyPassword: async (hash, password) => {
          checks.count++;
          await new Promise((resolve) => setTimeout(resolve, 30));
          return verifyPassword(hash, password);
        },
      },
    });
    return { ...app, checks };
  }

  /** Agents that have each opened the sign-in page, from their own addresses (so only the account's lock applies). */
  async function agents(n: number) {
    const out: { agent: AdminAgent; token: string }[] = [];
    for (let i = 0; i < n; i++) {
      const agent = new AdminAgent(t!.app, {}, `198.51.${Math.floor(i / 250)}.${(i % 250) + 1}`);
      out.push({ agent, token: csrfTokenIn((await agent.get('/admin/login')).body) });
    }
    return out;
  }

  it('refuses the 16th of 20 at once when it has the right password: the lock counts attempts before checking them', async () => {
    const { db, checks } = await counting();
    const all = await agents(20);
    const results = await Promise.all(
      all.map(({ agent, token }, i) =>
        agent.post('/admin/login', { _csrf: token, email: ADMIN, password: i === 15 ? PASSWORD : `wrong ${i}` }),
      ),
    );
    const statuses = results.map((r) => r.statusCode);
    expect(statuses[15]).toBe(429);
    expect(statuses.filter((s) => s === 422)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
    expect(checks.count).toBe(5);
    expect(await db.selectFrom('admin_sessions').selectAll().execute()).toEqual([]);
  });

  it('checks at most 5 passwords of 200 sent at once, for a real account and an unknown address alike', async () => {
    const { checks } = await counting();
    for (const email of [ADMIN, 'ghost@council.gov.uk']) {
      checks.count = 0;
      const all = await agents(200);
      const results = await Promise.all(
        all.map(({ agent, token }, i) => agent.post('/admin/login', { _csrf: token, email, password: `wrong ${i}` })),
      );
      expect(checks.count, email).toBeLessThanOrEqual(5);
      expect(results.filter((r) => r.statusCode === 429).length, email).toBeGreaterThanOrEqual(195);
    }
  }, 60_000);

  it('holds the per-client limit too: 40 at once from one client, to 40 addresses, check at most 20', async () => {
    const { checks } = await counting();
    const all: { agent: AdminAgent; token: string }[] = [];
    for (let i = 0; i < 40; i++) {
      const agent = new AdminAgent(t!.app, {}, '203.0.113.8');
      all.push({ agent, token: csrfTokenIn((await agent.get('/admin/login')).body) });
    }
    const results = await Promise.all(
      all.map(({ agent, token }, i) =>
        agent.post('/admin/login', { _csrf: token, email: `guess-${i}@council.gov.uk`, password: 'not it at all' }),
      ),
    );
    expect(checks.count).toBe(20);
    expect(results.filter((r) => r.statusCode === 429)).toHaveLength(20);
  });
});

describe('without a session', () => {
  it('sends every admin page to the sign-in page', async () => {
    const { analystId } = await withAccounts();
    for (const url of [
      '/admin',
      '/admin/',
      '/admin/accounts',
      '/admin/accounts/new',
      `/admin/accounts/${analystId}`,
      '/admin/surveys/csp-2019',
      '/admin/no-such-page',
    ]) {
      const res = await t!.app.inject({ url });
      expect(res.statusCode, url).toBe(303);
      expect(String(res.headers.location), url).toMatch(/^\/admin\/login(\?next=%2Fadmin%2F.+)?$/);
      expect(res.headers['cache-control'], url).toBe('no-store');
    }
  });

  it('refuses every admin form, changing nothing', async () => {
    const { analystId } = await withAccounts();
    const before = await accountsSnapshot();
    const agent = new AdminAgent(t!.app);
    // Even with a valid CSRF pair from the sign-in page.
    const token = csrfTokenIn((await agent.get('/admin/login')).body);
    for (const [url, fields] of [
      ['/admin/accounts', { email: 'new@council.gov.uk', role: 'admin', password: PASSWORD }],
      [`/admin/accounts/${analystId}/password`, { password: 'a brand new password' }],
      [`/admin/accounts/${analystId}/disable`, {}],
      [`/admin/accounts/${analystId}/remove`, {}],
      ['/admin/surveys/csp-2019/close', {}],
    ] as const) {
      const res = await agent.post(url, { _csrf: token, ...fields });
      expect(res.statusCode, url).toBe(403);
      expect(res.body).toContain('You are not signed in');
    }
    expect(await accountsSnapshot()).toEqual(before);
  });
});

describe('roles', () => {
  it('lets an analyst see the surveys but not the accounts (403), changing nothing', async () => {
    const { adminId } = await withAccounts();
    const analyst = await new AdminAgent(t!.app).signIn(ANALYST, ANALYST_PASSWORD);
    const home = await analyst.get('/admin');
    expect(home.statusCode).toBe(200);
    expect(home.body).toContain('href="/admin/surveys/csp-2019"');
    expect(home.body).not.toContain('href="/admin/accounts"');
    const token = csrfTokenIn(home.body);
    for (const url of ['/admin/accounts', '/admin/accounts/new', `/admin/accounts/${adminId}`]) {
      const res = await analyst.get(url);
      expect(res.statusCode, url).toBe(403);
      expect(res.body).toContain('You do not have permission to do this');
    }
    const before = await accountsSnapshot();
    for (const [url, fields] of [
      ['/admin/accounts', { email: 'new@council.gov.uk', role: 'admin', password: PASSWORD }],
      [`/admin/accounts/${adminId}/password`, { password: 'a brand new password' }],
      [`/admin/accounts/${adminId}/disable`, {}],
      [`/admin/accounts/${adminId}/remove`, {}],
    ] as const) {
      const res = await analyst.post(url, { _csrf: token, ...fields });
      expect(res.statusCode, url).toBe(403);
      expect(res.body).toContain('You do not have permission to do this');
    }
    expect(await accountsSnapshot()).toEqual(before);
  });
});

describe('CSRF', () => {
  it('refuses a form with no token, a wrong token or one from another session, changing nothing', async () => {
    await withAccounts();
    const admin = await new AdminAgent(t!.app).signIn(ADMIN, PASSWORD);
    const other = await new AdminAgent(t!.app).signIn(ADMIN, PASSWORD);
    const othersToken = csrfTokenIn((await other.get('/admin/accounts/new')).body);
    const mine = csrfTokenIn((await admin.get('/admin/accounts/new')).body);
    const before = await accountsSnapshot();
    const fields = { email: 'new@council.gov.uk', role: 'analyst', password: PASSWORD };
    const tokens: [string, string | string[] | undefined][] = [
      ['none', undefined],
      ['empty', ''],
      ['wrong', `${mine.slice(0, -4)}AAAA`],
      ["another session's", othersToken],
      ['twice', [mine, mine]],
    ];
    for (const [what, token] of tokens) {
      const res = await admin.post('/admin/accounts', { ...fields, ...(token === undefined ? {} : { _csrf: token }) });
      expect(res.statusCode, what).toBe(403);
      expect(res.body, what).toContain('This form could not be accepted');
      expect(res.body, what).toContain('Nothing was changed');
    }
    // The token in a header does not count either: only the form field.
    const header = await t!.app.inject({
      method: 'POST',
      url: '/admin/accounts',
      headers: { ...FORM, cookie: admin.cookieHeader, 'x-csrf-token': mine },
      payload: form(fields),
    });
    expect(header.statusCode).toBe(403);
    // Without the secret cookie, the right token is refused too.
    const noSecret = await t!.app.inject({
      method: 'POST',
      url: '/admin/accounts',
      headers: { ...FORM, cookie: `soundings_admin=${admin.session}` },
      payload: form({ ...fields, _csrf: mine }),
    });
    expect(noSecret.statusCode).toBe(403);
    expect(await accountsSnapshot()).toEqual(before);
    // And the genuine form works.
    expect((await admin.post('/admin/accounts', { ...fields, _csrf: mine })).statusCode).toBe(303);
  });

  it('protects signing in and signing out', async () => {
    await withAccounts();
    const agent = new AdminAgent(t!.app);
    await agent.get('/admin/login');
    const login = await agent.post('/admin/login', { email: ADMIN, password: PASSWORD });
    expect(login.statusCode).toBe(403);
    expect(agent.session).toBeUndefined();
    await agent.signIn(ADMIN, PASSWORD);
    const logout = await agent.post('/admin/logout');
    expect(logout.statusCode).toBe(403);
    expect((await agent.get('/admin')).statusCode).toBe(200);
  });

  it('signs nobody out from another site: without the session cookie, sign-out changes and clears nothing', async () => {
    const { db } = await withAccounts();
    const agent = await new AdminAgent(t!.app).signIn(ADMIN, PASSWORD);
    const token = csrfTokenIn((await agent.get('/admin')).body);
    // SameSite=Strict: a form posted from another site arrives without our cookies.
    for (const cookie of [undefined, `soundings_admin_csrf=${agent.cookies.get('soundings_admin_csrf')}`]) {
      const res = await t!.app.inject({
        method: 'POST',
        url: '/admin/logout',
        headers: { ...FORM, origin: 'https://evil.example', ...(cookie ? { cookie } : {}) },
        payload: form({ _csrf: token }),
      });
      expect(res.statusCode, String(cookie)).toBe(303);
      expect(res.headers.location).toBe('/admin/login');
      expect(res.headers['set-cookie'], String(cookie)).toBeUndefined();
    }
    expect(await db.selectFrom('admin_sessions').selectAll().execute()).toHaveLength(1);
    expect((await agent.get('/admin')).statusCode).toBe(200);
    // Signed in, the token is needed; with it, the session row goes before the cookies are cleared.
    expect((await agent.post('/admin/logout', { _csrf: 'forged' })).statusCode).toBe(403);
    expect(await db.selectFrom('admin_sessions').selectAll().execute()).toHaveLength(1);
    const out = await agent.post('/admin/logout', { _csrf: token });
    expect(out.headers.location).toBe('/admin/login?signed-out=yes');
    expect(cookieNamed(out, 'soundings_admin')).toMatch(/Expires=Thu, 01 Jan 1970/);
    expect(await db.selectFrom('admin_sessions').selectAll().execute()).toEqual([]);
  });

  it('does not accept a token from before sign-in once signed in', async () => {
    await withAccounts();
    const agent = new AdminAgent(t!.app);
    const before = csrfTokenIn((await agent.get('/admin/login')).body);
    await agent.signIn(ADMIN, PASSWORD);
    const res = await agent.post('/admin/accounts', {
      _csrf: before,
      email: 'new@council.gov.uk',
      role: 'analyst',
      password: PASSWORD,
    });
    expect(res.statusCode).toBe(403);
  });
});

describe('managing accounts', () => {
  it('adds an account, explaining mistakes and keeping what was typed (but never the password)', async () => {
    const { db } = await withAccounts();
    const admin = await new AdminAgent(t!.app).signIn(ADMIN, PASSWORD);
    const page = await admin.get('/admin/accounts/new');
    expect(page.body).toContain('autocomplete="new-password"');
    const bad = await admin.post('/admin/accounts', {
      _csrf: csrfTokenIn(page.body),
      email: 'not an email',
      password: 'short pass',
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.body).toContain('Enter an email address in the correct format');
    expect(bad.body).toContain('Select what this person may do');
    expect(bad.body).toContain('Password must be 12 characters or more');
    expect(bad.body).toContain('value="not an email"');
    expect(bad.body).not.toContain('short pass');
    for (const field of ['email', 'role', 'password']) expect(bad.body).toContain(`href="#${field}"`);

    const taken = await admin.post('/admin/accounts', {
      _csrf: csrfTokenIn(bad.body),
      email: ANALYST.toUpperCase(),
      role: 'admin',
      password: PASSWORD,
    });
    expect(taken.statusCode).toBe(422);
    expect(taken.body).toContain('There is already an account with this email address');
    expect(taken.body).toMatch(/value="admin"[^>]* checked>/);

    const made = await admin.post('/admin/accounts', {
      _csrf: csrfTokenIn(taken.body),
      email: 'New.Person@Council.gov.uk',
      role: 'analyst',
      password: 'a new person password',
    });
    expect(made.statusCode).toBe(303);
    expect(made.headers.location).toBe('/admin/accounts?done=created');
    const list = await admin.get(made.headers.location as string);
    expect(list.body).toContain('The account has been created.');
    expect(list.body).toContain('new.person@council.gov.uk');
    const row = await db
      .selectFrom('admin_accounts')
      .selectAll()
      .where('email', '=', 'new.person@council.gov.uk')
      .executeTakeFirstOrThrow();
    expect(row.role).toBe('analyst');
    await new AdminAgent(t!.app).signIn('new.person@council.gov.uk', 'a new person password');
  });

  it("resets another account's password, signing it out everywhere", async () => {
    const { analystId } = await withAccounts();
    const admin = await new AdminAgent(t!.app).signIn(ADMIN, PASSWORD);
    const analyst = await new AdminAgent(t!.app).signIn(ANALYST, ANALYST_PASSWORD);
    const short = await admin.submit(`/admin/accounts/${analystId}`, `/admin/accounts/${analystId}/password`, {
      password: 'tiny',
    });
    expect(short.statusCode).toBe(422);
    expect(short.body).toContain('Password must be 12 characters or more');
    const res = await admin.submit(`/admin/accounts/${analystId}`, `/admin/accounts/${analystId}/password`, {
      password: 'the replacement password',
    });
    expect(res.statusCode).toBe(303);
    expect((await analyst.get('/admin')).statusCode).toBe(303);
    expect((await new AdminAgent(t!.app).login(ANALYST, ANALYST_PASSWORD)).statusCode).toBe(422);
    expect((await new AdminAgent(t!.app).login(ANALYST, 'the replacement password')).statusCode).toBe(303);
    expect((await admin.get('/admin')).statusCode).toBe(200);
  });

  it("lifts the account's sign-in lock with a password reset", async () => {
    const { analystId } = await withAccounts();
    const admin = await new AdminAgent(t!.app).signIn(ADMIN, PASSWORD);
    for (let i = 0; i < 5; i++) await new AdminAgent(t!.app).login(ANALYST, `wrong ${i}`);
    expect((await new AdminAgent(t!.app).login(ANALYST, ANALYST_PASSWORD)).statusCode).toBe(429);
    expect((await admin.get(`/admin/accounts/${analystId}`)).body).toContain('Locked for now');
    const res = await admin.submit(`/admin/accounts/${analystId}`, `/admin/accounts/${analystId}/password`, {
      password: 'the replacement password',
    });
    expect(res.statusCode).toBe(303);
    expect((await admin.get(`/admin/accounts/${analystId}`)).body).not.toContain('Locked for now');
    await new AdminAgent(t!.app).signIn(ANALYST, 'the replacement password');
  });

  it('disables (signing out), enables and removes an account, but not your own', async () => {
    const { adminId, analystId, db } = await withAccounts();
    const admin = await new AdminAgent(t!.app).signIn(ADMIN, PASSWORD);
    const analyst = await new AdminAgent(t!.app).signIn(ANALYST, ANALYST_PASSWORD);
    const page = `/admin/accounts/${analystId}`;
    expect((await admin.submit(page, `${page}/disable`)).headers.location).toBe('/admin/accounts?done=disabled');
    expect((await analyst.get('/admin')).statusCode).toBe(303);
    const refused = await new AdminAgent(t!.app).login(ANALYST, ANALYST_PASSWORD);
    expect(refused.statusCode).toBe(422);
    expect(refused.body).toContain('Email address or password is not correct');
    expect((await admin.get('/admin/accounts')).body).toContain('Disabled');
    expect((await admin.submit(page, `${page}/enable`)).headers.location).toBe('/admin/accounts?done=enabled');
    await new AdminAgent(t!.app).signIn(ANALYST, ANALYST_PASSWORD);
    // Removing goes through a page that says what it means; the form without its confirmation changes nothing.
    expect((await admin.submit(page, `${page}/remove`)).headers.location).toBe(`${page}/remove`);
    expect(await db.selectFrom('admin_accounts').select('id').where('id', '=', analystId).execute()).toHaveLength(1);
    const confirm = await admin.get(`${page}/remove`);
    expect(confirm.body).toContain('This cannot be undone');
    expect((await admin.submit(`${page}/remove`, `${page}/remove`, { confirm: 'yes' })).headers.location).toBe(
      '/admin/accounts?done=removed',
    );
    expect(await db.selectFrom('admin_accounts').select('id').where('id', '=', analystId).execute()).toEqual([]);
    expect(
      await db.selectFrom('admin_sessions').select('token_hash').where('account_id', '=', analystId).execute(),
    ).toEqual([]);
    expect((await admin.get(page)).statusCode).toBe(404);

    const own = `/admin/accounts/${adminId}`;
    expect((await admin.get(own)).body).toContain('This is your account');
    for (const action of ['disable', 'remove']) {
      const res = await admin.submit('/admin/accounts', `${own}/${action}`, { confirm: 'yes' });
      expect(res.statusCode).toBe(400);
      expect(res.body).toContain(`You cannot ${action} your own account`);
    }
    expect((await admin.get('/admin')).statusCode).toBe(200);
    expect((await admin.get(`/admin/accounts/${OTHER_ID}`)).statusCode).toBe(404);
    expect((await admin.get('/admin/accounts/not-an-id')).statusCode).toBe(404);
  });
});

describe('your own password', () => {
  it('is linked from every admin page, for analysts and admins alike', async () => {
    await withAccounts();
    for (const [email, password] of [
      [ADMIN, PASSWORD],
      [ANALYST, ANALYST_PASSWORD],
    ] as const) {
      const agent = await new AdminAgent(t!.app).signIn(email, password);
      expect((await agent.get('/admin')).body, email).toContain('href="/admin/password"');
      const page = await agent.get('/admin/password');
      expect(page.statusCode, email).toBe(200);
      expect(page.headers['cache-control']).toBe('no-store');
      expect(page.body).toContain('Change your password');
      expect(page.body).toContain('autocomplete="current-password"');
      expect(page.body).toContain('autocomplete="new-password"');
    }
    expect((await new AdminAgent(t!.app).get('/admin/password')).headers.location).toBe(
      '/admin/login?next=%2Fadmin%2Fpassword',
    );
  });

  it('explains each mistake in the GOV.UK way (422), never showing a password, and checks nothing until the form is complete', async () => {
    const { verifyPassword } = await import('../../src/admin/accounts.ts');
    let checks = 0;
    await withAccounts({
      admin: {
        verifyPassword: (hash, password) => {
          checks++;
          return verifyPassword(hash, password);
        },
      },
    });
    const agent = await new AdminAgent(t!.app).signIn(ANALYST, ANALYST_PASSWORD);
    checks = 0;
    const cases: [Record<string, string>, string[]][] = [
      [{}, ['Enter your current password', 'Enter a new password', 'Enter the new password again']],
      [
        { 'current-password': 'secret one', 'new-password': 'tiny secret', 'confirm-password': 'tiny secret' },
        ['Password must be 12 characters or more'],
      ],
      [
        {
          'current-password': 'secret two',
          'new-password': 'a long new secret',
          'confirm-password': 'a long new secreT',
        },
        ['The new passwords do not match'],
      ],
    ];
    for (const [fields, messages] of cases) {
      const res = await agent.submit('/admin/password', '/admin/password', fields);
      expect(res.statusCode, JSON.stringify(fields)).toBe(422);
      expect(res.body).toContain('<title>Error: Change your password');
      expect(res.body).toContain('There is a problem');
      for (const m of messages) expect(res.body, m).toContain(m);
      for (const value of Object.values(fields)) expect(res.body).not.toContain(value);
    }
    expect((await agent.submit('/admin/password', '/admin/password', {})).body).toContain('href="#current-password"');
    expect(checks).toBe(0);
  });

  it('checks the current password through the sign-in limit, so it cannot be used to guess', async () => {
    const c = clock();
    await withAccounts({ now: c.now });
    const agent = await new AdminAgent(t!.app).signIn(ANALYST, ANALYST_PASSWORD);
    const change = (current: string) =>
      agent.submit('/admin/password', '/admin/password', {
        'current-password': current,
        'new-password': 'a brand new passphrase',
        'confirm-password': 'a brand new passphrase',
      });
    for (let i = 0; i < 5; i++) {
      const wrong = await change(`guess number ${i}`);
      expect(wrong.statusCode).toBe(422);
      expect(wrong.body).toContain('Your current password is not correct');
      expect(wrong.body).toContain('href="#current-password"');
    }
    const locked = await change(ANALYST_PASSWORD);
    expect(locked.statusCode).toBe(429);
    expect(locked.body).toContain('There have been too many attempts to sign in. Wait 1 minute');
    // The same lock as signing in: it is one account.
    expect((await new AdminAgent(t!.app).login(ANALYST, ANALYST_PASSWORD)).statusCode).toBe(429);
    c.advance(1);
    expect((await change(ANALYST_PASSWORD)).statusCode).toBe(303);
    expect((await new AdminAgent(t!.app).login(ANALYST, 'a brand new passphrase')).statusCode).toBe(303);
  });

  it('changes it, ending the other sessions of the account but not this one', async () => {
    const { db, analystId } = await withAccounts();
    const agent = await new AdminAgent(t!.app).signIn(ANALYST, ANALYST_PASSWORD);
    const elsewhere = await new AdminAgent(t!.app).signIn(ANALYST, ANALYST_PASSWORD);
    const admin = await new AdminAgent(t!.app).signIn(ADMIN, PASSWORD);
    const res = await agent.submit('/admin/password', '/admin/password', {
      'current-password': ANALYST_PASSWORD,
      'new-password': 'a brand new passphrase',
      'confirm-password': 'a brand new passphrase',
    });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/admin/password?changed=yes');
    const done = await agent.get(res.headers.location as string);
    expect(done.body).toContain('Your password has been changed');
    expect((await agent.get('/admin')).statusCode).toBe(200);
    expect((await elsewhere.get('/admin')).statusCode).toBe(303);
    expect((await admin.get('/admin')).statusCode).toBe(200);
    expect(
      await db.selectFrom('admin_sessions').select('token_hash').where('account_id', '=', analystId).execute(),
    ).toHaveLength(1);
    expect((await new AdminAgent(t!.app).login(ANALYST, ANALYST_PASSWORD)).statusCode).toBe(422);
    await new AdminAgent(t!.app).signIn(ANALYST, 'a brand new passphrase');
  });
});

describe('other errors', () => {
  it('answers an unknown admin page with 404 inside the admin layout, and hands other errors on', async () => {
    await withAccounts();
    const admin = await new AdminAgent(t!.app).signIn(ADMIN, PASSWORD);
    const missing = await admin.get('/admin/no-such-page');
    expect(missing.statusCode).toBe(404);
    expect(missing.body).toContain('Soundings admin');
    expect(missing.body).toContain('Sign out');
    expect(missing.headers['cache-control']).toBe('no-store');
    const huge = await t!.app.inject({
      method: 'POST',
      url: '/admin/login',
      headers: FORM,
      payload: form({ email: ADMIN, password: 'x'.repeat(20_000) }),
    });
    expect(huge.statusCode).toBe(413);
    expect(huge.body).toContain('Too much was sent');
  });
});

describe('the respondent side', () => {
  it('is untouched by the admin cookies and needs no account', async () => {
    t = await makeApp();
    const res = await t.app.inject({ url: '/s/csp-2019' });
    expect(res.statusCode).toBe(200);
    expect(setCookies(res).some((c) => c.startsWith('soundings_admin'))).toBe(false);
  });
});
