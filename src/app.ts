import { join } from 'node:path';
import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { Config, TrustProxy } from './config.ts';
import type { Database } from './db/schema.ts';
import { cookieSecretFor } from './db/secrets.ts';
import type { DatabaseConfig } from './db/url.ts';
import databasePlugin from './plugins/database.ts';
import errorsPlugin, { routerErrors } from './plugins/errors.ts';
import overloadPlugin, { type OverloadSettings } from './plugins/overload.ts';
import securityPlugin, { securityHeaders } from './plugins/security.ts';
import surveysPlugin from './plugins/surveys.ts';
import viewsPlugin from './plugins/views.ts';
import { appRoot } from './root.ts';
import adminRoutes, { type AdminSettings } from './routes/admin/index.ts';
import publicPages from './routes/public-pages.ts';
import type { RespondentGuardSettings } from './routes/respondent/guards.ts';
import respondentRoutes from './routes/respondent/index.ts';
import { loadStatements } from './statements.ts';
import type { Survey } from './survey/definition.ts';

export interface AppOptions {
  db: Kysely<Database>;
  config: Config;
  /** The shipped surveys: each is stored on first start, unless the database holds that slug already. */
  surveys: Survey[];
  /** How often the stored definitions are read again (see surveys/registry.ts). */
  surveyRefreshMs?: number;
  /** The clock, replaceable in tests (open and close dates, timestamps). */
  now?: () => Date;
  /** Where the JSON log goes (standard output by default); tests read it to check what is logged. */
  logStream?: { write(line: string): void };
  /** Admin session limits, password hashing costs, sign-in limits, where the setup link is printed. */
  admin?: Partial<AdminSettings>;
  /** The respondent's anti-ballot-stuffing settings: minimum time to complete, burst limit on new drafts. */
  respondent?: Partial<RespondentGuardSettings>;
  /** Load shedding (a fast 503 page instead of a queue): server.ts turns it on; off when absent, as in tests. */
  overload?: Partial<OverloadSettings>;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** config.publicUrl: the only source of absolute links (share links, canonical URLs), never the Host header. */
    publicUrl: string;
    /** config.publicUrlSet: false when links and QR codes point at localhost, which the pages making them say loudly. */
    publicUrlSet: boolean;
    /** config.database: exports open it again, read-only, in their own worker thread. */
    database: DatabaseConfig;
  }
}

/** Form posts are small: the largest page (About you) is well under 2 KB. */
export const FORM_BODY_LIMIT = 16 * 1024;

/** The path as the request log keeps it: no query, and the first-run setup link's token left out. */
export function loggedPath(url: string): string {
  return (url.split('?')[0] ?? '').replace(/^\/+admin\/+setup\/.*/i, '/admin/setup/[token]');
}

/**
 * The request log keeps the method, path and status only. Fastify's default
 * includes the client's IP address and port, and headers may carry a user
 * agent: neither may be recorded, by our promise of anonymity.
 */
export const anonymousSerializers = {
  req: (request: { method: string; url: string }) => ({ method: request.method, url: loggedPath(request.url) }),
  res: (reply: { statusCode: number }) => ({ statusCode: reply.statusCode }),
};

/**
 * TRUST_PROXY as Fastify's trustProxy. A hop count is given as a function:
 * Fastify takes a bare number to mean "trust nothing", since a count believes
 * whoever connects (see SECURITY.md, Deployment assumptions).
 */
export function fastifyTrustProxy(trust: TrustProxy): false | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  return trust;
}

/** Builds the application (the composition root); it never listens: see server.ts. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config } = options;
  // First: a broken statements file stops start-up with its problems, before the database is touched.
  const statements = loadStatements(config.statementsFile);
  const cookieSecret = await cookieSecretFor(config.cookieSecret, config.database, options.db);
  const app: FastifyInstance = Fastify({
    logger: {
      level: config.logLevel,
      serializers: anonymousSerializers,
      base: { pid: process.pid },
      ...(options.logStream ? { stream: options.logStream } : {}),
    },
    trustProxy: fastifyTrustProxy(config.trustProxy),
    bodyLimit: FORM_BODY_LIMIT,
    // Our request ids are counters, never derived from the client.
    requestIdHeader: false,
    frameworkErrors: routerErrors(() => app, securityHeaders(config.publicUrl)),
  });
  // Only web forms are accepted: no JSON or text bodies reach the handlers.
  app.removeAllContentTypeParsers();
  await app.register(fastifyFormbody, { bodyLimit: FORM_BODY_LIMIT });
  await app.register(fastifyCookie, { secret: cookieSecret });
  await app.register(databasePlugin, { db: options.db });
  await app.register(surveysPlugin, {
    shipped: options.surveys,
    now: options.now ?? (() => new Date()),
    ...(options.surveyRefreshMs ? { refreshMs: options.surveyRefreshMs } : {}),
  });
  await app.register(viewsPlugin, { cache: config.cacheViews ?? true });
  await app.register(errorsPlugin);
  if (options.overload) await app.register(overloadPlugin, options.overload);
  await app.register(securityPlugin, { publicUrl: config.publicUrl, trustProxy: config.trustProxy });
  await app.register(fastifyStatic, {
    root: join(appRoot, 'public'),
    prefix: '/public/',
    index: false,
    maxAge: '1h',
  });
  app.decorate('publicUrl', config.publicUrl);
  app.decorate('publicUrlSet', config.publicUrlSet);
  app.decorate('database', { getter: () => config.database });
  await app.register(publicPages, { config, statements, now: options.now ?? (() => new Date()) });
  await app.register(respondentRoutes, {
    now: options.now ?? (() => new Date()),
    secureCookies: config.publicUrl.startsWith('https:'),
    cookieSecret,
    draftRetentionDays: config.draftRetentionDays,
    indexStartPage: config.indexStartPage,
    ...options.respondent,
  });
  await app.register(adminRoutes, {
    prefix: '/admin',
    now: options.now ?? (() => new Date()),
    publicUrl: config.publicUrl,
    cookieSecret,
    ...options.admin,
  });
  return app;
}
