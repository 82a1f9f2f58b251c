import type { FieldError, FormValues } from '../../survey/answers.ts';
import { preferNotField } from '../../survey/answers.ts';
import type { Page, Question, Survey } from '../../survey/definition.ts';
import { keyOf, optionsOf } from '../../survey/definition.ts';
import { availableOptions, type Journey, type Removal, type Value, type Values } from '../../survey/journey.ts';

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
  /** The legend or label: the question's short heading, else its wording. */
  label: string;
  /** The question's wording under its short heading. */
  lead?: string;
  hint?: string;
  paragraphs: string[];
  /** The legend or label is the page's h1 (a page with one question and no title). */
  isPageHeading: boolean;
  error?: string;
  describedBy: string;
  /** The options not in a group (all of them when there are no groups), shown after the groups. */
  items: ChoiceItem[];
  /**
   * Options under headings of their own, in the definition's order, each a
   * disclosure opened to choose from (a two-step question on one page, without
   * JavaScript); open when one of its options is chosen, or to show an error.
   */
  groups: { id: string; heading: string; items: ChoiceItem[]; open: boolean }[];
  /** Many short options (age bands): small controls side by side where the screen allows. */
  compact: boolean;
  /** Text questions: the typed value, and the "Prefer not to say" box. */
  value: string;
  preferNot?: ChoiceItem & { name: string };
  max?: number;
}

export interface PageView {
  title: string;
  /** Where the respondent is, in words (the page's section). */
  caption?: string;
  heading?: string;
  intro: string[];
  questions: QuestionView[];
  errors: FieldError[];
}

// About you's eight age bands fit two to a row on a phone; four genders are
// short enough as a list, and the categories of a concern and the Top 3 issues are too long.
const COMPACT_MIN_OPTIONS = 6;
const GROUPS_HINT = 'Open the group that fits best, then choose from it.';
const SHORT_LABEL = 18;

/** The page heading: its title, or its first question's heading (or wording). */
export function pageHeading(page: Page): string {
  const first = page.questions[0] as Question;
  return page.title ?? first.heading ?? first.label;
}

const asList = (value: Value | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** Builds what a question page shows, from the definition, what is on offer now, and the values to show. */
export function questionPageView(page: Page, before: Values, shown: FormValues, errors: FieldError[]): PageView {
  // A page without a title is headed by its first question: its legend or label is the h1.
  const headingIsQuestion = !page.title;
  const questions = page.questions.map((question, index): QuestionView => {
    const error = errors.find((e) => e.field === question.id)?.message;
    const paragraphs = question.type === 'text' ? (question.paragraphs ?? []) : [];
    const infoIds = paragraphs.map((_, i) => (i ? `${question.id}-info-${i + 1}` : `${question.id}-info`));
    const leadId = question.heading ? `${question.id}-lead` : '';
    const grouped = question.type === 'single' || question.type === 'multiple' ? (question.groups ?? []) : [];
    // How to answer a question in groups is the page's business, not the survey's wording (the paper has none).
    const hint = question.hint ?? (grouped.length ? GROUPS_HINT : undefined);
    const hintId = hint ? `${question.id}-hint` : '';
    const errorId = error ? `${question.id}-error` : '';
    const selected = asList(shown[question.id]);
    const items = (question.type === 'text' ? [] : availableOptions(question, before)).map((option, i) => ({
      id: i === 0 ? question.id : `${question.id}-${i + 1}`,
      value: option.code,
      text: option.label,
      ...(option.hint ? { hint: option.hint } : {}),
      checked: selected.includes(option.code),
    }));
    const groups = grouped
      .map((group, i) => ({
        id: `${question.id}-group-${i + 1}`,
        heading: group.heading,
        items: items.filter((item) => group.codes.includes(item.value)),
        open: Boolean(error) || items.some((item) => item.checked && group.codes.includes(item.value)),
      }))
      .filter((group) => group.items.length > 0);
    const inGroups = new Set(grouped.flatMap((g) => g.codes));
    const compact =
      !groups.length && items.length >= COMPACT_MIN_OPTIONS && items.every((i) => i.text.length <= SHORT_LABEL);
    const view: QuestionView = {
      id: question.id,
      type: question.type,
      label: question.heading ?? question.label,
      ...(question.heading ? { lead: question.label } : {}),
      paragraphs,
      isPageHeading: headingIsQuestion && index === 0,
      describedBy: [leadId, ...infoIds, hintId, errorId].filter(Boolean).join(' '),
      items: items.filter((item) => !inGroups.has(item.value)),
      groups,
      compact,
      value: question.type === 'text' ? selected.filter((v) => v !== question.preferNotToSay?.code).join(' ') : '',
      ...(hint ? { hint } : {}),
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
    // The caption says where the respondent is, unless the heading already says it ("About you").
    ...(page.section && page.section !== title ? { caption: page.section } : {}),
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

export interface SummarySection {
  /** The pages' summary heading (or section); none when the survey gives neither. */
  heading?: string;
  rows: SummaryRow[];
}

/**
 * Check your answers: every question on the route taken, in order, "Not
 * answered" where skipped, by its short key, under the headings of its pages
 * (consecutive pages with one heading share it).
 */
export function summarySections(j: Journey, base: string): SummarySection[] {
  const sections: SummarySection[] = [];
  for (const page of j.route) {
    const heading = page.summaryHeading ?? page.section;
    let section = sections.at(-1);
    if (!section || section.heading !== heading) {
      section = { ...(heading ? { heading } : {}), rows: [] };
      sections.push(section);
    }
    for (const question of page.questions)
      section.rows.push({
        key: keyOf(question),
        values: answerText(question, j.answers[page.id]?.[question.id]),
        changeHref: `${base}/${page.id}?return=${encodeURIComponent('check-answers')}`,
        changeLabel: keyOf(question),
      });
  }
  return sections;
}

/** Whether nothing at all on the route was answered (every page left blank). */
export function nothingAnswered(j: Journey): boolean {
  return Object.keys(j.values).length === 0;
}

/** "Most important issue" as it reads mid-sentence; an acronym ("ASB") keeps its capitals. */
function inSentence(key: string): string {
  return /^[A-Z][A-Z]/.test(key) ? key : `${key.charAt(0).toLowerCase()}${key.slice(1)}`;
}

/**
 * What a change dropped, in words for the respondent: "Your answers about
 * Anti-social behaviour as your most important issue were removed because you
 * changed your most important issue to Property crime."
 */
export function removalMessages(survey: Survey, removals: readonly Removal[], route: readonly Page[]): string[] {
  // A question id is asked on one page of a route: the route's own (its category's wording), else the survey's first.
  const questionOf = (id: string) =>
    route.flatMap((p) => p.questions).find((q) => q.id === id) ?? survey.questionsById.get(id)?.[0];
  const labelOf = (question: Question | undefined, code: string) =>
    (question && optionsOf(question).find((o) => o.code === code)?.label) ?? code;
  return removals.map((removal) => {
    const plural = removal.questions.length !== 1;
    const yours = plural ? 'Your answers' : 'Your answer';
    const were = plural ? 'were' : 'was';
    const keys = removal.pages
      .flatMap((pageId) =>
        (survey.pageById.get(pageId)?.questions ?? []).filter((q) => removal.questions.includes(q.id)),
      )
      .map((q) => `‘${keyOf(q)}’`);
    const named = keys.length > 1 ? `${keys.slice(0, -1).join(', ')} and ${keys.at(-1)}` : (keys[0] ?? '');
    const about = removal.about && questionOf(removal.about.question);
    const because = removal.because && questionOf(removal.because.question);
    // A choice of categories is named by the one dropped; a yes/no by the questions that followed it.
    const what =
      removal.about && about && about.type !== 'yesno'
        ? `${yours} about ${labelOf(about, removal.about.code)} as your ${inSentence(keyOf(about))} ${were}`
        : `${yours} to ${named} ${were}`;
    if (removal.kind === 'taken' && because && removal.because?.code)
      return `${what} removed because ${labelOf(because, removal.because.code)} is now your ${inSentence(keyOf(because))}.`;
    if (removal.kind === 'not-reached' && because && removal.because) {
      const code = removal.because.code;
      if (because.type === 'single')
        return code
          ? `${what} removed because you changed your ${inSentence(keyOf(because))} to ${labelOf(because, code)}.`
          : `${what} removed because you left your ${inSentence(keyOf(because))} unanswered.`;
      return code
        ? `${what} removed because you changed your answer to ‘${keyOf(because)}’ to ${labelOf(because, code)}.`
        : `${what} removed because you left ‘${keyOf(because)}’ unanswered.`;
    }
    return `${yours} to ${named} ${were} removed because ${plural ? 'they no longer apply' : 'it no longer applies'} to your other answers.`;
  });
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

/** The Back link: the page before this one on the route (with `query`, if any), or the start page. */
export function backLink(base: string, route: readonly Page[], pageId: string, query = ''): string {
  const at = route.findIndex((p) => p.id === pageId);
  const previous = at > 0 ? route[at - 1] : at === -1 ? route[route.length - 1] : undefined;
  return previous ? `${base}/${previous.id}${query}` : base;
}
