// What the fault tests share: a real server process, respondents driving it
// over HTTP as browsers would, and the checks made on the database afterwards.

import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { type Agent, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { countsDisagreements } from '../../src/analysis/check-counts.ts';
import { buildApp } from '../../src/app.ts';
import { openDatabase, openSqliteDatabase, type SqliteConnection } from '../../src/db/open.ts';
import { engineOf } from '../../src/db/url.ts';
import type { Survey } from '../../src/survey/definition.ts';
import { loadSurveys } from '../../src/survey/definitions/index.ts';
import { journey, type Values } from '../../src/survey/journey.ts';
import { testConfig } from '../helpers.ts';

export const ROOT = join(import.meta.dirname, '../..');
export const SLUG = 'csp-2019';
export const COOKIE_SECRET = 'faults-secret-faults-secret-faults-secret-0123';

// --- The server ----------------------------------------------------------------

/**
 * The compiled server (`dist/src/server.js`, built once by the test suites'
 * global setup) in its own process, as `npm start` runs it: with `node`
 * itself, so a SIGKILL reaches the server and not a wrapper around it.
 */
export class ServerProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
    private readonly exited: Promise<number | null>,
    private readonly output: string[],
  ) {}

  /** `env` adds to the environment or, with undefined, takes a variable out. */
  static async start(databaseUrl: string, env: Record<string, string | undefined> = {}, timeoutMs = 30_000) {
    const child = spawn(process.execPath, ['dist/src/server.js'], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        PORT: '0',
        HOST: '127.0.0.1',
        COOKIE_SECRET,
        LOG_LEVEL: 'info',
        NODE_ENV: 'production',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the server did not start:\n${output.join('\n')}`)), timeoutMs);
      let buffered = '';
      // The log is read to the end, always: a full pipe would block the server.
      child.stdout?.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) {
          remember(output, line);
          const at = /"msg":"Server listening at (http:\/\/[^"]+)"/.exec(line);
          if (at) {
            clearTimeout(timer);
            resolve(at[1] as string);
          }
        }
      });
      child.stderr?.on('data', (chunk: Buffer) => remember(output, chunk.toString('utf8')));
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`the server exited (${code}) before listening:\n${output.join('\n')}`));
      });
    });
    return new ServerProcess(child, url, exited, output);
  }

  /** The last lines it wrote, for a failure message. */
  get log(): string {
    return this.output.join('\n');
  }

  /** Kills it without warning (SIGKILL: no handler runs, nothing is flushed) and waits until it is gone. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Stops it as an operator would (SIGTERM: it closes the database cleanly). */
  async stop(): Promise<number | null> {
    this.child.kill('SIGTERM');
    return this.exited;
  }
}

function remember(output: string[], line: string) {
  output.push(line);
  if (output.length > 60) output.shift();
}

// --- HTTP ------------------------------------------------------------------------

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  ms: number;
}

/** One request, on a connection of its own from the given loopback address (a household of its own). */
export function send(
  base: string,
  method: 'GET' | 'POST',
  path: string,
  options: {
    cookie?: string;
    form?: Record<string, string | string[]>;
    from?: string;
    timeoutMs?: number;
    /** A keep-alive agent, to send on one open connection as a browser does; a new connection each time without. */
    agent?: Agent;
  } = {},
): Promise<Answer> {
  const url = new URL(path, base);
  const body = options.form ? encodeForm(options.form) : undefined;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method,
        path: url.pathname + url.search,
        agent: options.agent ?? false,
        ...(options.agent ? {} : { localAddress: options.from }),
        timeout: options.timeoutMs ?? 15_000,
        headers: {
          ...(options.cookie ? { cookie: options.cookie } : {}),
          ...(body !== undefined
            ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) }
            : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            ms: performance.now() - started,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

export function encodeForm(fields: Record<string, string | string[]>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) {
    for (const v of Array.isArray(value) ? value : [value]) params.append(name, v);
  }
  return params.toString();
}

/** A random address on the loopback network, so the burst limit sees many households, as in real life. */
export function randomLoopback(): string {
  const octet = () => 1 + Math.floor(Math.random() * 254);
  return `127.${octet()}.${octet()}.${octet()}`;
}

// --- Journeys ----------------------------------------------------------------------

export interface Step {
  page: string;
  fields: Record<string, string | string[]>;
}

/** A way through the survey, and the values it must leave in the database once sent. */
export interface Script {
  name: string;
  steps: Step[];
  values: Record<string, string[]>;
}

const blank = (pages: string[]): Step[] => pages.map((page) => ({ page, fields: {} }));

export const SCRIPTS: Script[] = [
  {
    name: 'every branch',
    steps: [
      { page: 'area', fields: { area: 'gravesham' } },
      { page: 'concern-1', fields: { concern_1: 'asb' } },
      {
        page: 'concern-1-asb',
        fields: { concern_1_top3: ['noisy_rowdy', 'fly_tipping', 'drugs'], concern_1_victim: 'yes' },
      },
      { page: 'concern-1-asb-reported', fields: { concern_1_reported: 'no' } },
      { page: 'concern-2', fields: { concern_2: 'town_centre' } },
      { page: 'concern-2-town-centre', fields: { concern_2_top3: ['robbery'], concern_2_victim: 'no' } },
      { page: 'concern-3', fields: { concern_3: 'substance' } },
      { page: 'concern-3-substance', fields: { concern_3_top3: ['cannabis', 'drug_dealing'] } },
      {
        page: 'about-you',
        fields: { gender: 'female', age: '45_54', ethnicity: 'white_british', disability: 'no' },
      },
      { page: 'postcode', fields: { postcode: 'da12 1au' } },
    ],
    values: {
      area: ['gravesham'],
      concern_1: ['asb'],
      concern_1_top3: ['drugs', 'fly_tipping', 'noisy_rowdy'],
      concern_1_victim: ['yes'],
      concern_1_reported: ['no'],
      concern_2: ['town_centre'],
      concern_2_top3: ['robbery'],
      concern_2_victim: ['no'],
      concern_3: ['substance'],
      concern_3_top3: ['cannabis', 'drug_dealing'],
      gender: ['female'],
      age: ['45_54'],
      ethnicity: ['white_british'],
      disability: ['no'],
      postcode: ['DA12 1'],
    },
  },
  {
    name: 'all blank',
    steps: blank(['area', 'concern-1', 'concern-2', 'concern-3', 'about-you', 'postcode']),
    values: {},
  },
  {
    name: 'violence then property',
    steps: [
      { page: 'area', fields: { area: 'dartford' } },
      { page: 'concern-1', fields: { concern_1: 'violence' } },
      { page: 'concern-1-violence', fields: { concern_1_top3: ['robbery'], concern_1_victim: 'yes' } },
      { page: 'concern-1-violence-reported', fields: { concern_1_reported: 'yes' } },
      { page: 'concern-2', fields: { concern_2: 'property' } },
      { page: 'concern-2-property', fields: { concern_2_top3: ['shoplifting'] } },
      { page: 'concern-3', fields: {} },
      { page: 'about-you', fields: { gender: 'male' } },
      { page: 'postcode', fields: { postcode: 'DA1 1AA' } },
    ],
    values: {
      area: ['dartford'],
      concern_1: ['violence'],
      concern_1_top3: ['robbery'],
      concern_1_victim: ['yes'],
      concern_1_reported: ['yes'],
      concern_2: ['property'],
      concern_2_top3: ['shoplifting'],
      gender: ['male'],
      postcode: ['DA1 1'],
    },
  },
  {
    name: 'postcode withheld',
    steps: [
      ...blank(['area', 'concern-1', 'concern-2', 'concern-3', 'about-you']),
      { page: 'postcode', fields: { 'postcode-prefer-not-to-say': 'prefer_not_to_say' } },
    ],
    values: { postcode: ['prefer_not_to_say'] },
  },
];

/** What the server has acknowledged to one respondent: see Journey. */
export interface JourneyState {
  readonly script: Script;
  readonly tokenHash: string | undefined;
  readonly acknowledged: number;
  readonly submitted: boolean;
  readonly thanked: boolean;
}

/** A copy of a journey's state at this moment. */
export const snapshot = (j: JourneyState): JourneyState => ({
  script: j.script,
  tokenHash: j.tokenHash,
  acknowledged: j.acknowledged,
  submitted: j.submitted,
  thanked: j.thanked,
});

/** Requests cut off by a crash (the connection reset or closed before an answer): evidence the kill hit work in flight. */
export const cutOff = { requests: 0 };

/** The server was not there, or said "try again": the step was not acknowledged and may be repeated. */
export class NotAcknowledged extends Error {}

/**
 * One respondent's journey, over HTTP with a cookie jar and the forms' CSRF
 * token, as a browser without JavaScript would. It remembers what the server
 * acknowledged: the draft (its cookie), each page (303 to the next) and the
 * sending (303 to thank-you), and can carry on after the server comes back.
 */
export class Journey implements JourneyState {
  readonly from = randomLoopback();
  readonly cookies = new Map<string, string>();
  csrf = '';
  /** SHA-256 of the draft token: how the database knows this draft. */
  tokenHash: string | undefined;
  /** Pages acknowledged, in order. */
  acknowledged = 0;
  submitted = false;
  thanked = false;
  /** Requests answered 503 (too busy, or storage unavailable), and the last such answer. */
  refusals = 0;
  lastRefusal: Answer | undefined;

  constructor(
    readonly script: Script,
    readonly base: () => string,
    /** A keep-alive agent (made with this.from as its local address) to reuse one connection, as a browser does. */
    readonly agent?: Agent,
  ) {}

  get cookie(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  get finished(): boolean {
    return this.thanked;
  }

  private async request(method: 'GET' | 'POST', path: string, form?: Record<string, string | string[]>) {
    let res: Answer;
    try {
      res = await send(this.base(), method, path, {
        cookie: this.cookie,
        from: this.from,
        ...(this.agent ? { agent: this.agent } : {}),
        ...(form ? { form: { _csrf: this.csrf, ...form } } : {}),
      });
    } catch (err) {
      if (/socket hang up|ECONNRESET/.test(String(err))) cutOff.requests++;
      throw new NotAcknowledged(String(err));
    }
    this.keep(res);
    if (res.status === 503) {
      this.refusals++;
      this.lastRefusal = res;
      if (!res.headers['retry-after']) throw new Error(`503 without Retry-After on ${method} ${path}`);
      throw new NotAcknowledged(`503 on ${method} ${path}`);
    }
    if (res.status >= 500) throw new Error(`${method} ${path} answered ${res.status}: ${res.body.slice(0, 300)}`);
    return res;
  }

  private keep(res: Answer) {
    const set = res.headers['set-cookie'];
    for (const line of set === undefined ? [] : Array.isArray(set) ? set : [set]) {
      const [pair = '', ...attributes] = line.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      if (value === '' || attributes.some((a) => /expires=thu, 01 jan 1970/i.test(a))) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const token = /name="_csrf" value="([^"]+)"/.exec(res.body);
    if (token) this.csrf = token[1] as string;
  }

  private expectRedirect(res: Answer, to: string, what: string) {
    if (res.status !== 303 || res.headers.location !== `/s/${SLUG}/${to}`)
      throw new Error(
        `${what}: expected 303 to ${to}, got ${res.status} ${res.headers.location ?? res.body.slice(0, 300)}`,
      );
  }

  /**
   * Takes the journey from wherever it stands to the thank-you page (or only
   * until `pages` pages are acknowledged); throws NotAcknowledged if the
   * server fails it.
   */
  async run(options: { doubleSubmit?: boolean; pages?: number } = {}): Promise<void> {
    if (!this.tokenHash) {
      await this.request('GET', `/s/${SLUG}`);
      const started = await this.request('POST', `/s/${SLUG}/start`, {});
      this.expectRedirect(started, 'area', 'start');
      const draft = this.cookies.get('soundings_draft');
      if (!draft) throw new Error('no draft cookie after Start');
      const token = decodeURIComponent(draft).slice(0, decodeURIComponent(draft).lastIndexOf('.'));
      this.tokenHash = createHash('sha256').update(token).digest('hex');
    }
    const steps = this.script.steps;
    // The page a browser would show next, with the form token bound to this draft.
    await this.request('GET', `/s/${SLUG}/${steps[this.acknowledged]?.page ?? 'check-answers'}`);
    const until = Math.min(options.pages ?? steps.length, steps.length);
    while (this.acknowledged < until) {
      const step = steps[this.acknowledged] as Step;
      const next = steps[this.acknowledged + 1]?.page ?? 'check-answers';
      const res = await this.request('POST', `/s/${SLUG}/${step.page}`, step.fields);
      this.expectRedirect(res, next, step.page);
      this.acknowledged++;
    }
    if (this.acknowledged < steps.length) return;
    if (!this.submitted) {
      const sends = options.doubleSubmit ? 2 : 1;
      const results = await Promise.allSettled(
        Array.from({ length: sends }, () => this.request('POST', `/s/${SLUG}/check-answers`, {})),
      );
      const ok = results.find((r): r is PromiseFulfilledResult<Answer> => r.status === 'fulfilled');
      if (!ok) throw (results[0] as PromiseRejectedResult).reason;
      this.expectRedirect(ok.value, 'thank-you', 'send');
      this.submitted = true;
    }
    const thanks = await this.request('GET', `/s/${SLUG}/thank-you`);
    if (thanks.status !== 200 || !thanks.body.includes('Thank you'))
      throw new Error(`thank-you answered ${thanks.status}: ${thanks.body.slice(0, 300)}`);
    this.thanked = true;
  }
}

// --- Checks on the database ----------------------------------------------------------

export interface Findings {
  /** Problems found; each one is a lost, torn or duplicated response, or a damaged database. */
  problems: string[];
  responses: number;
  complete: number;
}

const sortValues = (rows: { question_id: string; value: string }[]) => {
  const out: Record<string, string[]> = {};
  for (const r of rows) out[r.question_id] = [...(out[r.question_id] ?? []), r.value];
  for (const list of Object.values(out)) list.sort();
  return out;
};

const flatten = (values: Values) => {
  const out: Record<string, string[]> = {};
  for (const [id, value] of Object.entries(values)) out[id] = (Array.isArray(value) ? [...value] : [value]).sort();
  return out;
};

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const sortedKeys = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));

/**
 * Checks a database file against what respondents were told, read through a
 * connection of its own (read-only: the server may be running on it):
 * - `PRAGMA integrity_check` is ok;
 * - every acknowledged draft is there, with every acknowledged page; every
 *   response whose sending was acknowledged (or thank-you page served) is
 *   complete, with exactly the values its respondent gave;
 * - no response is torn: the values and pages stored for each one are exactly
 *   those its answers give (one transaction wrote them all, or none);
 * - no response is duplicated: one row per draft token, and every complete
 *   response belongs to a respondent's journey;
 * - the running counts agree with the rows (the report counted either way).
 */
export async function checkDatabase(
  /** The database: an SQLite file (checked for integrity too), or a Postgres URL. */
  databaseUrl: string,
  survey: Survey,
  journeys: readonly JourneyState[],
  options: {
    /** Draft tokens a complete response may belong to (by default, those of `journeys`). */
    owners?: ReadonlySet<string>;
    /** Responses put there otherwise (imported), which belong to no journey. */
    imported?: ReadonlySet<string>;
  } = {},
): Promise<Findings> {
  const connection =
    engineOf(databaseUrl) === 'sqlite'
      ? await openSqliteDatabase(databaseUrl, { readonly: true })
      : await openDatabase(databaseUrl, { migrate: false });
  const { db } = connection;
  const problems: string[] = [];
  try {
    if (connection.engine === 'sqlite') {
      const integrity = connection.sqlite.pragma('integrity_check', { simple: true });
      if (integrity !== 'ok') problems.push(`integrity_check: ${String(integrity)}`);
    }
    const rows = await db.selectFrom('responses').selectAll().where('survey', '=', survey.slug).execute();
    const values = await db.selectFrom('response_values').select(['response_id', 'question_id', 'value']).execute();
    const pages = await db.selectFrom('response_pages').select(['response_id', 'page_id']).execute();
    const valuesOf = new Map<string, { question_id: string; value: string }[]>();
    for (const v of values) valuesOf.set(v.response_id, [...(valuesOf.get(v.response_id) ?? []), v]);
    const pagesOf = new Map<string, string[]>();
    for (const p of pages) pagesOf.set(p.response_id, [...(pagesOf.get(p.response_id) ?? []), p.page_id]);
    const byToken = new Map<string, typeof rows>();
    for (const row of rows) byToken.set(row.draft_token_hash, [...(byToken.get(row.draft_token_hash) ?? []), row]);

    for (const row of rows) {
      const j = journey(survey, JSON.parse(row.answers));
      const stored = sortValues(valuesOf.get(row.id) ?? []);
      if (!same(sortedKeys(stored), sortedKeys(flatten(j.values))))
        problems.push(`torn response ${row.id}: values ${JSON.stringify(stored)} for answers ${row.answers}`);
      const storedPages = [...(pagesOf.get(row.id) ?? [])].sort();
      if (!same(storedPages, Object.keys(j.answers).sort()))
        problems.push(`torn response ${row.id}: pages ${storedPages.join(',')} for answers ${row.answers}`);
    }
    for (const [hash, list] of byToken)
      if (list.length > 1) problems.push(`duplicated draft ${hash}: ${list.length} rows`);
    const owners = options.owners ?? new Set(journeys.map((j) => j.tokenHash).filter(Boolean));
    for (const row of rows)
      if (row.status === 'complete' && !owners.has(row.draft_token_hash) && !options.imported?.has(row.id))
        problems.push(`complete response ${row.id} belongs to no respondent`);

    for (const j of journeys) {
      if (!j.tokenHash) continue;
      const row = byToken.get(j.tokenHash)?.[0];
      if (!row) {
        problems.push(`lost draft (${j.script.name}, ${j.acknowledged} pages acknowledged)`);
        continue;
      }
      const storedPages = new Set(pagesOf.get(row.id) ?? []);
      const ackedPages = j.script.steps.slice(0, j.acknowledged).map((s) => s.page);
      const missing = ackedPages.filter((p) => !storedPages.has(p));
      if (missing.length) problems.push(`lost page answers ${missing.join(',')} of ${row.id} (${j.script.name})`);
      if (j.submitted || j.thanked) {
        if (row.status !== 'complete') problems.push(`lost sending: ${row.id} (${j.script.name}) is ${row.status}`);
        const stored = sortValues(valuesOf.get(row.id) ?? []);
        const expected = Object.fromEntries(Object.entries(j.script.values).map(([k, v]) => [k, [...v].sort()]));
        if (!same(sortedKeys(stored), sortedKeys(expected)))
          problems.push(`wrong values in ${row.id} (${j.script.name}): ${JSON.stringify(stored)}`);
      }
    }

    // Every table of counts, in the views that read each (see cli recount --check).
    const { differ } = await countsDisagreements(db, survey);
    if (differ.length) problems.push(`the running counts disagree with the rows in ${differ.join(', ')}`);
    return { problems, responses: rows.length, complete: rows.filter((r) => r.status === 'complete').length };
  } finally {
    await db.destroy();
  }
}

// --- The table for SECURITY.md ----------------------------------------------------------

export interface FaultRecord {
  fault: string;
  injected: string;
  cycles: number;
  acknowledged: number;
  lost: number;
  notes: string;
}

const RECORD_DIR = join(ROOT, 'test-artifacts', 'faults');

/** Keeps what a fault test injected and found, for the "Faults injected" table (see scripts in SECURITY.md). */
export function recordFault(name: string, record: FaultRecord) {
  mkdirSync(RECORD_DIR, { recursive: true });
  writeFileSync(join(RECORD_DIR, `${name}.json`), `${JSON.stringify(record, null, 2)}\n`);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// --- The app in this process -------------------------------------------------------------

/**
 * The app listening on a port of its own in this process, on a connection the
 * test holds, so that faults can be injected under it. Codes of the storage
 * errors it logged are kept in `storageErrors`.
 */
export async function inProcessServer(connection: SqliteConnection) {
  const storageErrors: string[] = [];
  const app = await buildApp({
    db: connection.db,
    config: testConfig({
      database: { engine: 'sqlite', path: connection.path },
      cookieSecret: COOKIE_SECRET,
      logLevel: 'info',
    }),
    surveys: loadSurveys(),
    logStream: {
      write(line: string) {
        const entry = JSON.parse(line) as { msg?: string; code?: string };
        if (entry.msg === 'storage unavailable' && entry.code) storageErrors.push(entry.code);
      },
    },
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url, storageErrors };
}

/** "SQLITE_FULL ×3, SQLITE_IOERR_WRITE ×1" */
export function tally(codes: string[]): string {
  const counts = new Map<string, number>();
  for (const code of codes) counts.set(code, (counts.get(code) ?? 0) + 1);
  return [...counts].map(([code, n]) => `${code} ×${n}`).join(', ') || 'none';
}

// --- The command line ------------------------------------------------------------------------

/** `npm run -s cli -- …` on a database, as an operator runs it (exit code, standard output and error). */
export function cli(args: string[], databaseUrl: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: databaseUrl, COOKIE_SECRET },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString('utf8');
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
    });
    child.once('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
