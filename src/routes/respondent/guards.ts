import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { ResponseFlag } from '../../db/schema.ts';
import { hashedClient } from '../../limits/client-key.ts';

// What keeps the respondent's answers honest without identifying anyone: a
// start time signed into the draft cookie, a signed time each page was shown,
// a honeypot field, and limits on new drafts per client (in ten minutes, and
// in a day) held in memory only. See SECURITY.md.

/**
 * The honeypot: a text field hidden from people (and from screen readers) that
 * only a robot fills in. Its name has a hyphen, so no question id can take it.
 */
export const HONEYPOT_FIELD = 'website-url';

/** Settings a deployment (or a test) may change. */
export interface RespondentGuardSettings {
  /** A response sent sooner than this after Start is flagged `too_fast`. */
  minCompletionMs: number;
  /** A page saved with answers sooner than this after it was shown flags its draft `too_fast`. */
  minPageMs: number;
  /** New drafts per client within the window: above `flagAfter` they are flagged `burst`, above `refuseAfter` refused (429). */
  burst: BurstLimit;
  /** New drafts per client in a day (a sliding estimate) above which they are flagged `burst`. */
  dailyFlagAfter: number;
}

export interface BurstLimit {
  flagAfter: number;
  refuseAfter: number;
  windowMs: number;
}

/**
 * Nobody reads nine pages of questions in 20 seconds: even clicking Continue
 * through every page, leaving all blank, takes about that long; nor reads a
 * question and its options, and ticks one, in a second and a half. A
 * household or an office behind one address rarely starts 30 responses a day.
 */
export const DEFAULT_GUARD_SETTINGS: RespondentGuardSettings = {
  minCompletionMs: 20_000,
  minPageMs: 1_500,
  burst: { flagAfter: 10, refuseAfter: 100, windowMs: 10 * 60_000 },
  dailyFlagAfter: 30,
};

const DAY_MS = 24 * 60 * 60_000;

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

// --- Signed time each page was shown ---------------------------------------------

/** The hidden field of every question page's form that carries when it was shown. Its hyphen keeps it apart from question ids. */
export const SHOWN_AT_FIELD = 'shown-at';

/**
 * Signs the instant a question page was shown into its form
 * (`<ms in base 36>.<HMAC>`), bound to the draft and the page, under a key
 * derived from the cookie secret: the respondent's browser holds the time,
 * the server keeps nothing, and it cannot be moved back or carried to another
 * page or draft.
 */
export class PageTimer {
  private readonly key: Buffer;

  constructor(cookieSecret: string) {
    this.key = createHmac('sha256', cookieSecret).update('soundings page shown at').digest();
  }

  private mac(draftId: string, pageId: string, ms: string): string {
    return createHmac('sha256', this.key).update(`${draftId}\0${pageId}\0${ms}`).digest('base64url');
  }

  /** The field's value for this page shown now to this draft. */
  stamp(draftId: string, pageId: string, now: Date): string {
    const ms = now.getTime().toString(36);
    return `${ms}.${this.mac(draftId, pageId, ms)}`;
  }

  /** When the page was shown, from the field sent back; undefined when it is missing or not ours for this draft and page. */
  shownAt(value: unknown, draftId: string, pageId: string): number | undefined {
    if (typeof value !== 'string') return undefined;
    const [ms = '', mac = '', ...rest] = value.split('.');
    if (rest.length || !/^[0-9a-z]{1,12}$/.test(ms)) return undefined;
    const expected = Buffer.from(this.mac(draftId, pageId, ms));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    return Number.parseInt(ms, 36);
  }
}

/** Whether a page with answers was saved sooner than `minMs` after it was shown, or without a time of ours. */
export function pageTooFast(shownAt: number | undefined, now: Date, minMs: number): boolean {
  return shownAt === undefined || now.getTime() - shownAt < minMs;
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
 * Counts per client over a sliding window, by a salted hash of the client's
 * address (an IPv6 address by its /64). Each window has its own random salt,
 * dropped with its counts two windows later: the hashes live only in this
 * process's memory, are never written anywhere, and cannot be tied back to an
 * address once the salt is gone.
 */
class WindowCounts {
  private current: { index: number; salt: Buffer; counts: LRUCache<string, number> };
  private previous: { index: number; salt: Buffer; counts: LRUCache<string, number> } | undefined;

  constructor(
    private readonly windowMs: number,
    /** Clients remembered per window at most; the least recently counted go first, so memory stays bounded. */
    private readonly maxEntries: number,
  ) {
    this.current = this.window(-1);
  }

  private window(index: number) {
    return { index, salt: randomBytes(32), counts: new LRUCache<string, number>({ max: this.maxEntries }) };
  }

  /** Counts one for this client; returns the count over the sliding window and the time until this window ends. */
  add(ip: string, t: number): { estimate: number; windowEndsInMs: number } {
    const index = Math.floor(t / this.windowMs);
    if (index !== this.current.index) {
      this.previous = index === this.current.index + 1 ? this.current : undefined;
      this.current = this.window(index);
    }
    const key = hashedClient(this.current.salt, ip);
    const count = (this.current.counts.get(key) ?? 0) + 1;
    this.current.counts.set(key, count);
    // The previous window counts for the part of it still inside the sliding window.
    const elapsed = (t - index * this.windowMs) / this.windowMs;
    const before = this.previous?.counts.get(hashedClient(this.previous.salt, ip)) ?? 0;
    return { estimate: count + before * (1 - elapsed), windowEndsInMs: (index + 1) * this.windowMs - t };
  }
}

/**
 * The limits on new drafts per client: a burst within minutes (flagged, and
 * refused when extreme), and a day's total, which a steady trickle too slow
 * for the burst window still reaches (flagged).
 */
export class DraftBurst {
  private readonly recent: WindowCounts;
  private readonly daily: WindowCounts;

  constructor(
    private readonly limit: BurstLimit,
    private readonly dailyFlagAfter = DEFAULT_GUARD_SETTINGS.dailyFlagAfter,
    maxEntries = 50_000,
  ) {
    this.recent = new WindowCounts(limit.windowMs, maxEntries);
    this.daily = new WindowCounts(DAY_MS, maxEntries);
  }

  /** Counts a new draft for this client and says what to do with it. */
  record(ip: string, now: Date): { verdict: 'ok' | 'flag' | 'refuse'; retryAfterMs: number } {
    const t = now.getTime();
    const recent = this.recent.add(ip, t);
    const day = this.daily.add(ip, t);
    const retryAfterMs = recent.windowEndsInMs;
    if (recent.estimate > this.limit.refuseAfter) return { verdict: 'refuse', retryAfterMs };
    if (recent.estimate > this.limit.flagAfter || day.estimate > this.dailyFlagAfter)
      return { verdict: 'flag', retryAfterMs };
    return { verdict: 'ok', retryAfterMs };
  }
}

/** The first reason found wins: a later one does not replace it. */
export function firstFlag(...flags: (ResponseFlag | null | undefined)[]): ResponseFlag | null {
  return flags.find((f): f is ResponseFlag => Boolean(f)) ?? null;
}
