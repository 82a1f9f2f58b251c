import { createHmac } from 'node:crypto';
import fastifyCsrfProtection from '@fastify/csrf-protection';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import {
  createSession,
  DEFAULT_SESSION_LIMITS,
  deleteExpiredSessions,
  deleteSession,
  findSession,
  hashSessionToken,
  newSessionToken,
  type SessionLimits,
  sessionExpired,
  touchSession,
} from '../../admin/sessions.ts';
import { csrfUserInfo, rememberSession, renderAdminError, sessionHashOf } from './access.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A multipart form whose handler reads its token itself, before the file (see formTokenValid). */
    uploadForm?: boolean;
  }
}

export const SESSION_COOKIE = 'soundings_admin';
export const CSRF_COOKIE = 'soundings_admin_csrf';
const COOKIE_PATH = '/admin';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface SessionOptions {
  sessionLimits?: Partial<SessionLimits>;
  now: () => Date;
  publicUrl: string;
  cookieSecret: string;
}

/** What the admin routes share about sessions: starting and ending one, and the CSRF check of their forms. */
export type AdminSessions = Awaited<ReturnType<typeof adminSessions>>;

/**
 * Registers, in the /admin scope, the CSRF protection of every admin form
 * (bound to the session) and the hook that finds the signed-in admin from the
 * session cookie, ending a stale, forged or disabled one.
 */
export async function adminSessions(app: FastifyInstance, opts: SessionOptions) {
  /** Tokens read from an upload's first part, which is not a parsed body (see formTokenValid). */
  const uploadTokens = new WeakMap<FastifyRequest, string | undefined>();
  const limits: SessionLimits = { ...DEFAULT_SESSION_LIMITS, ...opts.sessionLimits };
  const secure = opts.publicUrl.startsWith('https:');
  const sessionCookie = { path: COOKIE_PATH, httpOnly: true, sameSite: 'strict', secure, signed: true } as const;

  await app.register(fastifyCsrfProtection, {
    cookieKey: CSRF_COOKIE,
    cookieOpts: { ...sessionCookie },
    // Bound to the session: a token from one session (or from before sign-in) fails in another.
    csrfOpts: { hmacKey: createHmac('sha256', opts.cookieSecret).update('soundings admin csrf').digest() },
    getUserInfo: csrfUserInfo,
    getToken: (request) => {
      if (uploadTokens.has(request)) return uploadTokens.get(request);
      const token = (request.body as Record<string, unknown> | undefined)?._csrf;
      return typeof token === 'string' ? token : undefined;
    },
  });

  app.decorateRequest('admin', null);

  app.addHook('onRequest', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
  });

  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    if (error.code === 'FST_CSRF_MISSING_SECRET' || error.code === 'FST_CSRF_INVALID_TOKEN') {
      request.log.info({ code: error.code }, 'admin form refused');
      return renderAdminError(
        request,
        reply,
        403,
        'This form could not be accepted',
        'Nothing was changed. The form had expired or did not come from this service: go back, reload the page and try again.',
      );
    }
    throw error;
  });

  const clearSessionCookie = (reply: FastifyReply) => reply.clearCookie(SESSION_COOKIE, { path: COOKIE_PATH });

  // On arrival, before any body is read, so later onRequest hooks can turn strangers away.
  app.addHook('onRequest', async (request, reply) => {
    const raw = request.cookies[SESSION_COOKIE];
    if (!raw) return;
    const unsigned = request.unsignCookie(raw);
    if (!unsigned.valid || !unsigned.value) {
      clearSessionCookie(reply);
      return;
    }
    const tokenHash = hashSessionToken(unsigned.value);
    const session = await findSession(app.db, tokenHash);
    const now = opts.now();
    if (!session || session.disabled_at || sessionExpired(session, now, limits)) {
      if (session) await deleteSession(app.db, tokenHash);
      clearSessionCookie(reply);
      return;
    }
    await touchSession(app.db, tokenHash, now);
    request.admin = { id: session.account_id, email: session.email, role: session.role };
    rememberSession(request, tokenHash);
  });

  /** preHandler: the CSRF check of a form (reads pass). */
  const checkCsrf = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    if (SAFE_METHODS.has(request.method) || request.routeOptions.config.uploadForm) return done();
    app.csrfProtection(request, reply, done);
  };

  /**
   * The same CSRF check for a token read by hand (an upload's first field, so
   * nothing else of the body is read before it). When it fails, the 403 page
   * is being sent and the handler must return the reply.
   */
  const formTokenValid = (request: FastifyRequest, reply: FastifyReply, token: string | undefined): boolean => {
    uploadTokens.set(request, token);
    let valid = false;
    app.csrfProtection(request, reply, () => {
      valid = true;
    });
    return valid;
  };

  /** Starts a new session (a new token every time: the old one, if any, is ended) and sets its cookie. */
  const startSession = async (request: FastifyRequest, reply: FastifyReply, accountId: string) => {
    const now = opts.now();
    const previous = sessionHashOf(request);
    if (previous) await deleteSession(app.db, previous);
    await deleteExpiredSessions(app.db, now, limits);
    const { token, hash } = newSessionToken();
    await createSession(app.db, { tokenHash: hash, accountId, now });
    reply.setCookie(SESSION_COOKIE, token, sessionCookie);
    // A new CSRF secret comes with the next page.
    reply.clearCookie(CSRF_COOKIE, { path: COOKIE_PATH });
  };

  /** Ends the request's session, if any, and clears both cookies. */
  const endSession = async (request: FastifyRequest, reply: FastifyReply) => {
    const tokenHash = sessionHashOf(request);
    if (tokenHash) await deleteSession(app.db, tokenHash);
    clearSessionCookie(reply);
    reply.clearCookie(CSRF_COOKIE, { path: COOKIE_PATH });
    return tokenHash !== undefined;
  };

  return { checkCsrf, formTokenValid, startSession, endSession };
}
