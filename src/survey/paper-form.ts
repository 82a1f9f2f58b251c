import {
  CHECK_ANSWERS,
  type Condition,
  optionsOf,
  type Page,
  type Question,
  type RouteEntry,
  type Survey,
} from './definition.ts';

// The survey as a paper form, derived from its definition: every page of every
// branch laid out once, in an order where each page comes before the pages it
// leads to, with the questions numbered and the routing written out as a paper
// form says it ("Go to question 18", "Answer question 5 only if ..."). The
// printable questionnaire and the staff's paper-entry page both show this
// model, so a question's number is the same on the paper and on the screen.

/** A condition as the paper says it: the option's label and the numbers of the question(s) it is ticked at. */
export interface PaperCondition {
  label: string;
  numbers: number[];
}

export interface PaperOption {
  code: string;
  label: string;
  /** Where this answer leads, when the page routes on this question ("Go to question 3"). */
  goto?: string;
}

export interface PaperQuestion {
  /** Numbered from 1 across the whole form. */
  number: number;
  page: Page;
  question: Question;
  /** The field name on the staff's paper-entry page: `q<number>`. */
  field: string;
  label: string;
  hint?: string;
  paragraphs: string[];
  /** How to answer on paper: "Tick one box.", "Tick up to 3 boxes.", and any options to leave out. */
  instruction: string;
  /** The boxes to tick (empty for a write-in question). */
  options: PaperOption[];
  /** The boxes under headings of their own (the definition's option groups); the rest of `options` follow them. */
  groups: { heading: string; options: PaperOption[] }[];
  /** A write-in question's "Prefer not to say" box. */
  preferNotToSay?: PaperOption;
  /** Where to go if this question, which decides the route, is left blank. */
  ifBlank?: string;
  /** The numbers of earlier questions whose answers must not be ticked again. */
  excludes: number[];
}

export interface PaperSection {
  page: Page;
  title?: string;
  intro: string[];
  questions: PaperQuestion[];
  /** When the section applies at all: any one of these answers leads to it. Empty when everyone answers it. */
  onlyIf: PaperCondition[];
  /** The same, in words for the respondent ("Answer question 5 only if you ticked ‘Yes’ at question 4."). */
  onlyIfText?: string;
  /** Routing in words after the questions ("Now go to question 18."), when the next section is not next. */
  then: string[];
}

export interface PaperForm {
  sections: PaperSection[];
  questions: PaperQuestion[];
}

/** "question 3", "questions 3 and 4", "questions 50 to 53". */
export function questionRange(numbers: number[]): string {
  if (numbers.length === 0) return '';
  if (numbers.length === 1) return `question ${numbers[0]}`;
  if (numbers.length === 2) return `questions ${numbers[0]} and ${numbers[1]}`;
  return `questions ${numbers[0]} to ${numbers[numbers.length - 1]}`;
}

/** "2", "2 or 18", "3, 6 or 9". */
function orList(numbers: number[]): string {
  if (numbers.length <= 1) return String(numbers[0] ?? '');
  return `${numbers.slice(0, -1).join(', ')} or ${numbers[numbers.length - 1]}`;
}

/** A condition for the respondent: "you ticked ‘Violence’ at question 2". */
export function conditionText(c: PaperCondition): string {
  return `you ticked ‘${c.label}’ at question ${orList(c.numbers)}`;
}

/**
 * The pages in the order they are printed: each page before every page it can
 * lead to, ties broken by the order of the definition (so a follow-up sits
 * under the question that leads to it, and its "Did you report" right after it).
 */
export function printOrder(survey: Survey): Page[] {
  const index = new Map(survey.pages.map((p, i) => [p.id, i]));
  const incoming = new Map(survey.pages.map((p) => [p.id, 0]));
  const targets = (page: Page) => [...new Set(page.next.map((e) => e.goto))].filter((id) => id !== CHECK_ANSWERS);
  for (const page of survey.pages) for (const id of targets(page)) incoming.set(id, (incoming.get(id) ?? 0) + 1);
  const ready = survey.pages.filter((p) => incoming.get(p.id) === 0);
  const order: Page[] = [];
  while (ready.length) {
    ready.sort((a, b) => (index.get(a.id) ?? 0) - (index.get(b.id) ?? 0));
    const page = ready.shift() as Page;
    order.push(page);
    for (const id of targets(page)) {
      const left = (incoming.get(id) ?? 0) - 1;
      incoming.set(id, left);
      if (left === 0) ready.push(survey.pageById.get(id) as Page);
    }
  }
  return order;
}

/** The routes a page can take: its conditional entries up to the first default, and that default. */
function routesOf(page: Page): { conditional: (RouteEntry & { when: Condition })[]; fallback: string } {
  const at = page.next.findIndex((e) => !e.when);
  const conditional = page.next.slice(0, at).filter((e): e is RouteEntry & { when: Condition } => Boolean(e.when));
  return { conditional, fallback: (page.next[at] as RouteEntry).goto };
}

/** Online hints that only count ticks ("Select up to 3.") say the same as the paper's own instruction. */
const COUNTING_HINT = /^select up to \d+\.?$/i;

/** Lays out the survey as a paper form (see the top of this file). */
export function paperForm(survey: Survey): PaperForm {
  const order = printOrder(survey);
  const position = new Map(order.map((p, i) => [p.id, i]));

  // Number every question first: routing refers forwards as well as back.
  const numbered = new Map<string, number[]>();
  let counter = 0;
  for (const page of order) {
    numbered.set(
      page.id,
      page.questions.map(() => ++counter),
    );
  }
  const firstNumber = (pageId: string) => numbered.get(pageId)?.[0] ?? 0;
  const goto = (target: string) =>
    target === CHECK_ANSWERS ? 'Go to the end of the questionnaire' : `Go to question ${firstNumber(target)}`;

  /** The number a question has on page `at`, or else the numbers it has on the pages printed before it. */
  const numbersOf = (questionId: string, at: Page): number[] => {
    const here = at.questions.findIndex((q) => q.id === questionId);
    if (here >= 0) return [numbered.get(at.id)?.[here] ?? 0];
    const limit = position.get(at.id) ?? 0;
    const found: number[] = [];
    for (const page of order.slice(0, limit)) {
      page.questions.forEach((q, i) => {
        if (q.id === questionId) found.push(numbered.get(page.id)?.[i] ?? 0);
      });
    }
    return found;
  };

  const conditionOf = (when: Condition, on: Page): PaperCondition => {
    const code = 'equals' in when ? when.equals : when.includes;
    const question = survey.questionsById.get(when.question)?.[0];
    const label = (question && optionsOf(question).find((o) => o.code === code)?.label) ?? code;
    return { label, numbers: numbersOf(when.question, on) };
  };

  // Which answers lead to each page: a page reached by any default route applies to everyone.
  const leadsTo = new Map<string, { conditions: PaperCondition[]; always: boolean }>();
  for (const page of order) {
    const { conditional, fallback } = routesOf(page);
    const mark = (target: string, condition?: PaperCondition) => {
      const entry = leadsTo.get(target) ?? { conditions: [], always: false };
      if (condition) entry.conditions.push(condition);
      else entry.always = true;
      leadsTo.set(target, entry);
    };
    for (const entry of conditional) mark(entry.goto, conditionOf(entry.when, page));
    mark(fallback);
  }

  const questions: PaperQuestion[] = [];
  const sections = order.map((page, i): PaperSection => {
    const numbers = numbered.get(page.id) ?? [];
    const following = order[i + 1]?.id ?? CHECK_ANSWERS;
    const { conditional, fallback } = routesOf(page);
    const last = page.questions[page.questions.length - 1] as Question;
    // Answers can carry their own "Go to" only when the page routes on its last
    // question alone, by single answers: a jump from an earlier question would
    // skip the rest of the page, which online is always asked.
    const byOption =
      conditional.length > 0 &&
      (last.type === 'single' || last.type === 'yesno') &&
      conditional.every((e) => e.when.question === last.id && 'equals' in e.when);

    const sectionQuestions = page.questions.map((question, k): PaperQuestion => {
      const number = numbers[k] as number;
      const routes = byOption && question === last;
      const options =
        question.type === 'text'
          ? []
          : optionsOf(question).map((o): PaperOption => {
              const entry = conditional.find((e) => 'equals' in e.when && e.when.equals === o.code);
              return { code: o.code, label: o.label, ...(routes ? { goto: goto(entry ? entry.goto : fallback) } : {}) };
            });
      const excludes =
        question.type === 'single' ? (question.excludeAnswersOf ?? []).flatMap((id) => numbersOf(id, page)) : [];
      let instruction: string;
      switch (question.type) {
        case 'single':
        case 'yesno':
          instruction = 'Tick one box.';
          break;
        case 'multiple':
          instruction =
            question.max >= question.options.length ? 'Tick all that apply.' : `Tick up to ${question.max} boxes.`;
          break;
        case 'text':
          instruction = `Write your ${question.format} in the box${question.preferNotToSay ? ', or tick the box if you prefer not to say' : ''}.`;
          break;
      }
      if (excludes.length) instruction += ` Do not tick an answer you gave at question ${orList(excludes)}.`;
      const hint = question.hint && !COUNTING_HINT.test(question.hint) ? question.hint : undefined;
      const paper: PaperQuestion = {
        number,
        page,
        question,
        field: `q${number}`,
        label: question.label,
        ...(hint ? { hint } : {}),
        paragraphs: question.type === 'text' ? (question.paragraphs ?? []) : [],
        instruction,
        options,
        groups:
          question.type === 'single' || question.type === 'multiple'
            ? (question.groups ?? []).map((g) => ({
                heading: g.heading,
                options: options.filter((o) => g.codes.includes(o.code)),
              }))
            : [],
        ...(question.type === 'text' && question.preferNotToSay
          ? { preferNotToSay: { code: question.preferNotToSay.code, label: question.preferNotToSay.label } }
          : {}),
        ...(routes ? { ifBlank: goto(fallback) } : {}),
        excludes,
      };
      questions.push(paper);
      return paper;
    });

    const then: string[] = [];
    if (conditional.length && !byOption) {
      for (const entry of conditional)
        then.push(`If ${conditionText(conditionOf(entry.when, page))}, ${goto(entry.goto).toLowerCase()}.`);
      then.push(`Otherwise, ${goto(fallback).toLowerCase()}.`);
    } else if (!conditional.length && fallback !== following) {
      then.push(`Now ${goto(fallback).toLowerCase()}.`);
    }

    const reached = leadsTo.get(page.id);
    const onlyIf = page.id === survey.start || !reached || reached.always ? [] : reached.conditions;
    return {
      page,
      ...(page.title ? { title: page.title } : {}),
      intro: page.intro ?? [],
      questions: sectionQuestions,
      onlyIf,
      ...(onlyIf.length
        ? {
            onlyIfText: `Answer ${questionRange(numbers)} only if ${onlyIf.map(conditionText).join(', or ')}.`,
          }
        : {}),
      then,
    };
  });
  return { sections, questions };
}
