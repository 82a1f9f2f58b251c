import { LRUCache } from 'lru-cache';
import type { Survey } from '../survey/definition.ts';
import { type Answers, type Journey, journey, type Values } from '../survey/journey.ts';

/** The answers stored in a response row (its `answers` column), by page then question. */
export function storedAnswers(answers: string): Answers {
  const parsed: unknown = JSON.parse(answers);
  return typeof parsed === 'object' && parsed !== null ? (parsed as Answers) : {};
}

/** Journeys of stored answers kept per survey, by their JSON, at most this many. */
const STORED_JOURNEYS = 1000;
const storedJourneys = new WeakMap<Survey, LRUCache<string, Journey>>();

/**
 * The journey of a response's stored answers: a page is fetched, then saved,
 * then counted, each from the same stored answers, so it is worked out once
 * and kept (frozen, so no caller can change what the next one gets).
 */
export function storedJourney(survey: Survey, answers: string): Journey {
  let kept = storedJourneys.get(survey);
  if (!kept) {
    kept = new LRUCache({ max: STORED_JOURNEYS });
    storedJourneys.set(survey, kept);
  }
  let found = kept.get(answers);
  if (!found) {
    found = frozen(journey(survey, storedAnswers(answers)));
    kept.set(answers, found);
  }
  return found;
}

function frozen(j: Journey): Journey {
  for (const byPage of [j.answers, j.kept]) {
    for (const page of Object.values(byPage)) {
      for (const value of Object.values(page)) if (Array.isArray(value)) Object.freeze(value);
      Object.freeze(page);
    }
    Object.freeze(byPage);
  }
  for (const value of Object.values(j.values)) if (Array.isArray(value)) Object.freeze(value);
  Object.freeze(j.values);
  Object.freeze(j.route);
  return Object.freeze(j);
}

/**
 * A stored response's route: the pages it submitted and the values on them.
 * A complete response stores only its route's answers; a draft may keep
 * answers for later pages too, so its route is walked.
 */
export function storedRoute(
  survey: Survey,
  row: { status: string; answers: string },
): { pages: string[]; values: Values } {
  const answers = storedAnswers(row.answers);
  const route = row.status === 'complete' ? answers : journey(survey, answers).answers;
  const values: Values = {};
  for (const page of Object.values(route)) Object.assign(values, page);
  return { pages: Object.keys(route), values };
}
