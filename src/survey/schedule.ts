import type { Survey } from './definition.ts';

export type SurveyState = { open: true } | { open: false; reason: 'not-yet-open' | 'closed'; at: Date };

/** Whether a survey accepts answers at `now`, from its open and close dates. */
export function surveyState(survey: Pick<Survey, 'opensAt' | 'closesAt'>, now: Date): SurveyState {
  if (survey.opensAt && now < new Date(survey.opensAt))
    return { open: false, reason: 'not-yet-open', at: new Date(survey.opensAt) };
  if (survey.closesAt && now >= new Date(survey.closesAt))
    return { open: false, reason: 'closed', at: new Date(survey.closesAt) };
  return { open: true };
}

/**
 * Whether a draft may still be saved and sent at `now`: while the survey is
 * open, and after it closed, until the grace period chosen when closing it
 * ends, for drafts started before it closed.
 */
export function acceptsDraft(
  schedule: Pick<Survey, 'opensAt' | 'closesAt'> & { draftsUntil?: string },
  now: Date,
  startedAt: string,
): boolean {
  const state = surveyState(schedule, now);
  if (state.open) return true;
  if (state.reason !== 'closed' || !schedule.draftsUntil || !schedule.closesAt) return false;
  // Both are kept to the minute: a draft started in the minute it closed is let finish too.
  return now < new Date(schedule.draftsUntil) && new Date(startedAt) <= new Date(schedule.closesAt);
}

/** A date as residents read it: "3 March 2019 at 5pm" (UK time). */
export function formatWhen(date: Date): string {
  const day = new Intl.DateTimeFormat('en-GB', {
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    timeZone: 'Europe/London',
  }).format(date);
  const time = new Intl.DateTimeFormat('en-GB', {
    hour: 'numeric',
    minute: '2-digit',
    hourCycle: 'h12',
    timeZone: 'Europe/London',
  })
    .format(date)
    .replace(':00', '')
    .replace(/\s/g, '');
  return `${day} at ${time}`;
}

/** Minutes east of UTC that UK time is at `date` (0 in winter, 60 in summer). */
function londonOffsetMinutes(date: Date): number {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/London',
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  }).formatToParts(date);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'));
  return Math.round((asUtc - Math.floor(date.getTime() / 60_000) * 60_000) / 60_000);
}

/** A UK local date and time as typed into a form ("2019-03-03T17:00") as an instant, or null if malformed. */
export function fromLondonTime(local: string): Date | null {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)$/.exec(local);
  if (!m) return null;
  const [, y, mo, d, h, mi] = m.map(Number) as number[];
  const guess = new Date(Date.UTC(y as number, (mo as number) - 1, d, h, mi));
  if (guess.getUTCMonth() !== (mo as number) - 1 || guess.getUTCDate() !== d || (h as number) > 23) return null;
  return new Date(guess.getTime() - londonOffsetMinutes(guess) * 60_000);
}

/** An instant as UK local time for a datetime-local field ("2019-03-03T17:00"). */
export function toLondonTime(date: Date): string {
  return new Date(date.getTime() + londonOffsetMinutes(date) * 60_000).toISOString().slice(0, 16);
}

/**
 * A date for opening or closing a survey as staff type it (the command line,
 * the copy form): "2020-02-17" is that day in UK time, from its start when
 * opening and to its end when closing; "2020-02-17T09:00" a UK time; an ISO
 * instant with an offset is taken as it is. Null if it is none of these.
 */
export function parseSurveyDate(text: string, edge: 'opens' | 'closes'): Date | null {
  const value = text.trim();
  if (/^\d{4}-\d\d-\d\d$/.test(value)) {
    const start = fromLondonTime(`${value}T00:00`);
    if (!start || edge === 'opens') return start;
    const next = new Date(Date.parse(`${value}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    return fromLondonTime(`${next}T00:00`);
  }
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d$/.test(value)) return fromLondonTime(value);
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.test(value)) {
    const at = new Date(value);
    return Number.isNaN(at.getTime()) ? null : at;
  }
  return null;
}
