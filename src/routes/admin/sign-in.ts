import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  countAccounts,
  findAccountByEmail,
  normaliseEmail,
  OWASP_HASHING,
  type PasswordHashing,
  unmatchableHash,
} from '../../admin/accounts.ts';
import { minutesToWait, type SignInThrottle } from '../../admin/throttle.ts';
import { adminView } from './access.ts';
import { errorFor, type FieldError, formFields } from './forms.ts';
import { type AdminSessions, SESSION_COOKIE } from './session.ts';

const WRONG_CREDENTIALS = 'Email address or password is not correct';

export interface SignInOptions {
  sessions: AdminSessions;
  now: () => Date;
  hashing?: PasswordHashing;
  verify: (passwordHash: string, password: string) => Promise<boolean>;
  throttle: SignInThrottle;
}

/** The 429 message while an address or a client is locked; the same for every address, known or not. */
export function tooManyAttempts(waitMs: number): string {
  const minutes = minutesToWait(waitMs);
  return `There have been too many attempts to sign in. Wait ${minutes} minute${minutes === 1 ? '' : 's'}, then try again`;
}

/** Where to go after signing in: an /admin page of ours, never anywhere else. */
export function safeNext(value: unknown): string {
  if (typeof value !== 'string') return '/admin';
  if (!/^\/admin(\/[A-Za-z0-9_\-/]*)?$/.test(value) || value.includes('//')) return '/admin';
  if (/^\/admin\/(login|logout|setup)(\/|$)/.test(value)) return '/admin';
  return value;
}

type LoginQuery = { Querystring: { next?: string; 'signed-out'?: string } };

/** Signing in and out, open to everyone (the forms still carry their CSRF tokens). */
export default async function signInRoutes(app: FastifyInstance, opts: SignInOptions) {
  const { sessions, throttle } = opts;
  // An unknown email address is checked against this hash, so that it takes as long to refuse as a wrong password.
  const dummyHash = unmatchableHash(opts.hashing ?? OWASP_HASHING);

  // Signed in, sign-out needs the form's token. Without a session it changes and clears nothing: a form
  // posted from another site arrives without our SameSite=Strict cookies, and must not sign anyone out.
  app.post(
    '/logout',
    { preHandler: (request, reply, done) => (request.admin ? sessions.checkCsrf(request, reply, done) : done()) },
    async (request, reply) => {
      if (!request.admin) {
        // A session cookie that came with it had already ended (and the session hook cleared it).
        const ended = request.cookies[SESSION_COOKIE] !== undefined;
        return reply.redirect(ended ? '/admin/login?signed-out=yes' : '/admin/login', 303);
      }
      const account = request.admin.id;
      if (await sessions.endSession(request, reply)) request.log.info({ account }, 'admin signed out');
      return reply.redirect('/admin/login?signed-out=yes', 303);
    },
  );

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
    reply.header('retry-after', String(Math.ceil(waitMs / 1000)));
    return loginPage(
      request,
      reply,
      { email, next, errors: [{ field: 'email', message: tooManyAttempts(waitMs) }] },
      429,
    );
  };

  app.get<LoginQuery>('/login', async (request, reply) => {
    const next = safeNext(request.query.next);
    if (request.admin) return reply.redirect(next, 303);
    return loginPage(request, reply, {
      email: '',
      next,
      errors: [],
      ...(request.query['signed-out'] === 'yes' ? { notice: 'You have signed out.' } : {}),
    });
  });

  app.post('/login', { preHandler: sessions.checkCsrf }, async (request, reply) => {
    const body = formFields(request.body);
    const email = normaliseEmail(body.email ?? '');
    const password = body.password ?? '';
    const next = safeNext(body.next);
    const errors: FieldError[] = [];
    if (!email) errors.push({ field: 'email', message: 'Enter your email address' });
    if (!password) errors.push({ field: 'password', message: 'Enter your password' });
    if (errors.length) return loginPage(request, reply, { email, next, errors }, 422);

    // Counted before the slow check, so attempts sent at the same moment cannot all be checked.
    const attempt = await throttle.reserve(email, request.ip, opts.now());
    if ('waitMs' in attempt) return tooMany(request, reply, email, next, attempt.waitMs);
    const account = await findAccountByEmail(app.db, email);
    // Unknown address, wrong password and disabled account take the same time and get the same answer.
    const matches = await opts.verify(account ? account.password_hash : dummyHash, password);
    if (!account || !matches || account.disabled_at)
      return loginPage(request, reply, { email, next, errors: [{ field: 'email', message: WRONG_CREDENTIALS }] }, 422);
    await throttle.succeeded(attempt.reserved);
    await sessions.startSession(request, reply, account.id);
    request.log.info({ account: account.id }, 'admin signed in');
    return reply.redirect(next, 303);
  });
}
