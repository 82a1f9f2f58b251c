import { createHash, randomBytes } from 'node:crypto';

// What is stored instead of anything that could single a respondent out: the
// hash of a random token (the token itself only in their cookie), and times
// to the minute.

/** A new draft token for the respondent's cookie, and the hash we store. */
export function newDraftToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashDraftToken(token) };
}

export function hashDraftToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * What an imported response stores in place of a draft token hash: it has no
 * respondent cookie and is not a draft anyone is filling in, so the automatic
 * purge of stale drafts leaves it alone (a deliberate `cli purge` does not).
 */
export const IMPORTED_TOKEN_PREFIX = 'imported:';
export function importedTokenHash(responseId: string): string {
  return `${IMPORTED_TOKEN_PREFIX}${createHash('sha256').update(responseId).digest('hex').slice(0, 55)}`;
}

/** Timestamps are kept to the minute: enough for analysis, too coarse to single anyone out. */
export function toMinute(now: Date): string {
  return `${now.toISOString().slice(0, 16)}:00Z`;
}
