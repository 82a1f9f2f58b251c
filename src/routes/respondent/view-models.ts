import type { FieldError, FormValues } from '../../survey/answers.ts';
import { preferNotField } from '../../survey/answers.ts';
import type { Page, Question } from '../../survey/definition.ts';
import { optionsOf } from '../../survey/definition.ts';
import { availableOptions, type Journey, type Value, type Values } from '../../survey/journey.ts';

export interface ChoiceItem {
  id: string;
  value: string;
  text: string;
  hint?: string;
  checked: boolean;
}

export interface QuestionView {
  id: string;
  type: Question['type'];
  label: string;
  hint?: string;
  paragraphs: string[];
  /** The legend or label is the page's h1 (a page with one question and no title). */
  isPageHeading: boolean;
  error?: string;
  describedBy: string;
  items: ChoiceItem[];
  /** Text questions: the typed value, and the "Prefer not to say" box. */
  value: string;
  preferNot?: ChoiceItem & { name: string };
  max?: number;
}

export interface PageView {
  title: string;
  heading?: string;
  intro: string[];
  questions: QuestionView[];
  errors: FieldError[];
}

/** The page heading: its title, or its only question. */
export function pageHeading(page: Page): string {
  return page.title ?? (page.questions[0] as Question).label;
}

const asList = (value: Value | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** Builds what a question page shows, from the definition, what is on offer now, and the values to show. */
export function questionPageView(page: Page, before: Values, shown: FormValues, errors: FieldError[]): PageView {
  const headingIsQuestion = !page.title && page.questions.length === 1;
  const questions = page.questions.map((question): QuestionView => {
    const error = errors.find((e) => e.field === question.id)?.message;
    const paragraphs = question.type === 'text' ? (question.paragraphs ?? []) : [];
    const infoIds = paragraphs.map((_, i) => (i ? `${question.id}-info-${i + 1}` : `${question.id}-info`));
    const hintId = question.hint ? `${question.id}-hint` : '';
    const errorId = error ? `${question.id}-error` : '';
    const selected = asList(shown[question.id]);
    const items = (question.type === 'text' ? [] : availableOptions(question, before)).map((option, i) => ({
      id: i === 0 ? question.id : `${question.id}-${i + 1}`,
      value: option.code,
      text: option.label,
      ...(option.hint ? { hint: option.hint } : {}),
      checked: selected.includes(option.code),
    }));
    const view: QuestionView = {
      id: question.id,
      type: question.type,
      label: question.label,
      paragraphs,
      isPageHeading: headingIsQuestion,
      describedBy: [...infoIds, hintId, errorId].filter(Boolean).join(' '),
      items,
      value: question.type === 'text' ? selected.filter((v) => v !== question.preferNotToSay?.code).join(' ') : '',
      ...(question.hint ? { hint: question.hint } : {}),
      ...(error ? { error } : {}),
      ...(question.type === 'multiple' ? { max: question.max } : {}),
    };
    if (question.type === 'text' && question.preferNotToSay) {
      const name = preferNotField(question);
      const code = question.preferNotToSay.code;
      view.preferNot = {
        id: name,
        name,
        value: code,
        text: question.preferNotToSay.label,
        checked: asList(shown[name]).includes(code) || selected.includes(code),
      };
    }
    return view;
  });
  const title = pageHeading(page);
  return {
    title,
    ...(headingIsQuestion ? {} : { heading: title }),
    intro: page.intro ?? [],
    questions,
    errors,
  };
}

/** A stored answer as the respondent would read it. */
export function answerText(question: Question, value: Value | undefined): string[] {
  if (value === undefined) return [];
  const labels = new Map(optionsOf(question).map((o) => [o.code, o.label]));
  return asList(value).map((v) => labels.get(v) ?? v);
}

export interface SummaryRow {
  key: string;
  values: string[];
  changeHref: string;
  changeLabel: string;
}

/** Check your answers: every question on the route taken, in order, "Not answered" where skipped. */
export function summaryRows(j: Journey, base: string): SummaryRow[] {
  return j.route.flatMap((page) =>
    page.questions.map((question) => ({
      key: question.label,
      values: answerText(question, j.answers[page.id]?.[question.id]),
      changeHref: `${base}/${page.id}?return=${encodeURIComponent('check-answers')}`,
      changeLabel: question.label,
    })),
  );
}

/** The answers given before a page on the route: what decides the options that page offers. */
export function valuesBefore(j: Journey, pageId: string): Values {
  const values: Values = {};
  for (const page of j.route) {
    if (page.id === pageId) break;
    Object.assign(values, j.answers[page.id]);
  }
  return values;
}

/** The Back link: the page before this one on the route, or the start page. */
export function backLink(base: string, route: readonly Page[], pageId: string): string {
  const at = route.findIndex((p) => p.id === pageId);
  const previous = at > 0 ? route[at - 1] : at === -1 ? route[route.length - 1] : undefined;
  return previous ? `${base}/${previous.id}` : base;
}
