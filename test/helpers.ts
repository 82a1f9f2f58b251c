import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { createAccount as addAccount, hashPassword, type PasswordHashing } from '../src/admin/accounts.ts';
import { buildApp } from '../src/app.ts';
import type { Config } from '../src/config.ts';
import { connect } from '../src/db/open.ts';
import type { AdminRole, Database } from '../src/db/schema.ts';
import { type Engine, parseDatabaseUrl } from '../src/db/url.ts';
import { importResponses } from '../src/exports/import.ts';
import type { AdminSettings } from '../src/routes/admin/index.ts';
import type { RespondentGuardSettings } from '../src/routes/respondent/guards.ts';
import { defineSurvey, type Survey, type SurveyInput } from '../src/survey/definition.ts';
import { csp2019 } from '../src/survey/definitions/csp-2019.ts';

export const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

export function testConfig(overrides: Partial<Config> = {}): Config {
  return {
    port: 0,
    host: '127.0.0.1',
    database: { engine: 'sqlite', path: ':memory:' },
    publicUrl: 'http://localhost:3000',
    publicUrlSet: true,
    indexStartPage: true,
    cookieSecret: 'test-secret-test-secret-test-secret-0123',
    logLevel: 'silent',
    trustProxy: false,
    ...overrides,
  };
}

/** The CSP 2019 survey, optionally with changes (open and close dates, say). */
export function cspSurvey(changes: Partial<SurveyInput> = {}): Survey {
  return defineSurvey({ ...csp2019, ...changes });
}

/**
 * A later wave of the CSP survey, as a council would run it again: a copy of the 2019 definition with
 * its own slug and wave name, and "Anti-social behaviour" reworded, so a comparison shows both labels.
 */
export function cspWave(year: number): Survey {
  const input = structuredClone(csp2019);
  for (const page of input.pages)
    for (const question of page.questions)
      if (/^concern_\d$/.test(question.id) && 'options' in question)
        for (const option of question.options) if (option.code === 'asb') option.label = 'Antisocial behaviour';
  return defineSurvey({
    ...input,
    slug: `csp-${year}`,
    title: `Community Safety Priorities – Public Opinion Survey ${year}`,
    series: { id: 'community-safety-priorities', title: 'Community Safety Priorities', wave: String(year) },
  });
}

/**
 * Responses for a later wave, made from the 2019 fixture: its rows with their ids and dates moved to
 * `year`, leaving out the first `dropAsb` whose most important issue was ASB (163 of 407 in 2019),
 * so that issue's share falls by a known amount.
 */
export function laterWaveCsv(fixture: Buffer | string, year: number, dropAsb: number): string {
  const [header = '', ...rows] = fixture.toString().trimEnd().split('\n');
  const columns = header.split(',');
  const concern = columns.indexOf('concern_1');
  let dropped = 0;
  const kept = rows.filter((row) => {
    if (row.split(',')[concern] !== 'asb' || dropped >= dropAsb) return true;
    dropped++;
    return false;
  });
  return `${[header, ...kept.map((row) => row.replace(/^/, `w${year}-`).replaceAll('2019-', `${year}-`))].join('\n')}\n`;
}

/**
 * The engine the suite runs on: SQLite files in temporary folders, or, with
 * TEST_DATABASE_URL set to a PostgreSQL server (scripts/with-postgres.sh does
 * that), a new database on that server for each test that asks for one.
 */
export const TEST_ENGINE: Engine = process.env.TEST_DATABASE_URL ? 'postgres' : 'sqlite';

let server: pg.Pool | undefined;
let created = 0;

/**
 * A clean, empty database for one test: a file in `dir` on SQLite, a new
 * database on Postgres. `engine: 'sqlite'` asks for SQLite whatever the suite
 * runs on, for what only SQLite has (its pragmas, its online backup).
 */
export async function freshDatabase(
  dir: string,
  name = 'test',
  engine: Engine = TEST_ENGINE,
): Promise<{ url: string; drop: () => Promise<void> }> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl || engine === 'sqlite') return { url: join(dir, `${name}.sqlite`), drop: async () => {} };
  server ??= new pg.Pool({ connectionString: serverUrl, max: 2, idleTimeoutMillis: 1000, allowExitOnIdle: true });
  const database = `soundings_${name.replace(/\W/g, '_')}_${process.pid}_${++created}_${Math.random().toString(36).slice(2, 8)}`;
  await server.query(`create database ${database}`);
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  const admin = server;
  return {
    url: url.toString(),
    drop: async () => {
      await admin.query(`drop database if exists ${database} with (force)`);
    },
  };
}

export interface TestApp {
  app: FastifyInstance;
  db: Kysely<Database>;
  /** Where the test's database is (for the command line, say): a file in `dir`, or a Postgres URL. */
  databaseUrl: string;
  /** A fresh folder removed by close(), for database files and the like. */
  dir: string;
  close: () => Promise<void>;
}

/**
 * Everything the test's database holds, as text to search for what must not
 * be there. On SQLite, the bytes of its files (the database, its write-ahead
 * log), free pages and all: call it after the app is closed. On Postgres, every
 * row of every table.
 */
export async function storedContents(
  t: Pick<TestApp, 'dir' | 'databaseUrl'>,
): Promise<{ name: string; text: string }[]> {
  if (!/^postgres/.test(t.databaseUrl)) {
    return readdirSync(t.dir)
      .filter((f) => f.startsWith(basename(t.databaseUrl)))
      .map((f) => ({ name: f, text: readFileSync(join(t.dir, f)).toString('latin1') }));
  }
  const client = new pg.Client({ connectionString: t.databaseUrl });
  await client.connect();
  try {
    const tables = await client.query<{ name: string }>(
      "select table_name as name from information_schema.tables where table_schema = 'public' order by 1",
    );
    const out: { name: string; text: string }[] = [];
    for (const { name } of tables.rows) {
      const rows = await client.query(`select * from "${name}"`);
      out.push({ name, text: JSON.stringify(rows.rows) });
    }
    return out;
  } finally {
    await client.end();
  }
}

/** Builds the app on a fresh SQLite database in a temporary folder. */
export async function makeApp(
  options: {
    surveys?: Survey[];
    now?: () => Date;
    config?: Partial<Config>;
    logStream?: { write(line: string): void };
    respondent?: Partial<RespondentGuardSettings>;
    admin?: Partial<AdminSettings>;
    /** SQLite whatever the suite runs on: see freshDatabase. */
    engine?: Engine;
  } = {},
): Promise<TestApp> {
  const dir = mkdtempSync(join(tmpdir(), 'soundings-test-'));
  const database = await freshDatabase(dir, 'test', options.engine);
  const databaseUrl = database.url;
  const db = await connect(databaseUrl);
  const app = await buildApp({
    db,
    config: testConfig({ database: parseDatabaseUrl(databaseUrl), ...options.config }),
    surveys: options.surveys ?? [cspSurvey()],
    ...(options.now ? { now: options.now } : {}),
    ...(options.logStream ? { logStream: options.logStream } : {}),
    // No reading time per page unless a test asks: most tests answer pages at machine speed.
    respondent: { minPageMs: 0, ...options.respondent },
    admin: { passwordHashing: TEST_HASHING, ...options.admin },
  });
  return {
    app,
    db,
    databaseUrl,
    dir,
    close: async () => {
      await app.close();
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The 420 responses consistent with the published 2019 tables (test/fixtures). */
export const PUBLISHED_FIXTURE = join(import.meta.dirname, 'fixtures/csp-2019-published.csv');

/** An app whose database holds the published fixture's 420 responses for csp-2019. */
export async function makeFixtureApp(options: Parameters<typeof makeApp>[0] = {}): Promise<TestApp> {
  const t = await makeApp(options);
  const imported = await importResponses(t.db, cspSurvey(), readFileSync(PUBLISHED_FIXTURE));
  if (!imported.ok) throw new Error('the published fixture did not import');
  return t;
}

/** Encodes form fields as a browser would (repeated names for several ticks). */
export function form(fields: Record<string, string | string[]>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) {
    for (const v of Array.isArray(value) ? value : [value]) params.append(name, v);
  }
  return params.toString();
}

/**
 * A respondent driving the app through inject as a browser would: keeping
 * their cookies (the draft, and the secret of the form tokens), sending each
 * form with the CSRF token of the last page that had one, and each question
 * page with the signed time that page was shown (opening it first, as a
 * browser does, when it has not been seen yet).
 */
export class Respondent {
  /** The Cookie header: every cookie the app has set and not cleared. */
  cookie = '';
  /** The `_csrf` token of the respondent's forms, from the last page seen. */
  csrf = '';
  private readonly jar = new Map<string, string>();
  /** The `shown-at` field of each question page seen, by the page's form action; forgotten with the draft. */
  private readonly shown = new Map<string, string>();
  constructor(
    readonly app: FastifyInstance,
    readonly slug = 'csp-2019',
    /** The client's address, for the burst limit on new drafts. */
    readonly remoteAddress = '127.0.0.1',
  ) {}

  /** A cookie's value as the browser holds it (decoded), or undefined. */
  cookieValue(name: string): string | undefined {
    const value = this.jar.get(name);
    return value === undefined ? undefined : decodeURIComponent(value);
  }

  /** The Cookie header with one cookie's value replaced (or left out, given undefined): a tampered browser. */
  cookieWith(name: string, value: string | undefined): string {
    return [...this.jar]
      .filter(([n]) => n !== name)
      .map(([n, v]) => `${n}=${v}`)
      .concat(value === undefined ? [] : [`${name}=${value}`])
      .join('; ');
  }

  /** The signed time a question page was shown, from the last time it was seen (undefined if never). */
  shownAt(page: string): string | undefined {
    return this.shown.get(`/s/${this.slug}/${page}`);
  }

  /** Keeps the cookies a response sets (forgetting those it clears), the token of its forms and a page's time. */
  keep(res: LightMyRequestResponse) {
    const set = res.headers['set-cookie'];
    for (const line of set === undefined ? [] : Array.isArray(set) ? set : [String(set)]) {
      const [pair = '', ...attributes] = line.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      // A new draft (or none): the pages' times were for the old one.
      if (name === 'soundings_draft' && this.jar.get(name) !== value) this.shown.clear();
      if (value === '' || attributes.some((a) => /expires=thu, 01 jan 1970/i.test(a))) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    this.cookie = [...this.jar].map(([name, value]) => `${name}=${value}`).join('; ');
    const token = /name="_csrf" value="([^"]+)"/.exec(res.body);
    if (token) this.csrf = token[1] as string;
    const action = /<form method="post" action="([^"]+)"/.exec(res.body);
    const shownAt = /name="shown-at" value="([^"]+)"/.exec(res.body);
    if (action && shownAt) this.shown.set(action[1] as string, shownAt[1] as string);
    return res;
  }

  /** Opens the start page and presses Start (the page's token comes along); then opens the page it leads to. */
  async start(src?: string) {
    await this.get(src ? `?src=${encodeURIComponent(src)}` : '');
    const res = this.keep(
      await this.app.inject({
        method: 'POST',
        url: `/s/${this.slug}/start`,
        remoteAddress: this.remoteAddress,
        headers: { ...FORM, ...(this.cookie ? { cookie: this.cookie } : {}) },
        payload: form({ ...(src ? { src } : {}), ...(this.csrf ? { _csrf: this.csrf } : {}) }),
      }),
    );
    const next = String(res.headers.location ?? '');
    if (res.statusCode === 303 && next.startsWith(`/s/${this.slug}/`)) await this.get(next.slice(this.slug.length + 4));
    return res;
  }

  /** GET /s/<slug>/<path> (the start page for ''). */
  async get(path: string) {
    return this.keep(
      await this.app.inject({
        method: 'GET',
        url: `/s/${this.slug}${path === '' || path.startsWith('?') ? '' : '/'}${path}`,
        remoteAddress: this.remoteAddress,
        headers: this.cookie ? { cookie: this.cookie } : {},
      }),
    );
  }

  /**
   * Posts a form with the current token, unless `fields` has its own `_csrf`,
   * and the page's signed time when it has been seen, unless `fields` has its own `shown-at`.
   */
  async post(path: string, fields: Record<string, string | string[]> = {}) {
    const shownAt = this.shownAt(path);
    return this.keep(
      await this.app.inject({
        method: 'POST',
        url: `/s/${this.slug}/${path}`,
        remoteAddress: this.remoteAddress,
        headers: { ...FORM, ...(this.cookie ? { cookie: this.cookie } : {}) },
        payload: form({
          ...(this.csrf ? { _csrf: this.csrf } : {}),
          ...(shownAt ? { 'shown-at': shownAt } : {}),
          ...fields,
        }),
      }),
    );
  }

  /** Posts a page (opening it first if it has not been seen) and returns the page id it redirects to. */
  async answer(page: string, fields: Record<string, string | string[]> = {}): Promise<string> {
    if (this.shownAt(page) === undefined && !('shown-at' in fields)) await this.get(page);
    const res = await this.post(page, fields);
    if (res.statusCode !== 303) throw new Error(`POST ${page} answered ${res.statusCode}: ${res.body.slice(0, 500)}`);
    return String(res.headers.location).split('/').pop()?.split('?')[0] as string;
  }
}

// --- Admin -----------------------------------------------------------------

/** Argon2id costs for tests: the smallest allowed, so hashing takes well under a millisecond. */
export const TEST_HASHING: PasswordHashing = { memoryCost: 256, timeCost: 1, parallelism: 1 };

/** makeApp, named for the admin tests: cheap password hashing unless told otherwise. */
export const makeAdminApp = makeApp;

/** Adds an admin account straight to the database; returns its id. */
export async function createAccount(
  db: Kysely<Database>,
  email: string,
  role: AdminRole,
  password: string,
): Promise<string> {
  const id = await addAccount(db, {
    email,
    role,
    passwordHash: await hashPassword(password, TEST_HASHING),
    now: new Date(),
  });
  if (!id) throw new Error(`an account for ${email} already exists`);
  return id;
}

/** The `_csrf` token in a page's forms. */
export function csrfTokenIn(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error(`no CSRF token in the page: ${html.slice(0, 300)}`);
  return match[1] as string;
}

/** Someone using /admin through inject, with a cookie jar like a browser's. */
export class AdminAgent {
  readonly cookies = new Map<string, string>();
  constructor(
    readonly app: FastifyInstance,
    /** Sent with every request (a user agent, say). */
    readonly headers: Record<string, string> = {},
    readonly remoteAddress = '127.0.0.1',
  ) {}

  get cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  /** Keeps the cookies a response sets, and forgets those it clears. */
  keep(res: LightMyRequestResponse) {
    const set = res.headers['set-cookie'];
    for (const line of set === undefined ? [] : Array.isArray(set) ? set : [String(set)]) {
      const [pair, ...attributes] = line.split(';');
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at).trim();
      const value = pair!.slice(at + 1).trim();
      const expired = attributes.some(
        (a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]!) <= Date.now()),
      );
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  async get(url: string) {
    return this.keep(
      await this.app.inject({
        method: 'GET',
        url,
        remoteAddress: this.remoteAddress,
        headers: { ...this.headers, ...(this.cookies.size ? { cookie: this.cookieHeader } : {}) },
      }),
    );
  }

  /** Posts a form as it stands (no token is added: pass `_csrf` in the fields). */
  async post(url: string, fields: Record<string, string | string[]> = {}) {
    return this.keep(
      await this.app.inject({
        method: 'POST',
        url,
        remoteAddress: this.remoteAddress,
        headers: { ...FORM, ...this.headers, ...(this.cookies.size ? { cookie: this.cookieHeader } : {}) },
        payload: form(fields),
      }),
    );
  }

  /** Opens `page`, then submits one of its forms to `action` with the page's CSRF token, as a browser would. */
  async submit(page: string, action: string, fields: Record<string, string | string[]> = {}) {
    const shown = await this.get(page);
    if (shown.statusCode !== 200) throw new Error(`GET ${page} answered ${shown.statusCode}`);
    return this.post(action, { _csrf: csrfTokenIn(shown.body), ...fields });
  }

  login(email: string, password: string, next?: string) {
    return this.submit('/admin/login', '/admin/login', { email, password, ...(next ? { next } : {}) });
  }

  /** Signs in, failing the test if that does not work. */
  async signIn(email: string, password: string) {
    const res = await this.login(email, password);
    if (res.statusCode !== 303) throw new Error(`sign-in answered ${res.statusCode}: ${res.body.slice(0, 500)}`);
    return this;
  }

  logout() {
    return this.submit('/admin', '/admin/logout');
  }

  /** The session cookie's value (signed), or undefined. */
  get session(): string | undefined {
    return this.cookies.get('soundings_admin');
  }
}

/** A clock a test moves on by hand, for buildApp's `now`. */
export function testClock(start = '2026-12-01T09:00:00.000Z') {
  let now = new Date(start).getTime();
  return {
    now: () => new Date(now),
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const ROOT = join(import.meta.dirname, '..');

/** Runs the command line on a database as an operator would, with `input` on standard input (a pipe, not a terminal). */
export function runCli(
  args: string[],
  databaseUrl: string,
  input = '',
  /** More of the environment (COOKIE_SECRET, say). */
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli.ts'), ...args], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: databaseUrl, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}
