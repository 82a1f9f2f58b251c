import type { FastifyInstance } from 'fastify';
import { OWASP_HASHING, type PasswordHashing, verifyPassword } from '../../admin/accounts.ts';
import type { SessionLimits } from '../../admin/sessions.ts';
import { type ClientLimit, SignInThrottle } from '../../admin/throttle.ts';
import { renderAdminError, requireAdmin } from './access.ts';
import accountRoutes from './accounts.ts';
import dashboardRoutes from './dashboard.ts';
import { newSurveyRoutes } from './definition.ts';
import ownPasswordRoutes from './own-password.ts';
import { adminSessions } from './session.ts';
import setupRoutes from './setup.ts';
import signInRoutes from './sign-in.ts';
import surveyRoutes from './surveys.ts';

export { type AdminIdentity, adminView, renderAdminError, requireAdmin, signedIn } from './access.ts';
export { CSRF_COOKIE, SESSION_COOKIE } from './session.ts';
export { safeNext } from './sign-in.ts';

/** Settings of the admin side that tests (or a deployment) may change. */
export interface AdminSettings {
  /** Idle and absolute session limits (30 minutes idle, 12 hours in all by default). */
  sessionLimits: Partial<SessionLimits>;
  /** Argon2id costs for new password hashes (OWASP's by default); tests use cheaper ones. */
  passwordHashing: PasswordHashing;
  /** Failed sign-ins allowed per client in a window. */
  clientLimit: ClientLimit;
  /** Checks a password against its stored hash (Argon2id); tests wrap it to count the checks made. */
  verifyPassword: (passwordHash: string, password: string) => Promise<boolean>;
  /** Where the first-run setup link is printed besides the log (server.ts: the console). */
  announce: (line: string) => void;
}

export interface AdminRouteOptions extends Partial<AdminSettings> {
  now: () => Date;
  /** config.publicUrl: the only source of absolute links (never the Host header). */
  publicUrl: string;
  cookieSecret: string;
}

/**
 * Everything under /admin: sign-in, sign-out and first-run setup in the open;
 * the dashboard, accounts and each survey's pages behind the session check.
 */
export default async function adminRoutes(app: FastifyInstance, opts: AdminRouteOptions) {
  const hashing = opts.passwordHashing ?? OWASP_HASHING;
  const sessions = await adminSessions(app, {
    now: opts.now,
    publicUrl: opts.publicUrl,
    cookieSecret: opts.cookieSecret,
    ...(opts.sessionLimits ? { sessionLimits: opts.sessionLimits } : {}),
  });
  // One throttle for every password check: signing in, and changing one's own password.
  const throttle = new SignInThrottle(app.db, opts.cookieSecret, opts.clientLimit);
  const verify = opts.verifyPassword ?? verifyPassword;
  await app.register(signInRoutes, { sessions, now: opts.now, hashing, verify, throttle });
  await app.register(setupRoutes, {
    sessions,
    now: opts.now,
    publicUrl: opts.publicUrl,
    hashing,
    ...(opts.announce ? { announce: opts.announce } : {}),
  });

  await app.register(async (guarded) => {
    // Before any body is read: nobody's upload is read until they are known.
    guarded.addHook('onRequest', async (request, reply) => {
      if (request.admin) return;
      if (request.method === 'GET' || request.method === 'HEAD') {
        const path = (request.url.split('?')[0] ?? '').replace(/\/+$/, '');
        const next = path === '/admin' || !/^\/admin(\/[A-Za-z0-9_\-/]*)?$/.test(path) ? '' : path;
        return reply.redirect(next ? `/admin/login?next=${encodeURIComponent(next)}` : '/admin/login', 303);
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
    guarded.addHook('preHandler', sessions.checkCsrf);
    guarded.setNotFoundHandler(async (request, reply) =>
      renderAdminError(request, reply, 404, 'Page not found', 'If you typed the web address, check it is correct.'),
    );

    await guarded.register(dashboardRoutes, { now: opts.now });
    await guarded.register(ownPasswordRoutes, { now: opts.now, hashing, verify, throttle });
    await guarded.register(async (adminOnly) => {
      adminOnly.addHook('onRequest', requireAdmin);
      await adminOnly.register(accountRoutes, { now: opts.now, hashing, throttle });
      await adminOnly.register(newSurveyRoutes, { sessions, now: opts.now });
    });
    await guarded.register(surveyRoutes, {
      prefix: '/surveys/:slug',
      sessions,
      now: opts.now,
      publicUrl: opts.publicUrl,
    });
  });
}
