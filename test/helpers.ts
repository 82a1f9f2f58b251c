import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { buildApp } from '../src/app.ts';
import type { Config } from '../src/config.ts';
import { connect } from '../src/db/connect.ts';
import type { Database } from '../src/db/schema.ts';
import { defineSurvey, type Survey, type SurveyInput } from '../src/survey/definition.ts';
import { csp2019 } from '../src/survey/definitions/csp-2019.ts';

export const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

export function testConfig(overrides: Partial<Config> = {}): Config {
  return {
    port: 0,
    host: '127.0.0.1',
    databaseUrl: ':memory:',
    publicUrl: 'http://localhost:3000',
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

export interface TestApp {
  app: FastifyInstance;
  db: Kysely<Database>;
  /** A fresh folder removed by close(), for database files and the like. */
  dir: string;
  close: () => Promise<void>;
}

/** Builds the app on a fresh SQLite database in a temporary folder. */
export async function makeApp(
  options: { surveys?: Survey[]; now?: () => Date; config?: Partial<Config>; logStream?: { write(line: string): void } } = {},
): Promise<TestApp> {
  const dir = mkdtempSync(join(tmpdir(), 'soundings-test-'));
  const databaseUrl = join(dir, 'test.sqlite');
  const db = await connect(databaseUrl);
  const app = await buildApp({
    db,
    config: testConfig({ databaseUrl, ...options.config }),
    surveys: options.surveys ?? [cspSurvey()],
    ...(options.now ? { now: options.now } : {}),
    ...(options.logStream ? { logStream: options.logStream } : {}),
  });
  return {
    app,
    db,
    dir,
    close: async () => {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Encodes form fields as a browser would (repeated names for several ticks). */
export function form(fields: Record<string, string | string[]>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) {
    for (const v of Array.isArray(value) ? value : [value]) params.append(name, v);
  }
  return params.toString();
}

/** A respondent driving the app through inject, keeping their draft cookie. */
export class Respondent {
  cookie = '';
  constructor(
    readonly app: FastifyInstance,
    readonly slug = 'csp-2019',
  ) {}

  async start(src?: string) {
    const res = await this.app.inject({
      method: 'POST',
      url: `/s/${this.slug}/start`,
      headers: { ...FORM, ...(this.cookie ? { cookie: this.cookie } : {}) },
      payload: form(src ? { src } : {}),
    });
    const set = res.headers['set-cookie'];
    if (set) this.cookie = String(Array.isArray(set) ? set[0] : set).split(';')[0] as string;
    return res;
  }

  get(path: string) {
    return this.app.inject({ method: 'GET', url: `/s/${this.slug}/${path}`, headers: { cookie: this.cookie } });
  }

  post(path: string, fields: Record<string, string | string[]> = {}) {
    return this.app.inject({
      method: 'POST',
      url: `/s/${this.slug}/${path}`,
      headers: { ...FORM, cookie: this.cookie },
      payload: form(fields),
    });
  }

  /** Posts a page and returns the page id it redirects to. */
  async answer(page: string, fields: Record<string, string | string[]> = {}): Promise<string> {
    const res = await this.post(page, fields);
    if (res.statusCode !== 303) throw new Error(`POST ${page} answered ${res.statusCode}: ${res.body.slice(0, 500)}`);
    return String(res.headers.location).split('/').pop()?.split('?')[0] as string;
  }
}
