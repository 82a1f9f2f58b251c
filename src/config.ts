import { isIP } from 'node:net';
import { z } from 'zod';
import { type DatabaseConfig, DEFAULT_PG_POOL_SIZE, parseDatabaseUrl } from './db/url.ts';

/**
 * Drafts untouched for this many days are erased. 90 matches the draft
 * cookie's lifetime: by then nobody can come back to one.
 */
export const DEFAULT_DRAFT_RETENTION_DAYS = 90;

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('localhost'),
  DATABASE_URL: z.string().min(1).default('./data/soundings.sqlite'),
  PG_POOL_SIZE: z.coerce.number().int().min(1).max(1000).default(DEFAULT_PG_POOL_SIZE),
  PUBLIC_URL: z.url().optional(),
  COOKIE_SECRET: z.string().min(32, 'COOKIE_SECRET must be at least 32 characters').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRUST_PROXY: z
    .string()
    .optional()
    .transform((value, ctx) => {
      const parsed = parseTrustProxy(value);
      if (typeof parsed === 'string') {
        ctx.addIssue({ code: 'custom', message: parsed });
        return z.NEVER;
      }
      return parsed;
    }),
  STATEMENTS_FILE: z.string().min(1).optional(),
  CHROMIUM_PATH: z.string().optional(),
  NODE_ENV: z.string().optional(),
  DRAFT_RETENTION_DAYS: z
    .union([z.literal('off'), z.coerce.number().int().min(1).max(36500)])
    .default(DEFAULT_DRAFT_RETENTION_DAYS),
  INDEX_START_PAGE: z
    .enum(['true', 'false', '1', '0'])
    .default('true')
    .transform((v) => v === 'true' || v === '1'),
});

/**
 * Which proxies' X-Forwarded-For and X-Forwarded-Proto entries are believed:
 * none (false), those of the last `n` hops in front of the app (a number), or
 * those of the listed addresses and CIDR ranges.
 */
export type TrustProxy = false | number | string[];

const TRUST_PROXY_ADVICE =
  'write the number of proxies in front of the app (TRUST_PROXY=1 behind one nginx or load balancer) or their addresses (TRUST_PROXY=10.0.0.0/8 or TRUST_PROXY=10.0.0.5,10.0.0.6)';

/** TRUST_PROXY's value, or what is wrong with it. */
function parseTrustProxy(value: string | undefined): TrustProxy | string {
  const text = (value ?? '').trim();
  if (text === '' || text === '0' || text.toLowerCase() === 'false') return false;
  if (/^(true|yes|on)$/i.test(text))
    return `"${text}" is no longer accepted: it believed any address a client wrote in X-Forwarded-For, so anyone could pose as any client and escape the burst and sign-in limits; ${TRUST_PROXY_ADVICE}`;
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    return hops <= 100 ? hops : `${text} is more proxies than any deployment has; ${TRUST_PROXY_ADVICE}`;
  }
  const entries = text.split(',').map((entry) => entry.trim());
  const bad = entries.filter((entry) => !isAddressOrRange(entry));
  if (bad.length)
    return `not an IP address or CIDR range (a range of every address is refused too): ${bad.map((b) => `"${b}"`).join(', ')}; ${TRUST_PROXY_ADVICE}`;
  return entries;
}

/** An IP address, or an address with a prefix length that is not the whole internet. */
function isAddressOrRange(entry: string): boolean {
  const [address = '', prefix, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  const bits = Number(prefix);
  return bits >= 1 && bits <= (version === 4 ? 32 : 128);
}

export interface Config {
  port: number;
  host: string;
  /** DATABASE_URL (and PG_POOL_SIZE), parsed: the only place they are read. */
  database: DatabaseConfig;
  /** The address residents use, without a trailing slash: share links, canonical URLs, Secure cookies. */
  publicUrl: string;
  /** Whether PUBLIC_URL was set; when not, links and QR codes point at localhost, and the pages that make them say so. */
  publicUrlSet: boolean;
  /** Whether search engines may index an open survey's start page (every other page is noindex). */
  indexStartPage: boolean;
  /** COOKIE_SECRET; when unset, one kept beside the SQLite file or in the database (see db/secrets.ts). */
  cookieSecret?: string;
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  /** Which X-Forwarded-* entries to believe: none, those of this many proxies in front, or those of these proxies. */
  trustProxy: TrustProxy;
  /** The privacy notice, accessibility statement and contact details (JSON); config/statements.json when unset. */
  statementsFile?: string;
  /** Chromium, for the questionnaire's PDF; '' turns PDFs off. /usr/bin/chromium when unset. */
  chromiumPath?: string;
  /** Drafts not changed for this many days are erased (DEFAULT_DRAFT_RETENTION_DAYS when unset); null: never. */
  draftRetentionDays?: number | null;
  /** Templates are read once and kept, unless NODE_ENV=development (edits show at once). */
  cacheViews?: boolean;
}

/** Reads the environment into a typed config, writing nothing; every setting has a default that runs out of the box. */
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
    database: parseDatabaseUrl(e.DATABASE_URL, e.PG_POOL_SIZE),
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    publicUrlSet: e.PUBLIC_URL !== undefined,
    indexStartPage: e.INDEX_START_PAGE,
    ...(e.COOKIE_SECRET ? { cookieSecret: e.COOKIE_SECRET } : {}),
    logLevel: e.LOG_LEVEL,
    trustProxy: e.TRUST_PROXY,
    ...(e.STATEMENTS_FILE ? { statementsFile: e.STATEMENTS_FILE } : {}),
    ...(e.CHROMIUM_PATH !== undefined ? { chromiumPath: e.CHROMIUM_PATH } : {}),
    draftRetentionDays: e.DRAFT_RETENTION_DAYS === 'off' ? null : e.DRAFT_RETENTION_DAYS,
    cacheViews: e.NODE_ENV !== 'development',
  };
}
