import { createHash, randomBytes } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { AdminRole, Database } from '../db/schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** How long a session lasts: ended after `idleMs` without a request, and `absoluteMs` after sign-in whatever happens. */
export interface SessionLimits {
  idleMs: number;
  absoluteMs: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = { idleMs: 30 * 60_000, absoluteMs: 12 * 60 * 60_000 };

/** A new session token for the cookie, and the hash we store. */
export function newSessionToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashSessionToken(token) };
}

export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export interface SessionWithAccount {
  token_hash: string;
  created_at: string;
  last_seen_at: string;
  account_id: string;
  email: string;
  role: AdminRole;
  disabled_at: string | null;
}

export async function createSession(db: Db, session: { tokenHash: string; accountId: string; now: Date }) {
  const at = session.now.toISOString();
  await db
    .insertInto('admin_sessions')
    .values({ token_hash: session.tokenHash, account_id: session.accountId, created_at: at, last_seen_at: at })
    .execute();
}

export async function findSession(db: Db, tokenHash: string): Promise<SessionWithAccount | undefined> {
  return db
    .selectFrom('admin_sessions')
    .innerJoin('admin_accounts', 'admin_accounts.id', 'admin_sessions.account_id')
    .select([
      'admin_sessions.token_hash',
      'admin_sessions.created_at',
      'admin_sessions.last_seen_at',
      'admin_sessions.account_id',
      'admin_accounts.email',
      'admin_accounts.role',
      'admin_accounts.disabled_at',
    ])
    .where('admin_sessions.token_hash', '=', tokenHash)
    .executeTakeFirst();
}

/** True when the session has been idle too long or has reached its absolute limit. */
export function sessionExpired(
  session: Pick<SessionWithAccount, 'created_at' | 'last_seen_at'>,
  now: Date,
  limits: SessionLimits,
): boolean {
  const t = now.getTime();
  return (
    t - Date.parse(session.last_seen_at) >= limits.idleMs || t - Date.parse(session.created_at) >= limits.absoluteMs
  );
}

export async function touchSession(db: Db, tokenHash: string, now: Date): Promise<void> {
  await db
    .updateTable('admin_sessions')
    .set({ last_seen_at: now.toISOString() })
    .where('token_hash', '=', tokenHash)
    .execute();
}

export async function deleteSession(db: Db, tokenHash: string): Promise<void> {
  await db.deleteFrom('admin_sessions').where('token_hash', '=', tokenHash).execute();
}

/** Ends every session of an account, except (optionally) the one making the change. */
export async function deleteSessionsOf(db: Db, accountId: string, except?: string): Promise<void> {
  let query = db.deleteFrom('admin_sessions').where('account_id', '=', accountId);
  if (except) query = query.where('token_hash', '!=', except);
  await query.execute();
}

/** Clears sessions that can no longer be used. ISO 8601 UTC strings of one length compare as instants. */
export async function deleteExpiredSessions(db: Db, now: Date, limits: SessionLimits): Promise<void> {
  const idleBefore = new Date(now.getTime() - limits.idleMs).toISOString();
  const startedBefore = new Date(now.getTime() - limits.absoluteMs).toISOString();
  await db
    .deleteFrom('admin_sessions')
    .where((eb) => eb.or([eb('last_seen_at', '<=', idleBefore), eb('created_at', '<=', startedBefore)]))
    .execute();
}
