import {
  CHECK_ANSWERS,
  type Condition,
  type Option,
  optionsOf,
  type Page,
  type Question,
  type Survey,
} from './definition.ts';
import { isStoredText } from './formats.ts';

/** One question's answer: a code, several codes, or a stored text value. */
export type Value = string | string[];
/** One page's answers by question id; a question left blank is absent. */
export type PageAnswers = Record<string, Value>;
/** A draft's answers by page id; a page that was submitted blank is present and empty. */
export type Answers = Record<string, PageAnswers>;
/** Answers flattened by question id, as in the response record. */
export type Values = Record<string, Value>;

export interface Journey {
  /** Pages on the respondent's route, in order: every submitted page, then the one to answer next (if any). */
  route: Page[];
  /**
   * The page to show next: the first on the route not yet submitted, or
   * check-answers. After a change made from Check your answers this is where
   * the respondent goes: the first page on the new route whose answers the
   * draft does not keep (never answered, or dropped by the change), so only
   * what the change makes necessary is asked before coming back.
   */
  next: string;
  /** Every page on the route has been submitted. */
  complete: boolean;
  /** The submitted answers that are on the route and still valid; nothing else is kept. */
  answers: Answers;
  /** The same answers by question id. */
  values: Values;
  /**
   * What a draft keeps: the route's answers, plus answers to pages that can
   * still follow the page to answer next (About you, after a change to the
   * first concern). Answers to branches no longer taken are dropped.
   */
  kept: Answers;
}

/** Options a question offers given the answers so far (categories already chosen are left out). */
export function availableOptions(question: Question, values: Values): Option[] {
  const options = optionsOf(question);
  if (question.type !== 'single' || !question.excludeAnswersOf) return options;
  const taken = new Set(question.excludeAnswersOf.map((id) => values[id]).filter((v) => typeof v === 'string'));
  return options.filter((o) => !taken.has(o.code));
}

// Per-question lookups, worked out once: an import checks every row against them.
const codeSets = new WeakMap<Question, ReadonlySet<string>>();
const codeOrders = new WeakMap<Question, ReadonlyMap<string, number>>();

/** Every code a question offers before any are left out (optionsOf as a set, kept). */
function allCodes(question: Question): ReadonlySet<string> {
  let codes = codeSets.get(question);
  if (!codes) {
    codes = new Set(optionsOf(question).map((o) => o.code));
    codeSets.set(question, codes);
  }
  return codes;
}

/** The codes of availableOptions, as a set: without building the options when none are left out. */
export function availableCodes(question: Question, values: Values): ReadonlySet<string> {
  const codes = allCodes(question);
  if (question.type !== 'single' || !question.excludeAnswersOf) return codes;
  let taken: Set<string> | undefined;
  for (const id of question.excludeAnswersOf) {
    const value = values[id];
    if (typeof value !== 'string' || !codes.has(value)) continue;
    taken ??= new Set();
    taken.add(value);
  }
  if (!taken) return codes;
  const left = new Set<string>();
  for (const code of codes) if (!taken.has(code)) left.add(code);
  return left;
}

export function matches(condition: Condition, values: Values): boolean {
  const value = values[condition.question];
  if ('equals' in condition) return value === condition.equals;
  return Array.isArray(value) && value.includes(condition.includes);
}

/** Where a page leads, first match wins; the definition guarantees a default. */
export function nextPageId(page: Page, values: Values): string {
  for (const entry of page.next) if (!entry.when || matches(entry.when, values)) return entry.goto;
  throw new Error(`page "${page.id}" has no default route`);
}

/** A stored answer is still valid when every code is one the question offers now. */
function stillValid(question: Question, value: Value, values: Values): boolean {
  const codes = availableCodes(question, values);
  switch (question.type) {
    case 'single':
    case 'yesno':
      return typeof value === 'string' && codes.has(value);
    case 'multiple':
      return (
        Array.isArray(value) &&
        value.length > 0 &&
        value.length <= question.max &&
        new Set(value).size === value.length &&
        value.every((c) => codes.has(c))
      );
    case 'text':
      return typeof value === 'string' && (codes.has(value) || isStoredText(question.format, value));
  }
}

/**
 * Walks the survey from its start through the submitted pages and returns the
 * respondent's route. It stops at the first page not yet submitted, or whose
 * stored answers no longer apply (an option since left out): that page is
 * asked again. Answers off the route are dropped.
 */
export function journey(survey: Survey, submitted: Answers): Journey {
  const route: Page[] = [];
  const { answers, values, stop } = walk(survey, submitted, route);
  if (stop) {
    const kept: Answers = { ...answers, ...stillToFollow(survey, stop, submitted, values) };
    return { route, next: stop.id, complete: false, answers, values, kept };
  }
  return { route, next: CHECK_ANSWERS, complete: true, answers, values, kept: answers };
}

/**
 * The answers and values on the route, as journey() gives them, without
 * working out what a draft keeps: for checking many responses (an import).
 */
export function routeAnswers(survey: Survey, submitted: Answers): { answers: Answers; values: Values } {
  const { answers, values } = walk(survey, submitted);
  return { answers, values };
}

/** Walks the route through the submitted pages; `stop` is the first page not (validly) submitted. */
function walk(
  survey: Survey,
  submitted: Answers,
  route?: Page[],
): { answers: Answers; values: Values; stop: Page | null } {
  const answers: Answers = {};
  const values: Values = {};
  let id = survey.start;
  while (id !== CHECK_ANSWERS) {
    const page = survey.pageById.get(id);
    if (!page) throw new Error(`unknown page "${id}"`);
    route?.push(page);
    const given = validAnswers(page, submitted, values);
    if (!given) return { answers, values, stop: page };
    answers[id] = given;
    Object.assign(values, given);
    id = nextPageId(page, values);
  }
  return { answers, values, stop: null };
}

/**
 * The submitted answers to pages that can still follow `next`, the page to
 * answer next. A page is reached through an answered page only by the branch
 * its answers choose, and through an unanswered one only by a branch that an
 * option still on offer (or the default) could choose; so the follow-up of a
 * category no longer chosen is dropped, while About you is kept.
 */
function stillToFollow(survey: Survey, next: Page, submitted: Answers, values: Values): Answers {
  const kept: Answers = {};
  const known: Values = { ...values };
  const possible = new Set(possibleTargets(next, known));
  for (const id of laterPages(survey, next.id)) {
    if (!possible.has(id)) continue;
    const page = survey.pageById.get(id) as Page;
    const pending = validAnswers(page, submitted, known);
    if (pending) {
      kept[id] = pending;
      Object.assign(known, pending);
      possible.add(nextPageId(page, known));
    } else {
      for (const target of possibleTargets(page, known)) possible.add(target);
    }
  }
  return kept;
}

const laterOrders = new WeakMap<Survey, Map<string, readonly string[]>>();

/**
 * The pages that can follow a page, each after every page that leads to it:
 * a page can reach fewer pages than any page before it. Sorted once per page.
 */
function laterPages(survey: Survey, id: string): readonly string[] {
  let orders = laterOrders.get(survey);
  if (!orders) {
    orders = new Map();
    laterOrders.set(survey, orders);
  }
  let later = orders.get(id);
  if (!later) {
    later = [...(survey.reachableFrom.get(id) ?? [])].sort(
      (a, b) => (survey.reachableFrom.get(b)?.size ?? 0) - (survey.reachableFrom.get(a)?.size ?? 0),
    );
    orders.set(id, later);
  }
  return later;
}

/** Where an unanswered page could lead, given the answers so far. */
function possibleTargets(page: Page, values: Values): string[] {
  return page.next
    .filter(({ when }) => {
      if (!when) return true;
      const question = page.questions.find((q) => q.id === when.question);
      if (!question) return !Object.hasOwn(values, when.question) || matches(when, values);
      const code = 'equals' in when ? when.equals : when.includes;
      return availableCodes(question, values).has(code);
    })
    .map(({ goto }) => goto);
}

/** A submitted page's answers, tidied, or null if it was not submitted or an answer no longer applies. */
function validAnswers(page: Page, submitted: Answers, values: Values): PageAnswers | null {
  const given = Object.hasOwn(submitted, page.id) ? submitted[page.id] : undefined;
  if (typeof given !== 'object' || given === null) return null;
  const tidy: PageAnswers = {};
  for (const q of page.questions) {
    if (!Object.hasOwn(given, q.id)) continue;
    const value = given[q.id] as Value;
    if (!stillValid(q, value, values)) return null;
    tidy[q.id] = q.type === 'multiple' ? inCodebookOrder(q, value as string[]) : value;
  }
  return tidy;
}

function inCodebookOrder(question: Question, codes: string[]): string[] {
  let order = codeOrders.get(question);
  if (!order) {
    order = new Map(optionsOf(question).map((o, i) => [o.code, i]));
    codeOrders.set(question, order);
  }
  const known = order;
  // Codes not offered are left out (stillValid has checked there are none); a repeat is kept once.
  return [...new Set(codes)]
    .filter((c) => known.has(c))
    .sort((a, b) => (known.get(a) as number) - (known.get(b) as number));
}

/**
 * Answers a change dropped, and why, so the respondent can be told: a page no
 * longer on the route (its follow-up of a category no longer chosen, with the
 * pages that followed it), or an answer no longer on offer (a later concern
 * now equal to the new first one).
 */
export interface Removal {
  /**
   * `not-reached`: the route's condition to the pages no longer holds;
   * `taken`: the answer is now given to an earlier question it may not repeat;
   * `other`: a reason this survey's routing cannot name (still reported).
   */
  kind: 'not-reached' | 'taken' | 'other';
  /** The pages whose answers were dropped, each after the pages that lead to it. */
  pages: string[];
  /** The questions whose answers were dropped, in the order of the pages. */
  questions: string[];
  /** not-reached: the condition that led to them; taken: the dropped answer itself. */
  about?: { question: string; code: string };
  /** The answer that caused it, as it is now; no code when it is now blank. */
  because?: { question: string; code?: string };
}

const predecessorsOf = new WeakMap<Survey, Map<string, Page[]>>();

/** The pages that route to each page. */
function predecessors(survey: Survey, id: string): Page[] {
  let all = predecessorsOf.get(survey);
  if (!all) {
    all = new Map();
    for (const page of survey.pages)
      for (const { goto } of page.next) {
        const list = all.get(goto) ?? [];
        if (!list.includes(page)) list.push(page);
        all.set(goto, list);
      }
    predecessorsOf.set(survey, all);
  }
  return all.get(id) ?? [];
}

/** Every page's answers flattened by question id. */
function flatten(answers: Answers): Values {
  const values: Values = {};
  for (const page of Object.values(answers)) Object.assign(values, page);
  return values;
}

/**
 * What a change to the page `changed` dropped from a draft: the answered
 * pages of `before` (what the draft kept before the change) that `after` (the
 * journey with the change) no longer keeps, other than the changed page
 * itself, grouped by their cause. Every dropped answer is in exactly one removal.
 */
export function removedAnswers(survey: Survey, before: Answers, changed: string, after: Journey): Removal[] {
  const dropped = Object.keys(before).filter(
    (id) =>
      id !== changed &&
      Object.hasOwn(before, id) &&
      survey.pageById.has(id) &&
      Object.keys(before[id] ?? {}).length > 0 &&
      !Object.hasOwn(after.kept, id),
  );
  if (!dropped.length) return [];
  const reach = (id: string) => survey.reachableFrom.get(id)?.size ?? 0;
  // A page reaches more pages than any page it leads to: this puts each page after those that lead to it.
  dropped.sort((a, b) => reach(b) - reach(a));
  const was = flatten(before);
  const now = flatten(after.kept);
  const removals: Removal[] = [];
  const removalOf = new Map<string, Removal>();
  const add = (removal: Removal) => {
    const same = removals.find(
      (r) =>
        r.kind === removal.kind &&
        JSON.stringify([r.about, r.because]) === JSON.stringify([removal.about, removal.because]),
    );
    if (same) {
      same.pages.push(...removal.pages);
      same.questions.push(...removal.questions);
      return same;
    }
    removals.push(removal);
    return removal;
  };
  for (const id of dropped) {
    const page = survey.pageById.get(id) as Page;
    const questions = page.questions.map((q) => q.id).filter((q) => Object.hasOwn(before[id] ?? {}, q));
    removalOf.set(id, add({ ...causeOf(survey, page, before, removalOf, was, now), pages: [id], questions }));
  }
  return removals;
}

/** Why a page's answers were dropped: see Removal. */
function causeOf(
  survey: Survey,
  page: Page,
  before: Answers,
  removalOf: ReadonlyMap<string, Removal>,
  was: Values,
  now: Values,
): Omit<Removal, 'pages' | 'questions'> {
  for (const question of page.questions) {
    if (question.type !== 'single' || !question.excludeAnswersOf) continue;
    const value = before[page.id]?.[question.id];
    const earlier = question.excludeAnswersOf.find((other) => typeof value === 'string' && now[other] === value);
    if (earlier && typeof value === 'string')
      return {
        kind: 'taken',
        about: { question: question.id, code: value },
        because: { question: earlier, code: value },
      };
  }
  // The page that led here before the change: if it was dropped too, this page goes with it.
  const leading = predecessors(survey, page.id).filter(
    (p) => Object.hasOwn(before, p.id) && nextPageId(p, was) === page.id,
  );
  for (const p of leading) {
    const removal = removalOf.get(p.id);
    if (removal) return { kind: removal.kind, ...pick(removal) };
  }
  for (const p of leading) {
    const entry = p.next.find((e) => e.goto === page.id && e.when && matches(e.when, was) && !matches(e.when, now));
    if (!entry?.when) continue;
    const code = 'equals' in entry.when ? entry.when.equals : entry.when.includes;
    const current = now[entry.when.question];
    return {
      kind: 'not-reached',
      about: { question: entry.when.question, code },
      because: { question: entry.when.question, ...(typeof current === 'string' ? { code: current } : {}) },
    };
  }
  return { kind: 'other' };
}

const pick = (r: Removal) => ({
  ...(r.about ? { about: r.about } : {}),
  ...(r.because ? { because: r.because } : {}),
});
