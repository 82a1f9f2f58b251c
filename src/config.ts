import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { engineOf, sqlitePath } from './db/connect.ts';

/**
 * Drafts untouched for this many days are erased. 90 matches the draft
 * cookie's lifetime: by then nobody can come back to one.
 */
export const DEFAULT_DRAFT_RETENTION_DAYS = 90;

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('localhost'),
  DATABASE_URL: z.string().min(1).default('./data/soundings.sqlite'),
  PUBLIC_URL: z.url().optional(),
  COOKIE_SECRET: z.string().min(32, 'COOKIE_SECRET must be at least 32 characters').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRUST_PROXY: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
  STATEMENTS_FILE: z.string().min(1).optional(),
  CHROMIUM_PATH: z.string().optional(),
  DRAFT_RETENTION_DAYS: z
    .union([z.literal('off'), z.coerce.number().int().min(1).max(36500)])
    .default(DEFAULT_DRAFT_RETENTION_DAYS),
});

export interface Config {
  port: number;
  host: string;
  databaseUrl: string;
  /** The address residents use, without a trailing slash: share links, canonical URLs, Secure cookies. */
  publicUrl: string;
  /**
   * Signs cookies and form tokens. Unset on PostgreSQL without COOKIE_SECRET:
   * then the app instances share one kept in the database (see sharedSecret).
   */
  cookieSecret?: string;
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  /** Behind a reverse proxy that sets X-Forwarded-Proto. */
  trustProxy: boolean;
  /** The privacy notice, accessibility statement and contact details (JSON); config/statements.json when unset. */
  statementsFile?: string;
  /** Chromium, for the questionnaire's PDF; '' turns PDFs off. /usr/bin/chromium when unset. */
  chromiumPath?: string;
  /**
   * Drafts (partial responses) not changed for this many days are erased
   * automatically (DEFAULT_DRAFT_RETENTION_DAYS when unset); null: never.
   */
  draftRetentionDays?: number | null;
}

/** Reads the environment into a typed config; every setting has a default that runs out of the box. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Configuration is not valid:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    ...(e.COOKIE_SECRET
      ? { cookieSecret: e.COOKIE_SECRET }
      : engineOf(e.DATABASE_URL) === 'sqlite'
        ? { cookieSecret: keptSecret(e.DATABASE_URL) }
        : {}),
    logLevel: e.LOG_LEVEL,
    trustProxy: e.TRUST_PROXY,
    ...(e.STATEMENTS_FILE ? { statementsFile: e.STATEMENTS_FILE } : {}),
    ...(e.CHROMIUM_PATH !== undefined ? { chromiumPath: e.CHROMIUM_PATH } : {}),
    draftRetentionDays: e.DRAFT_RETENTION_DAYS === 'off' ? null : e.DRAFT_RETENTION_DAYS,
  };
}

/** A secret generated once and kept beside the SQLite database, readable by its owner only. */
function keptSecret(databaseUrl: string): string {
  const path = sqlitePath(databaseUrl);
  const dir = path === ':memory:' ? join(process.cwd(), 'data') : dirname(path);
  const file = join(dir, 'cookie-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  // Written whole under a temporary name, then linked into place: the link fails if another
  // process on the same database (a second instance, the command line) got there first, and
  // then theirs is used. Nobody ever reads a half-written file.
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(temporary, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(temporary, file);
    return secret;
  } catch (err) {
    if ((err as { code?: unknown }).code === 'EEXIST') return readFileSync(file, 'utf8').trim();
    throw err;
  } finally {
    rmSync(temporary, { force: true });
  }
}
