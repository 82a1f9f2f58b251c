import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  createAccount,
  emailProblem,
  findAccountById,
  hashPassword,
  isRole,
  listAccounts,
  normaliseEmail,
  type PasswordHashing,
  passwordProblem,
  removeAccount,
  setDisabled,
  setPassword,
} from '../../admin/accounts.ts';
import { deleteSessionsOf } from '../../admin/sessions.ts';
import type { SignInThrottle } from '../../admin/throttle.ts';
import type { AdminAccountRow } from '../../db/schema.ts';
import { adminView, renderAdminError, sessionHashOf, signedIn } from './access.ts';
import { errorFor, type FieldError, formFields } from './forms.ts';

type IdParams = { Params: { id: string } };

const ROLE_LABELS = { admin: 'Admin', analyst: 'Analyst' } as const;

const DONE_MESSAGES: Record<string, string> = {
  created: 'The account has been created.',
  password: 'The password has been changed. Anyone signed in to that account has been signed out.',
  disabled: 'The account has been disabled. Anyone signed in to it has been signed out.',
  enabled: 'The account has been enabled.',
  removed: 'The account has been removed.',
};

function statusOf(account: AdminAccountRow, locked: boolean): string {
  if (account.disabled_at) return 'Disabled';
  if (locked) return 'Locked for now';
  return 'Active';
}

function dateOf(iso: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    timeZone: 'Europe/London',
  }).format(new Date(iso));
}

/** Account management, for admins only (the caller adds the requireAdmin hook). */
export default async function accountRoutes(
  app: FastifyInstance,
  opts: { now: () => Date; hashing: PasswordHashing; throttle: SignInThrottle },
) {
  const accountUrl = (id: string) => `/admin/accounts/${id}`;

  const findAccount = async (request: FastifyRequest<IdParams>, reply: FastifyReply) => {
    const { id } = request.params;
    const account = /^[0-9a-f-]{36}$/.test(id) ? await findAccountById(app.db, id) : undefined;
    if (!account) {
      await renderAdminError(
        request,
        reply,
        404,
        'Account not found',
        'It may have been removed. Go back to the list of accounts.',
      );
      return undefined;
    }
    return account;
  };

  app.get<{ Querystring: { done?: string } }>('/accounts', async (request, reply) => {
    const me = signedIn(request);
    const accounts = await listAccounts(app.db);
    const locked = await opts.throttle.locked(
      accounts.map((a) => a.email),
      opts.now(),
    );
    return adminView(request, reply, 'admin/accounts.eta', {
      title: 'Accounts – Soundings admin',
      nav: 'accounts',
      // Own keys only: `?done=constructor` must not reach Object.prototype.
      done: Object.hasOwn(DONE_MESSAGES, request.query.done ?? '')
        ? DONE_MESSAGES[request.query.done ?? '']
        : undefined,
      accounts: accounts.map((a) => ({
        email: a.email,
        href: accountUrl(a.id),
        role: ROLE_LABELS[a.role],
        status: statusOf(a, locked.has(a.email)),
        created: dateOf(a.created_at),
        you: a.id === me.id,
      })),
    });
  });

  const newAccountPage = (
    request: FastifyRequest,
    reply: FastifyReply,
    view: { email: string; role: string; errors: FieldError[] },
    status = 200,
  ) =>
    adminView(
      request,
      reply,
      'admin/account-new.eta',
      {
        title: `${view.errors.length ? 'Error: ' : ''}Add an account – Soundings admin`,
        nav: 'accounts',
        back: '/admin/accounts',
        ...view,
        error: errorFor(view.errors),
      },
      status,
    );

  app.get('/accounts/new', async (request, reply) =>
    newAccountPage(request, reply, { email: '', role: '', errors: [] }),
  );

  app.post('/accounts', async (request, reply) => {
    const body = formFields(request.body);
    const email = normaliseEmail(body.email ?? '');
    const role = body.role ?? '';
    const password = body.password ?? '';
    const errors: FieldError[] = [];
    const emailError = emailProblem(email);
    if (emailError) errors.push({ field: 'email', message: emailError });
    if (!isRole(role)) errors.push({ field: 'role', message: 'Select what this person may do' });
    const passwordError = passwordProblem(password);
    if (passwordError) errors.push({ field: 'password', message: passwordError });
    if (errors.length || !isRole(role)) return newAccountPage(request, reply, { email, role, errors }, 422);
    const id = await createAccount(app.db, {
      email,
      role,
      passwordHash: await hashPassword(password, opts.hashing),
      now: opts.now(),
    });
    if (!id) {
      return newAccountPage(
        request,
        reply,
        { email, role, errors: [{ field: 'email', message: 'There is already an account with this email address' }] },
        422,
      );
    }
    request.log.info({ account: id, by: signedIn(request).id }, 'admin account created');
    return reply.redirect('/admin/accounts?done=created', 303);
  });

  const accountPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    account: AdminAccountRow,
    errors: FieldError[],
    status = 200,
  ) =>
    adminView(
      request,
      reply,
      'admin/account.eta',
      {
        title: `${errors.length ? 'Error: ' : ''}${account.email} – Soundings admin`,
        nav: 'accounts',
        back: '/admin/accounts',
        account: {
          email: account.email,
          role: ROLE_LABELS[account.role],
          status: statusOf(account, (await opts.throttle.locked([account.email], opts.now())).size > 0),
          created: dateOf(account.created_at),
          disabled: account.disabled_at !== null,
          you: account.id === signedIn(request).id,
          actions: {
            password: `${accountUrl(account.id)}/password`,
            disable: `${accountUrl(account.id)}/disable`,
            enable: `${accountUrl(account.id)}/enable`,
            remove: `${accountUrl(account.id)}/remove`,
          },
        },
        errors,
        error: errorFor(errors),
      },
      status,
    );

  app.get<IdParams>('/accounts/:id', async (request, reply) => {
    const account = await findAccount(request, reply);
    if (!account) return reply;
    return accountPage(request, reply, account, []);
  });

  app.post<IdParams>('/accounts/:id/password', async (request, reply) => {
    const account = await findAccount(request, reply);
    if (!account) return reply;
    const password = formFields(request.body).password ?? '';
    const problem = passwordProblem(password);
    if (problem) return accountPage(request, reply, account, [{ field: 'password', message: problem }], 422);
    await setPassword(app.db, account.id, await hashPassword(password, opts.hashing));
    await opts.throttle.unlock(account.email);
    // Everyone signed in with the old password is signed out (except the admin making the change).
    await deleteSessionsOf(app.db, account.id, sessionHashOf(request));
    request.log.info({ account: account.id, by: signedIn(request).id }, 'admin password reset');
    return reply.redirect('/admin/accounts?done=password', 303);
  });

  /** An admin may not disable or remove their own account: there is always one admin left who can sign in. */
  const refuseSelf = async (request: FastifyRequest, reply: FastifyReply, account: AdminAccountRow, what: string) => {
    if (account.id !== signedIn(request).id) return false;
    await renderAdminError(
      request,
      reply,
      400,
      `You cannot ${what} your own account`,
      'Ask another admin to do it, so that someone can always sign in.',
    );
    return true;
  };

  app.post<IdParams>('/accounts/:id/disable', async (request, reply) => {
    const account = await findAccount(request, reply);
    if (!account || (await refuseSelf(request, reply, account, 'disable'))) return reply;
    await setDisabled(app.db, account.id, opts.now());
    await deleteSessionsOf(app.db, account.id);
    request.log.info({ account: account.id, by: signedIn(request).id }, 'admin account disabled');
    return reply.redirect('/admin/accounts?done=disabled', 303);
  });

  app.post<IdParams>('/accounts/:id/enable', async (request, reply) => {
    const account = await findAccount(request, reply);
    if (!account) return reply;
    await setDisabled(app.db, account.id, null);
    request.log.info({ account: account.id, by: signedIn(request).id }, 'admin account enabled');
    return reply.redirect('/admin/accounts?done=enabled', 303);
  });

  app.get<IdParams>('/accounts/:id/remove', async (request, reply) => {
    const account = await findAccount(request, reply);
    if (!account || (await refuseSelf(request, reply, account, 'remove'))) return reply;
    return adminView(request, reply, 'admin/account-remove.eta', {
      title: `Remove ${account.email}? – Soundings admin`,
      nav: 'accounts',
      back: `/admin/accounts/${account.id}`,
      email: account.email,
      action: `/admin/accounts/${account.id}/remove`,
    });
  });

  app.post<IdParams>('/accounts/:id/remove', async (request, reply) => {
    const account = await findAccount(request, reply);
    if (!account || (await refuseSelf(request, reply, account, 'remove'))) return reply;
    // Only from the confirmation page, which says what removing means.
    if (formFields(request.body).confirm !== 'yes') return reply.redirect(`/admin/accounts/${account.id}/remove`, 303);
    await app.db.transaction().execute((trx) => removeAccount(trx, account.id));
    request.log.info({ account: account.id, by: signedIn(request).id }, 'admin account removed');
    return reply.redirect('/admin/accounts?done=removed', 303);
  });
}
