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
