import type { Page, Question } from './definition.ts';
import { storeText } from './formats.ts';
import { availableCodes, type PageAnswers, type Value, type Values } from './journey.ts';

/** A problem with one field, shown in the error summary and beside the field. */
export interface FieldError {
  /** The id of the input the summary links to (the question id: GOV.UK's first-input rule). */
  field: string;
  message: string;
}

/** What the respondent sent, kept to show the page again with their values. */
export type FormValues = Record<string, Value>;

export type ParseResult =
  | { kind: 'ok'; answers: PageAnswers }
  /** Answers a person could have given by mistake: show the page again (422). */
  | { kind: 'invalid'; errors: FieldError[]; form: FormValues }
  /** A body no form of ours sends (unknown fields, nested values): refuse it (400). */
  | { kind: 'refused'; reason: string };

/** The name of the "Prefer not to say" box beside a text field. */
export const preferNotField = (question: Question) => `${question.id}-prefer-not-to-say`;

/** Field names that belong to the page's form itself rather than to a question (the way back, removals still to tell). */
const CONTROL_FIELDS = new Set(['_csrf', 'return', 'removed']);

const MAX_FIELD_VALUES = 50;

const expectedByPage = new WeakMap<Page, ReadonlySet<string>>();

/** The field names a page's form may send: its questions, their "Prefer not to say" boxes, the controls. */
function expectedFields(page: Page): ReadonlySet<string> {
  let expected = expectedByPage.get(page);
  if (!expected) {
    const names = new Set<string>(CONTROL_FIELDS);
    for (const q of page.questions) {
      names.add(q.id);
      if (q.type === 'text') names.add(preferNotField(q));
    }
    expected = names;
    expectedByPage.set(page, expected);
  }
  return expected;
}

/**
 * Parses one page's urlencoded form body into answers, given the answers so
 * far (which decide what options are on offer). Blank questions are simply
 * absent: every question may be left unanswered.
 */
export function parsePage(page: Page, body: unknown, values: Values): ParseResult {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return { kind: 'refused', reason: 'The form was empty or not sent as a form.' };
  const fields = new Map<string, string[]>();
  const expected = expectedFields(page);
  for (const [name, raw] of Object.entries(body)) {
    if (!expected.has(name)) return { kind: 'refused', reason: 'The form had a field this page does not ask for.' };
    const list = Array.isArray(raw) ? raw : [raw];
    if (list.length > MAX_FIELD_VALUES || !list.every((v): v is string => typeof v === 'string'))
      return { kind: 'refused', reason: 'The form had a value this page cannot accept.' };
    fields.set(name, list);
  }

  const answers: PageAnswers = {};
  const errors: FieldError[] = [];
  const form: FormValues = {};
  for (const question of page.questions) {
    const given = (fields.get(question.id) ?? []).filter((v) => v !== '');
    const codes = availableCodes(question, values);
    switch (question.type) {
      case 'single':
      case 'yesno': {
        if (given.length === 0) break;
        form[question.id] = given.length === 1 ? (given[0] as string) : given;
        if (given.length > 1)
          fail(errors, question, question.type === 'yesno' ? 'Select yes or no, not both' : 'Select one option only');
        else if (!codes.has(given[0] as string)) fail(errors, question, 'Select one of the options shown');
        else answers[question.id] = given[0] as string;
        break;
      }
      case 'multiple': {
        const ticked = [...new Set(given)];
        if (ticked.length === 0) break;
        form[question.id] = ticked;
        if (!ticked.every((c) => codes.has(c))) fail(errors, question, 'Select from the options shown');
        else if (ticked.length > question.max)
          fail(errors, question, `Select up to ${question.max} ${question.noun ?? 'options'}`);
        else answers[question.id] = ticked;
        break;
      }
      case 'text': {
        const typed = given.join(' ').trim();
        const prefer = (fields.get(preferNotField(question)) ?? []).filter((v) => v !== '');
        if (typed) form[question.id] = typed;
        if (prefer.length) form[preferNotField(question)] = prefer;
        const preferCode = question.preferNotToSay?.code;
        if (prefer.length && (!preferCode || prefer.some((v) => v !== preferCode))) {
          fail(errors, question, 'Select from the options shown');
        } else if (typed && prefer.length) {
          fail(errors, question, `Enter a postcode or select ‘${question.preferNotToSay?.label}’, not both`);
        } else if (prefer.length && preferCode) {
          answers[question.id] = preferCode;
        } else if (typed) {
          const stored = given.length > 1 ? null : storeText(question.format, typed);
          if (stored) answers[question.id] = stored;
          else fail(errors, question, 'Enter a real postcode, like DA12 1AU');
        }
        break;
      }
    }
  }
  return errors.length ? { kind: 'invalid', errors, form } : { kind: 'ok', answers };
}

/** Notes a problem with a question's answer (a plain function: made once, not once per question). */
function fail(errors: FieldError[], question: Question, message: string) {
  errors.push({ field: question.id, message });
}
