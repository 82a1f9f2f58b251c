import { createHmac, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { LRUCache } from 'lru-cache';
import type { Database } from '../db/schema.ts';
import { hashedClient } from '../limits/client-key.ts';
import { normaliseEmail } from './accounts.ts';

/**
 * Sign-in throttling. Every email address, an account's or not, gets a few
 * free attempts, then a lock that doubles with each further failure up to a
 * ceiling; the count is kept in the database under an HMAC of the address,
 * so locks look the same for every address and hold across instances. Each
 * client is also limited, by a salted hash of its address that lives only in
 * this process's memory: never logged, never stored.
 *
 * An attempt is counted before its password is checked (a reservation) and
 * refunded when it succeeds, so requests sent at the same moment cannot all
 * be checked before the first failure is written down.
 */

/** Wrong passwords allowed in a row before an address is locked. */
export const FREE_ATTEMPTS = 5;
export const MAX_LOCK_MS = 15 * 60_000;
/** An address's row untouched for this long is deleted: its lock, if any, ended long before. */
export const ATTEMPTS_KEPT_MS = 24 * 60 * 60_000;
/** How often one process looks for such rows, at sign-in time. */
const SWEEP_EVERY_MS = 60 * 60_000;

/** How long to lock after this many failures in a row (0: no lock). */
export function lockDuration(failures: number): number {
  if (failures < FREE_ATTEMPTS) return 0;
  return Math.min(2 ** (failures - FREE_ATTEMPTS) * 60_000, MAX_LOCK_MS);
}

/** Whole minutes to wait, rounded up, at least 1: what the page says. */
export function minutesToWait(ms: number): number {
  return Math.max(1, Math.ceil(ms / 60_000));
}

export interface ClientLimit {
  /** Sign-ins from one client in a window, not counting those that succeeded, before it is refused. */
  attempts: number;
  windowMs: number;
}

export const DEFAULT_CLIENT_LIMIT: ClientLimit = { attempts: 20, windowMs: 15 * 60_000 };

/** Clients remembered at most; the least recently seen go first, so memory stays bounded under a flood. */
const MAX_CLIENTS = 50_000;

/** Makes the key an email address's attempts are kept under: an HMAC under a key derived from the cookie secret. */
export function signInKeyer(cookieSecret: string): (email: string) => string {
  const key = createHmac('sha256', cookieSecret).update('soundings sign-in attempts').digest();
  return (email) => createHmac('sha256', key).update(normaliseEmail(email)).digest('hex');
}

// --- Per address, in the database ----------------------------------------------

/**
 * Counts an attempt for an address before its password is checked, setting the
 * lock it earns if it fails; or, while the address is locked, counts nothing
 * and returns the milliseconds left. 0: the attempt may be checked.
 */
export async function reserveAttempt(db: Kysely<Database>, emailKey: string, now: Date): Promise<number> {
  const t = now.getTime();
  const waitOf = (lockedUntil: string | null) => (lockedUntil ? Math.max(0, Date.parse(lockedUntil) - t) : 0);
  // A locked address is refused without a write: a flood against it costs a read each.
  const seen = await db
    .selectFrom('sign_in_attempts')
    .select('locked_until')
    .where('email_key', '=', emailKey)
    .executeTakeFirst();
  if (seen && waitOf(seen.locked_until) > 0) return waitOf(seen.locked_until);
  const at = now.toISOString();
  return db.transaction().execute(async (trx) => {
    await trx
      .insertInto('sign_in_attempts')
      .values({ email_key: emailKey, failures: 0, locked_until: null, updated_at: at })
      .onConflict((oc) => oc.column('email_key').doNothing())
      .execute();
    // The update comes first so that it holds the row: on PostgreSQL an attempt at the same
    // moment waits here until this one commits (SQLite's transaction holds the write lock already).
    const row = await trx
      .updateTable('sign_in_attempts')
      .set({ updated_at: at })
      .where('email_key', '=', emailKey)
      .returning(['failures', 'locked_until'])
      .executeTakeFirstOrThrow();
    const wait = waitOf(row.locked_until);
    if (wait > 0) return wait;
    const failures = row.failures + 1;
    const lock = lockDuration(failures);
    await trx
      .updateTable('sign_in_attempts')
      .set({ failures, locked_until: lock ? new Date(t + lock).toISOString() : null })
      .where('email_key', '=', emailKey)
      .execute();
    return 0;
  });
}

/** Forgets the attempts of these addresses: a successful sign-in (the refund), or a new password. */
export async function clearAttempts(db: Kysely<Database>, emailKeys: string[]): Promise<void> {
  if (emailKeys.length) await db.deleteFrom('sign_in_attempts').where('email_key', 'in', emailKeys).execute();
}

/** Which of these keys are locked now. */
export async function lockedKeys(db: Kysely<Database>, emailKeys: string[], now: Date): Promise<Set<string>> {
  if (!emailKeys.length) return new Set();
  const rows = await db
    .selectFrom('sign_in_attempts')
    .select('email_key')
    .where('email_key', 'in', emailKeys)
    .where('locked_until', '>', now.toISOString())
    .execute();
  return new Set(rows.map((r) => r.email_key));
}

/** Deletes the rows untouched since `before`, so addresses tried once cannot fill the table for ever. */
export async function deleteStaleAttempts(db: Kysely<Database>, before: Date): Promise<void> {
  await db.deleteFrom('sign_in_attempts').where('updated_at', '<', before.toISOString()).execute();
}

// --- Per client, in memory ------------------------------------------------------

/** Attempts per client over a window, under a salted hash of its address (its /64 for IPv6). */
export class ClientLimiter {
  private readonly salt = randomBytes(32);
  private readonly clients = new LRUCache<string, { attempts: number; since: number }>({ max: MAX_CLIENTS });

  constructor(private readonly limit: ClientLimit = DEFAULT_CLIENT_LIMIT) {}

  /** Counts an attempt, or returns the milliseconds until this client may try again. 0: counted. */
  reserve(ip: string, now: Date): number {
    const key = hashedClient(this.salt, ip);
    const t = now.getTime();
    let entry = this.clients.get(key);
    if (!entry || entry.since + this.limit.windowMs <= t) entry = { attempts: 0, since: t };
    if (entry.attempts >= this.limit.attempts) return entry.since + this.limit.windowMs - t;
    entry.attempts += 1;
    this.clients.set(key, entry);
    return 0;
  }

  /** Gives back an attempt that succeeded, or was never checked. */
  refund(ip: string): void {
    const entry = this.clients.get(hashedClient(this.salt, ip));
    if (entry && entry.attempts > 0) entry.attempts -= 1;
  }
}

// --- Both -------------------------------------------------------------------------

/** An attempt counted for an address and a client, to be refunded if it succeeds. */
export interface Reservation {
  emailKey: string;
  ip: string;
}

/** The sign-in limits every password check goes through: signing in, and changing one's own password. */
export class SignInThrottle {
  private readonly keyOf: (email: string) => string;
  private readonly clients: ClientLimiter;
  private lastSweep = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly db: Kysely<Database>,
    cookieSecret: string,
    clientLimit: ClientLimit = DEFAULT_CLIENT_LIMIT,
  ) {
    this.keyOf = signInKeyer(cookieSecret);
    this.clients = new ClientLimiter(clientLimit);
  }

  /**
   * Counts an attempt to check `email`'s password from `ip`, before it is
   * checked; or says how long to wait (the client or the address is locked),
   * counting nothing.
   */
  async reserve(email: string, ip: string, now: Date): Promise<{ reserved: Reservation } | { waitMs: number }> {
    await this.sweep(now);
    const clientWait = this.clients.reserve(ip, now);
    if (clientWait) return { waitMs: clientWait };
    const emailKey = this.keyOf(email);
    let lockWait: number;
    try {
      lockWait = await reserveAttempt(this.db, emailKey, now);
    } catch (err) {
      this.clients.refund(ip);
      throw err;
    }
    if (lockWait) {
      this.clients.refund(ip);
      return { waitMs: lockWait };
    }
    return { reserved: { emailKey, ip } };
  }

  /** The password was right: the attempt is given back, and the address's failures forgotten. */
  async succeeded(reservation: Reservation): Promise<void> {
    this.clients.refund(reservation.ip);
    await clearAttempts(this.db, [reservation.emailKey]);
  }

  /** Lifts an address's lock (its password was reset). */
  async unlock(email: string): Promise<void> {
    await clearAttempts(this.db, [this.keyOf(email)]);
  }

  /** Which of these addresses are locked now (the accounts page). */
  async locked(emails: string[], now: Date): Promise<Set<string>> {
    const keys = new Map(emails.map((email) => [this.keyOf(email), email]));
    const locked = await lockedKeys(this.db, [...keys.keys()], now);
    return new Set([...locked].map((key) => keys.get(key) as string));
  }

  /** At most hourly, at sign-in time: rows untouched for a day go. */
  private async sweep(now: Date): Promise<void> {
    if (now.getTime() - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = now.getTime();
    await deleteStaleAttempts(this.db, new Date(now.getTime() - ATTEMPTS_KEPT_MS));
  }
}
