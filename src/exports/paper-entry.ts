import type { FieldError, FormValues } from '../survey/answers.ts';
import { CHECK_ANSWERS, type Survey } from '../survey/definition.ts';
import { type Answers, nextPageId, type Values } from '../survey/journey.ts';
import { conditionText, type PaperForm, type PaperQuestion } from '../survey/paper-form.ts';
import { validateRecord } from './import.ts';

// A paper questionnaire keyed in by staff on one page (`q<number>` fields, as
// the paper numbers them), turned into a response record and checked by the
// very rules an import uses (validateRecord: codes, ticks, postcode format, and
// that every answer lies on the route the form's own answers take), which are
// those of the online survey. Answers the paper's routing says to skip are
// refused, never silently dropped: the member of staff leaves them blank, so
// nothing on the form is lost without a person deciding it.

export type PaperEntryResult =
  | { kind: 'ok'; answers: Answers; values: Values }
  /** Mistakes a person could make: show the page again with the messages and their values (422). */
  | { kind: 'invalid'; errors: FieldError[]; form: FormValues }
  /** A body our form never sends: refuse it (400). */
  | { kind: 'refused'; reason: string };

const CONTROL_FIELDS = new Set(['_csrf', 'response_id', 'correct']);
const MAX_FIELD_VALUES = 50;

/** "Select up to 3 issues ("a;b;c;d")" -> "Select up to 3 issues": the codes mean nothing to the person typing. */
const withoutCodes = (message: string) => message.replace(/\s*\(".*"\)$/, '');

/** The prefer-not-to-say box of a write-in question on the entry page. */
export const preferNotFieldOf = (q: PaperQuestion) => `${q.field}-prefer-not-to-say`;

/**
 * Reads a keyed-in paper questionnaire. `record` gives the response record's
 * own columns (id, dates); the answers come from the body.
 */
export function readPaperEntry(
  survey: Survey,
  paper: PaperForm,
  body: unknown,
  record: { responseId: string; at: string },
): PaperEntryResult {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return { kind: 'refused', reason: 'The form was empty or not sent as a form.' };
  const byField = new Map<string, PaperQuestion>();
  for (const q of paper.questions) {
    byField.set(q.field, q);
    if (q.preferNotToSay) byField.set(preferNotFieldOf(q), q);
  }
  const given = new Map<string, string[]>();
  const form: FormValues = {};
  for (const [name, raw] of Object.entries(body)) {
    if (CONTROL_FIELDS.has(name)) continue;
    if (!byField.has(name)) return { kind: 'refused', reason: 'The form had a field the questionnaire does not have.' };
    const list = Array.isArray(raw) ? raw : [raw];
    if (list.length > MAX_FIELD_VALUES || !list.every((v): v is string => typeof v === 'string'))
      return { kind: 'refused', reason: 'The form had a value the questionnaire cannot accept.' };
    const values = list.map((v) => v.trim()).filter((v) => v !== '');
    if (!values.length) continue;
    given.set(name, values);
    form[name] =
      values.length === 1 && byField.get(name)?.question.type !== 'multiple' ? (values[0] as string) : values;
  }

  const errors: FieldError[] = [];
  const fail = (q: PaperQuestion, message: string) => errors.push({ field: q.field, message });
  /** A validator's message about a question: "Question 3: Select up to 3 issues", "Question 5 is answered but …". */
  const about = (q: PaperQuestion, message: string) => {
    const text = withoutCodes(message);
    fail(q, /^[a-z]/.test(text) ? `Question ${q.number} ${text}` : `Question ${q.number}: ${text}`);
  };

  // The route the form's own answers take, page by page as online.
  const onPage = new Map<string, PaperQuestion[]>();
  for (const q of paper.questions) onPage.set(q.page.id, [...(onPage.get(q.page.id) ?? []), q]);
  const raw: Values = {};
  const route = new Set<string>();
  for (let id = survey.start; id !== CHECK_ANSWERS; ) {
    const page = survey.pageById.get(id);
    if (!page || route.has(id)) break;
    route.add(id);
    for (const q of onPage.get(id) ?? []) {
      const values = given.get(q.field);
      if (!values) continue;
      if (q.question.type === 'multiple') raw[q.question.id] = values;
      else if (values.length === 1) raw[q.question.id] = values[0] as string;
    }
    id = nextPageId(page, raw);
  }

  const cells: Record<string, string> = {};
  const columnField = new Map<string, PaperQuestion>();
  for (const q of paper.questions) {
    const typed = given.get(q.field);
    const prefer = q.preferNotToSay ? given.get(preferNotFieldOf(q)) : undefined;
    if (!typed && !prefer) continue;
    if (!route.has(q.page.id)) {
      const section = paper.sections.find((s) => s.page === q.page);
      fail(
        q,
        section?.onlyIf.length
          ? `Leave question ${q.number} blank: it applies only if ${section.onlyIf.map(conditionText).join(', or ')}`
          : `Leave question ${q.number} blank: the answers before it lead past it`,
      );
      continue;
    }
    columnField.set(q.question.id, q);
    if (typed && prefer) {
      about(
        q,
        `Enter a ${q.question.type === 'text' ? q.question.format : 'value'} or tick ‘${q.preferNotToSay?.label}’, not both`,
      );
      continue;
    }
    if (prefer) cells[q.question.id] = prefer.join(';');
    else if (q.question.type === 'text') cells[q.question.id] = (typed as string[]).join(' ');
    else cells[q.question.id] = (typed as string[]).join(';');
  }
  const anything = Object.keys(cells).length > 0 || errors.length > 0;
  if (!anything) {
    const first = paper.questions[0] as PaperQuestion;
    return {
      kind: 'invalid',
      errors: [{ field: first.field, message: 'Enter the answers from the paper questionnaire: nothing was entered' }],
      form,
    };
  }

  let refused: string | undefined;
  const row = validateRecord(
    survey,
    {
      response_id: record.responseId,
      status: 'complete',
      channel: 'paper',
      started_at: record.at,
      submitted_at: record.at,
      ...cells,
    },
    (column, message) => {
      const q = columnField.get(column) ?? paper.questions.find((p) => p.question.id === column);
      if (q) {
        about(q, message);
      } else {
        refused ??= `The form was not sent properly (${column} ${message}). Reload the page and enter the questionnaire again.`;
      }
    },
  );
  if (refused) return { kind: 'refused', reason: refused };
  if (errors.length || !row) return { kind: 'invalid', errors: dedupe(errors), form };
  return { kind: 'ok', answers: row.answers, values: row.values };
}

/** Each message once, in the order of the questions on the paper. */
function dedupe(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  const number = (e: FieldError) => Number(/^q(\d+)/.exec(e.field)?.[1] ?? 0);
  return [...errors]
    .sort((a, b) => number(a) - number(b))
    .filter((e) => {
      const key = `${e.field}\n${e.message}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
}
