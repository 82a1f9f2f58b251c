import type {} from '@fastify/csrf-protection';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AdminRole } from '../../db/schema.ts';

/** Who is signed in to /admin. */
export interface AdminIdentity {
  id: string;
  email: string;
  role: AdminRole;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in admin; always set inside the guarded /admin scope, null elsewhere. */
    admin: AdminIdentity | null;
  }
}

/**
 * The stored hash of each signed-in request's session token: CSRF tokens are
 * bound to it, and sign-in and sign-out end it. Held beside the request, not on
 * it, so that route code only ever sees `request.admin`.
 */
const sessionHashes = new WeakMap<FastifyRequest, string>();

export function rememberSession(request: FastifyRequest, tokenHash: string) {
  sessionHashes.set(request, tokenHash);
}

export function sessionHashOf(request: FastifyRequest): string | undefined {
  return sessionHashes.get(request);
}

/** What CSRF tokens are bound to: the session, or nothing before sign-in. */
export function csrfUserInfo(request: FastifyRequest): string {
  return sessionHashes.get(request) ?? 'signed-out';
}

/** The signed-in admin, inside the guarded scope (where the auth hook has already refused everyone else). */
export function signedIn(request: FastifyRequest): AdminIdentity {
  if (!request.admin) throw new Error('signedIn() used outside the guarded /admin scope');
  return request.admin;
}

/**
 * Renders an admin page in views/admin/layout.eta: adds who is signed in (for
 * the navigation) and a CSRF token (`it.csrfToken`) for the forms on the page.
 * Analysis pages use it too.
 */
export function adminView(
  request: FastifyRequest,
  reply: FastifyReply,
  template: string,
  data: Record<string, unknown>,
  status = 200,
) {
  const csrfToken = reply.generateCsrf({ userInfo: csrfUserInfo(request) });
  return reply.code(status).view(template, { ...data, admin: request.admin, csrfToken });
}

export function renderAdminError(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  heading: string,
  message: string,
  /** Where to go to put it right, if anywhere. */
  link?: { href: string; text: string },
) {
  return adminView(request, reply, 'admin/error.eta', { title: heading, heading, message, link }, status);
}

/** preHandler for admin-only routes: an analyst gets a 403 page. */
export async function requireAdmin(request: FastifyRequest, reply: FastifyReply) {
  if (request.admin?.role === 'admin') return;
  await renderAdminError(
    request,
    reply,
    403,
    'You do not have permission to do this',
    'Only an admin can manage accounts, import responses and open or close surveys. Ask an admin if you need this done.',
  );
  return reply;
}
