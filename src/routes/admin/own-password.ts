import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  findAccountById,
  hashPassword,
  type PasswordHashing,
  passwordProblem,
  setPassword,
} from '../../admin/accounts.ts';
import { deleteSessionsOf } from '../../admin/sessions.ts';
import type { SignInThrottle } from '../../admin/throttle.ts';
import { adminView, sessionHashOf, signedIn } from './access.ts';
import { errorFor, type FieldError, formFields } from './forms.ts';
import { tooManyAttempts } from './sign-in.ts';

export interface OwnPasswordOptions {
  now: () => Date;
  hashing: PasswordHashing;
  verify: (passwordHash: string, password: string) => Promise<boolean>;
  throttle: SignInThrottle;
}

/**
 * Changing one's own password, for everyone signed in. The current password
 * is checked as a sign-in is, through the same limits, so the page cannot be
 * used to guess it; on success the account's other sessions end.
 */
export default async function ownPasswordRoutes(app: FastifyInstance, opts: OwnPasswordOptions) {
  const page = (request: FastifyRequest, reply: FastifyReply, errors: FieldError[], status = 200, changed = false) =>
    adminView(
      request,
      reply,
      'admin/password.eta',
      {
        title: `${errors.length ? 'Error: ' : ''}Change your password – Soundings admin`,
        nav: 'password',
        back: '/admin',
        changed,
        errors,
        error: errorFor(errors),
      },
      status,
    );

  app.get<{ Querystring: { changed?: string } }>('/password', async (request, reply) =>
    page(request, reply, [], 200, request.query.changed === 'yes'),
  );

  app.post('/password', async (request, reply) => {
    const me = signedIn(request);
    const body = formFields(request.body);
    const current = body['current-password'] ?? '';
    const next = body['new-password'] ?? '';
    const confirm = body['confirm-password'] ?? '';
    const errors: FieldError[] = [];
    if (!current) errors.push({ field: 'current-password', message: 'Enter your current password' });
    if (!next) errors.push({ field: 'new-password', message: 'Enter a new password' });
    else {
      const problem = passwordProblem(next);
      if (problem) errors.push({ field: 'new-password', message: problem });
    }
    if (!confirm) errors.push({ field: 'confirm-password', message: 'Enter the new password again' });
    else if (next && confirm !== next)
      errors.push({ field: 'confirm-password', message: 'The new passwords do not match' });
    // Nothing is checked (or counted) until the form is complete.
    if (errors.length) return page(request, reply, errors, 422);

    const attempt = await opts.throttle.reserve(me.email, request.ip, opts.now());
    if ('waitMs' in attempt) {
      reply.header('retry-after', String(Math.ceil(attempt.waitMs / 1000)));
      return page(request, reply, [{ field: 'current-password', message: tooManyAttempts(attempt.waitMs) }], 429);
    }
    const account = await findAccountById(app.db, me.id);
    if (!account || !(await opts.verify(account.password_hash, current)))
      return page(
        request,
        reply,
        [{ field: 'current-password', message: 'Your current password is not correct' }],
        422,
      );
    await setPassword(app.db, account.id, await hashPassword(next, opts.hashing));
    await opts.throttle.succeeded(attempt.reserved);
    // Whoever else is signed in with the old password is signed out; this session goes on.
    await deleteSessionsOf(app.db, account.id, sessionHashOf(request));
    request.log.info({ account: account.id }, 'admin changed own password');
    return reply.redirect('/admin/password?changed=yes', 303);
  });
}
