import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  countAccounts,
  createFirstAdmin,
  emailProblem,
  hashPassword,
  normaliseEmail,
  OWASP_HASHING,
  type PasswordHashing,
  passwordProblem,
} from '../../admin/accounts.ts';
import { adminView, renderAdminError } from './access.ts';
import { errorFor, type FieldError, formFields } from './forms.ts';
import type { AdminSessions } from './session.ts';

export interface SetupOptions {
  sessions: AdminSessions;
  now: () => Date;
  publicUrl: string;
  hashing?: PasswordHashing;
  /** Where the first-run setup link is printed besides the log (server.ts: the console). */
  announce?: (line: string) => void;
}

type SetupParams = { Params: { token: string } };

function sameToken(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/**
 * First run: with no account at all, a one-time link (kept in memory only,
 * printed at start-up, built from PUBLIC_URL) to create the first admin.
 */
export default async function setupRoutes(app: FastifyInstance, opts: SetupOptions) {
  let setupToken: string | null = null;
  if ((await countAccounts(app.db)) === 0) {
    setupToken = randomBytes(32).toString('base64url');
    const link = `${opts.publicUrl}/admin/setup/${setupToken}`;
    app.log.warn(`No admin account yet: open ${link} to create the first one (the link works once)`);
    opts.announce?.(
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

  const notValid = (request: FastifyRequest, reply: FastifyReply) =>
    renderAdminError(
      request,
      reply,
      404,
      'This setup link is not valid',
      'A setup link works once, and only while there is no admin account. Sign in, or ask an admin for an account.',
    );

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

  app.get<SetupParams>('/setup/:token', async (request, reply) => {
    if (!(await setupOpen(request.params.token))) return notValid(request, reply);
    return setupPage(request, reply, { email: '', errors: [] });
  });

  app.post<SetupParams>('/setup/:token', { preHandler: opts.sessions.checkCsrf }, async (request, reply) => {
    if (!(await setupOpen(request.params.token))) return notValid(request, reply);
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
        passwordHash: await hashPassword(password, opts.hashing ?? OWASP_HASHING),
        now: opts.now(),
      });
    } catch (err) {
      setupToken = claimed;
      throw err;
    }
    if (!id) return notValid(request, reply);
    request.log.warn({ account: id }, 'first admin account created');
    await opts.sessions.startSession(request, reply, id);
    return reply.redirect('/admin', 303);
  });
}
