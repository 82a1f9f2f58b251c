import { createHmac, randomBytes } from 'node:crypto';

/**
 * Sign-in throttling. Each account gets a few free attempts, then a lock that
 * doubles with each further failure up to a ceiling (kept in the database). An
 * unknown email address gets exactly the same treatment, held in memory, so
 * locks cannot tell anyone which addresses have accounts. Each client is also
 * limited, by a salted hash of its address that lives only in this process's
 * memory: never logged, never stored, and meaningless after a restart.
 */

/** Wrong passwords allowed in a row before an account is locked. */
export const FREE_ATTEMPTS = 5;
export const MAX_LOCK_MS = 15 * 60_000;

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
  /** Failed sign-ins from one client in a window before it is refused. */
  attempts: number;
  windowMs: number;
}

export const DEFAULT_CLIENT_LIMIT: ClientLimit = { attempts: 20, windowMs: 15 * 60_000 };

/** Entries kept at most per map; the oldest go first, so memory stays bounded under a flood. */
const MAX_ENTRIES = 10_000;

export class LoginThrottle {
  private readonly salt = randomBytes(32);
  private readonly clients = new Map<string, { failures: number; since: number }>();
  private readonly unknownEmails = new Map<string, { failures: number; lockedUntil: number }>();

  constructor(private readonly limit: ClientLimit = DEFAULT_CLIENT_LIMIT) {}

  private key(kind: string, value: string): string {
    return createHmac('sha256', this.salt).update(`${kind}\0${value}`).digest('base64url');
  }

  /** Milliseconds until this client may try again (0: now). */
  clientWait(ip: string, now: Date): number {
    const entry = this.clients.get(this.key('ip', ip));
    if (!entry) return 0;
    const ends = entry.since + this.limit.windowMs;
    if (ends <= now.getTime()) return 0;
    return entry.failures >= this.limit.attempts ? ends - now.getTime() : 0;
  }

  clientFailed(ip: string, now: Date): void {
    const key = this.key('ip', ip);
    const entry = this.clients.get(key);
    const t = now.getTime();
    if (entry && entry.since + this.limit.windowMs > t) entry.failures += 1;
    else remember(this.clients, key, { failures: 1, since: t });
  }

  /** Milliseconds an address with no account stays "locked" (as an account would be). */
  unknownEmailWait(email: string, now: Date): number {
    const entry = this.unknownEmails.get(this.key('email', email));
    return entry ? Math.max(0, entry.lockedUntil - now.getTime()) : 0;
  }

  unknownEmailFailed(email: string, now: Date): void {
    const key = this.key('email', email);
    const failures = (this.unknownEmails.get(key)?.failures ?? 0) + 1;
    const lock = lockDuration(failures);
    remember(this.unknownEmails, key, { failures, lockedUntil: lock ? now.getTime() + lock : 0 });
  }
}

function remember<V>(map: Map<string, V>, key: string, value: V) {
  map.delete(key);
  map.set(key, value);
  while (map.size > MAX_ENTRIES) {
    const oldest = map.keys().next().value;
    if (oldest === undefined) break;
    map.delete(oldest);
  }
}
