import { randomBytes } from 'node:crypto';
import type { ResponseFlag } from '../../db/schema.ts';
import { hashedClient } from '../../limits/client-key.ts';

// What keeps the respondent's answers honest without identifying anyone: a
// start time signed into the draft cookie, a honeypot field, and a burst limit
// on new drafts per client held in memory only. See SECURITY.md.

/**
 * The honeypot: a text field hidden from people (and from screen readers) that
 * only a robot fills in. Its name has a hyphen, so no question id can take it.
 */
export const HONEYPOT_FIELD = 'website-url';

/** Settings a deployment (or a test) may change. */
export interface RespondentGuardSettings {
  /** A response sent sooner than this after Start is flagged `too_fast`. */
  minCompletionMs: number;
  /** New drafts per client within the window: above `flagAfter` they are flagged `burst`, above `refuseAfter` refused (429). */
  burst: BurstLimit;
}

export interface BurstLimit {
  flagAfter: number;
  refuseAfter: number;
  windowMs: number;
}

/**
 * Nobody reads nine pages of questions in 20 seconds: even clicking Continue
 * through every page, leaving all blank, takes about that long.
 */
export const DEFAULT_GUARD_SETTINGS: RespondentGuardSettings = {
  minCompletionMs: 20_000,
  burst: { flagAfter: 10, refuseAfter: 100, windowMs: 10 * 60_000 },
};

// --- Signed start time -------------------------------------------------------

/**
 * A draft token that carries the instant the draft was started (to the
 * millisecond): `<random>.<ms in base 36>`. The cookie holding it is signed,
 * so the time cannot be changed; the database keeps only the token's SHA-256
 * and its started_at to the minute, so the precise time never leaves the
 * respondent's device.
 */
export function newTimedDraftToken(now: Date): string {
  return `${randomBytes(32).toString('base64url')}.${now.getTime().toString(36)}`;
}

/** The start instant in a draft token, or undefined for a token without one (issued before it was added). */
export function startedAtOf(token: string): number | undefined {
  const at = token.lastIndexOf('.');
  if (at < 0) return undefined;
  const ms = Number.parseInt(token.slice(at + 1), 36);
  return Number.isSafeInteger(ms) && ms > 0 ? ms : undefined;
}

/**
 * Whether a response was sent too soon after it was started. Without a signed
 * start time, started_at (kept to the minute) gives a bound: the draft began
 * within the minute after it, so it is only judged too fast when it certainly was.
 */
export function sentTooFast(token: string, startedAtMinute: string, now: Date, minMs: number): boolean {
  const started = startedAtOf(token) ?? Date.parse(startedAtMinute);
  if (!Number.isFinite(started)) return false;
  return now.getTime() - started < minMs;
}

// --- Honeypot ------------------------------------------------------------------

/** Whether the body fills in the hidden field (any value, or several: only a robot sends one). */
export function honeypotFilled(body: Record<string, unknown>): boolean {
  const value = body[HONEYPOT_FIELD];
  if (value === undefined) return false;
  return !(typeof value === 'string' && value === '');
}

// --- Burst limit ----------------------------------------------------------------

/**
 * Counts new drafts per client over a sliding window, by a salted hash of the
 * client's address (an IPv6 address by its /64, which one household or
 * machine holds). Each window has its own random salt, dropped with its
 * counts two windows later: the hashes live only in this process's memory, are
 * never written anywhere, and cannot be tied back to an address once the salt
 * is gone.
 */
export class DraftBurst {
  private current: { index: number; salt: Buffer; counts: Map<string, number> };
  private previous: { index: number; salt: Buffer; counts: Map<string, number> } | undefined;

  constructor(
    private readonly limit: BurstLimit,
    /** Clients remembered per window at most; the oldest go first, so memory stays bounded under a flood. */
    private readonly maxEntries = 50_000,
  ) {
    this.current = { index: -1, salt: randomBytes(32), counts: new Map() };
  }

  /** Counts a new draft for this client and says what to do with it. */
  record(ip: string, now: Date): { verdict: 'ok' | 'flag' | 'refuse'; retryAfterMs: number } {
    const t = now.getTime();
    const index = Math.floor(t / this.limit.windowMs);
    if (index !== this.current.index) {
      this.previous = index === this.current.index + 1 ? this.current : undefined;
      this.current = { index, salt: randomBytes(32), counts: new Map() };
    }
    const key = hashedClient(this.current.salt, ip);
    const count = (this.current.counts.get(key) ?? 0) + 1;
    this.current.counts.delete(key);
    this.current.counts.set(key, count);
    while (this.current.counts.size > this.maxEntries) {
      const oldest = this.current.counts.keys().next().value;
      if (oldest === undefined) break;
      this.current.counts.delete(oldest);
    }
    // The previous window counts for the part of it still inside the sliding window.
    const elapsed = (t - index * this.limit.windowMs) / this.limit.windowMs;
    const before = this.previous ? (this.previous.counts.get(hashedClient(this.previous.salt, ip)) ?? 0) : 0;
    const estimate = count + before * (1 - elapsed);
    const retryAfterMs = (index + 1) * this.limit.windowMs - t;
    if (estimate > this.limit.refuseAfter) return { verdict: 'refuse', retryAfterMs };
    if (estimate > this.limit.flagAfter) return { verdict: 'flag', retryAfterMs };
    return { verdict: 'ok', retryAfterMs };
  }
}

/** The first reason found wins: a later one does not replace it. */
export function firstFlag(...flags: (ResponseFlag | null | undefined)[]): ResponseFlag | null {
  return flags.find((f): f is ResponseFlag => Boolean(f)) ?? null;
}
