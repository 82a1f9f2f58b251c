import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fastifyCsrfProtection from '@fastify/csrf-protection';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import {
  countAccounts,
  createFirstAdmin,
  emailProblem,
  findAccountByEmail,
  hashPassword,
  lockAccount,
  normaliseEmail,
  OWASP_HASHING,
  type PasswordHashing,
  passwordProblem,
  recordFailedLogin,
  recordSuccessfulLogin,
  unmatchableHash,
  verifyPassword,
} from '../../admin/accounts.ts';
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
import { type ClientLimit, LoginThrottle, lockDuration, minutesToWait } from '../../admin/throttle.ts';
import { scheduleOf } from '../../responses/schedules.ts';
import type { Survey } from '../../survey/definition.ts';
import { formatWhen, surveyState } from '../../survey/schedule.ts';
import { adminView, csrfUserInfo, rememberSession, renderAdminError, requireAdmin, sessionHashOf } from './access.ts';
import accountRoutes from './accounts.ts';
import analysisRoutes from './analysis.ts';
import { errorFor, type FieldError, formFields } from './forms.ts';
import paperRoutes from './paper.ts';
import shareRoutes from './share.ts';

export { type AdminIdentity, adminView, renderAdminError, requireAdmin, signedIn } from './access.ts';

/** Settings of the admin side that tests (or a deployment) may change. */
export interface AdminSettings {
  /** Idle and absolute session limits (30 minutes idle, 12 hours in all by default). */
  sessionLimits: Partial<SessionLimits>;
  /** Argon2id costs for new password hashes (OWASP's by default); tests use cheaper ones. */
  passwordHashing: PasswordHashing;
  /** Failed sign-ins allowed per client in a window. */
  clientLimit: ClientLimit;
  /** Where the first-run setup link is printed besides the log (server.ts: the console). */
  announce: (line: string) => void;
}

export interface AdminRouteOptions extends Partial<AdminSettings> {
  surveys: Survey[];
  now: () => Date;
  /** config.publicUrl: the only source of absolute links (never the Host header). */
  publicUrl: string;
  cookieSecret: string;
}

export const SESSION_COOKIE = 'soundings_admin';
export const CSRF_COOKIE = 'soundings_admin_csrf';
const COOKIE_PATH = '/admin';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const WRONG_CREDENTIALS = 'Email address or password is not correct';

/** Where to go after signing in: an /admin page of ours, never anywhere else. */
export function safeNext(value: unknown): string {
  if (typeof value !== 'string') return '/admin';
  if (!/^\/admin(\/[A-Za-z0-9_\-/]*)?$/.test(value) || value.includes('//')) return '/admin';
  if (/^\/admin\/(login|logout|setup)(\/|$)/.test(value)) return '/admin';
  return value;
}

function sameToken(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/**
 * Everything under /admin: sign-in, sign-out and first-run setup in the open;
 * the dashboard, accounts and analysis behind the session check.
 */
export default async function adminRoutes(app: FastifyInstance, opts: AdminRouteOptions) {
  const limits: SessionLimits = { ...DEFAULT_SESSION_LIMITS, ...opts.sessionLimits };
  const hashing = opts.passwordHashing ?? OWASP_HASHING;
  const announce = opts.announce ?? (() => {});
  const secure = opts.publicUrl.startsWith('https:');
  const throttle = new LoginThrottle(opts.clientLimit);
  // An unknown email address is checked against this hash, so that it takes as
  // long to refuse as a wrong password does.
  const dummyHash = unmatchableHash(hashing);
  const sessionCookie = { path: COOKIE_PATH, httpOnly: true, sameSite: 'strict', secure, signed: true } as const;

  await app.register(fastifyCsrfProtection, {
    cookieKey: CSRF_COOKIE,
    cookieOpts: { ...sessionCookie },
    // Tokens are bound to the session, so a token from one session (or from before sign-in) fails in another.
    csrfOpts: {
      userInfo: true,
      hmacKey: createHmac('sha256', opts.cookieSecret).update('soundings admin csrf').digest(),
    },
    getUserInfo: csrfUserInfo,
    getToken: (request) => {
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
    // Anything else is for the application's error handler.
    throw error;
  });

  const clearSessionCookie = (reply: FastifyReply) => reply.clearCookie(SESSION_COOKIE, { path: COOKIE_PATH });

  /** Finds the session from its cookie; ends it (and clears the cookie) when it is stale, forged or its account disabled. */
  app.addHook('preHandler', async (request, reply) => {
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

  const checkCsrf = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    if (SAFE_METHODS.has(request.method)) return done();
    app.csrfProtection(request, reply, done);
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

  // First run: with no account at all, a one-time link to create the first admin.
  let setupToken: string | null = null;
  if ((await countAccounts(app.db)) === 0) {
    setupToken = randomBytes(32).toString('base64url');
    const link = `${opts.publicUrl}/admin/setup/${setupToken}`;
    app.log.warn(`No admin account yet: open ${link} to create the first one (the link works once)`);
    announce(
      `\nSoundings has no admin account yet. To create the first one, open this link (it works once):\n\n  ${link}\n\nOr run: npm run -s cli -- admin create --email you@council.gov.uk --role admin\n`,
    );
  }

  /** The setup link works while it is unused and there is still no account (one may come from the CLI). */
  const setupOpen = async (token: string) => {
    if (setupToken === null || !sameToken(token, setupToken)) return false;
    if ((await countAccounts(app.db)) > 0) {
      setupToken = null;
      return false;
    }
    return true;
  };

  const setupNotValid = (request: FastifyRequest, reply: FastifyReply) =>
    renderAdminError(
      request,
      reply,
      404,
      'This setup link is not valid',
      'A setup link works once, and only while there is no admin account. Sign in, or ask an admin for an account.',
    );

  // Sign-out works without a valid session (there is nothing to protect then).
  app.post(
    '/logout',
    { preHandler: (request, reply, done) => (request.admin ? checkCsrf(request, reply, done) : done()) },
    async (request, reply) => {
      const tokenHash = sessionHashOf(request);
      if (tokenHash) {
        await deleteSession(app.db, tokenHash);
        request.log.info({ account: request.admin?.id }, 'admin signed out');
      }
      clearSessionCookie(reply);
      reply.clearCookie(CSRF_COOKIE, { path: COOKIE_PATH });
      return reply.redirect('/admin/login?signed-out=yes', 303);
    },
  );

  // In the open: sign-in and first-run setup.
  await app.register(async (open) => {
    open.addHook('preHandler', checkCsrf);

    type LoginQuery = { Querystring: { next?: string; 'signed-out'?: string } };

    const loginPage = async (
      request: FastifyRequest,
      reply: FastifyReply,
      view: { email: string; next: string; errors: FieldError[]; notice?: string },
      status = 200,
    ) =>
      adminView(
        request,
        reply,
        'admin/login.eta',
        {
          title: `${view.errors.length ? 'Error: ' : ''}Sign in – Soundings admin`,
          ...view,
          error: errorFor(view.errors),
          noAccounts: (await countAccounts(app.db)) === 0,
        },
        status,
      );

    const tooMany = (request: FastifyRequest, reply: FastifyReply, email: string, next: string, waitMs: number) => {
      const minutes = minutesToWait(waitMs);
      reply.header('retry-after', String(Math.ceil(waitMs / 1000)));
      return loginPage(
        request,
        reply,
        {
          email,
          next,
          errors: [
            {
              field: 'email',
              message: `There have been too many attempts to sign in. Wait ${minutes} minute${minutes === 1 ? '' : 's'}, then try again`,
            },
          ],
        },
        429,
      );
    };

    open.get<LoginQuery>('/login', async (request, reply) => {
      const next = safeNext(request.query.next);
      if (request.admin) return reply.redirect(next, 303);
      return loginPage(request, reply, {
        email: '',
        next,
        errors: [],
        ...(request.query['signed-out'] === 'yes' ? { notice: 'You have signed out.' } : {}),
      });
    });

    open.post('/login', async (request, reply) => {
      const body = formFields(request.body);
      const email = normaliseEmail(body.email ?? '');
      const password = body.password ?? '';
      const next = safeNext(body.next);
      const errors: FieldError[] = [];
      if (!email) errors.push({ field: 'email', message: 'Enter your email address' });
      if (!password) errors.push({ field: 'password', message: 'Enter your password' });
      if (errors.length) return loginPage(request, reply, { email, next, errors }, 422);

      const now = opts.now();
      const clientWait = throttle.clientWait(request.ip, now);
      if (clientWait) return tooMany(request, reply, email, next, clientWait);
      const account = await findAccountByEmail(app.db, email);
      const lockWait = account
        ? Math.max(0, (account.locked_until ? Date.parse(account.locked_until) : 0) - now.getTime())
        : throttle.unknownEmailWait(email, now);
      if (lockWait) return tooMany(request, reply, email, next, lockWait);

      // Unknown address, wrong password and disabled account take the same time and get the same answer.
      const matches = await verifyPassword(account ? account.password_hash : dummyHash, password);
      if (!account || !matches || account.disabled_at) {
        throttle.clientFailed(request.ip, now);
        if (account) {
          const lock = lockDuration(await recordFailedLogin(app.db, account.id));
          if (lock) await lockAccount(app.db, account.id, new Date(now.getTime() + lock));
        } else {
          throttle.unknownEmailFailed(email, now);
        }
        return loginPage(
          request,
          reply,
          { email, next, errors: [{ field: 'email', message: WRONG_CREDENTIALS }] },
          422,
        );
      }
      await recordSuccessfulLogin(app.db, account.id);
      await startSession(request, reply, account.id);
      request.log.info({ account: account.id }, 'admin signed in');
      return reply.redirect(next, 303);
    });

    type SetupParams = { Params: { token: string } };

    const setupPage = (
      request: FastifyRequest<SetupParams>,
      reply: FastifyReply,
      view: { email: string; errors: FieldError[] },
      status = 200,
    ) =>
      adminView(
        request,
        reply,
        'admin/setup.eta',
        {
          title: `${view.errors.length ? 'Error: ' : ''}Create the first admin account – Soundings admin`,
          action: `/admin/setup/${encodeURIComponent(request.params.token)}`,
          ...view,
          error: errorFor(view.errors),
        },
        status,
      );

    open.get<SetupParams>('/setup/:token', async (request, reply) => {
      if (!(await setupOpen(request.params.token))) return setupNotValid(request, reply);
      return setupPage(request, reply, { email: '', errors: [] });
    });

    open.post<SetupParams>('/setup/:token', async (request, reply) => {
      if (!(await setupOpen(request.params.token))) return setupNotValid(request, reply);
      const body = formFields(request.body);
      const email = normaliseEmail(body.email ?? '');
      const password = body.password ?? '';
      const errors: FieldError[] = [];
      const emailError = emailProblem(email);
      if (emailError) errors.push({ field: 'email', message: emailError });
      const passwordError = passwordProblem(password);
      if (passwordError) errors.push({ field: 'password', message: passwordError });
      if (errors.length) return setupPage(request, reply, { email, errors }, 422);

      // Single use: claimed before the slow hash, so a second request at the same moment finds it gone.
      const claimed = setupToken;
      setupToken = null;
      let id: string | undefined;
      try {
        id = await createFirstAdmin(app.db, {
          email,
          passwordHash: await hashPassword(password, hashing),
          now: opts.now(),
        });
      } catch (err) {
        setupToken = claimed;
        throw err;
      }
      if (!id) return setupNotValid(request, reply);
      request.log.warn({ account: id }, 'first admin account created');
      await startSession(request, reply, id);
      return reply.redirect('/admin', 303);
    });
  });

  // Behind the session check: everything else.
  await app.register(async (guarded) => {
    guarded.addHook('preHandler', async (request, reply) => {
      if (request.admin) return;
      if (request.method === 'GET' || request.method === 'HEAD') {
        const path = (request.url.split('?')[0] ?? '').replace(/\/+$/, '');
        const next = safeNext(path);
        return reply.redirect(
          next === '/admin' ? '/admin/login' : `/admin/login?next=${encodeURIComponent(next)}`,
          303,
        );
      }
      await renderAdminError(
        request,
        reply,
        403,
        'You are not signed in',
        'Nothing was changed. Your session may have ended after a time without activity: sign in, then try again.',
      );
      return reply;
    });
    guarded.addHook('preHandler', checkCsrf);

    guarded.setNotFoundHandler(async (request, reply) =>
      renderAdminError(request, reply, 404, 'Page not found', 'If you typed the web address, check it is correct.'),
    );

    guarded.get('/', async (request, reply) => {
      const now = opts.now();
      return adminView(request, reply, 'admin/dashboard.eta', {
        title: 'Surveys – Soundings admin',
        nav: 'surveys',
        surveys: (
          await Promise.all(opts.surveys.map(async (survey) => [survey, await scheduleOf(app.db, survey)] as const))
        ).map(([survey, schedule]) => {
          const state = surveyState(schedule, now);
          return {
            title: survey.title,
            owner: survey.owner,
            href: `/admin/surveys/${survey.slug}`,
            status: state.open
              ? 'Open'
              : state.reason === 'closed'
                ? `Closed on ${formatWhen(state.at)}`
                : `Opens on ${formatWhen(state.at)}`,
          };
        }),
      });
    });

    await guarded.register(async (adminOnly) => {
      adminOnly.addHook('preHandler', requireAdmin);
      await adminOnly.register(accountRoutes, { now: opts.now, hashing });
    });

    await guarded.register(analysisRoutes, { surveys: opts.surveys, now: opts.now });
    await guarded.register(shareRoutes, { surveys: opts.surveys, publicUrl: opts.publicUrl });
    await guarded.register(paperRoutes, { surveys: opts.surveys, now: opts.now });
  });
}
