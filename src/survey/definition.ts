import { z } from 'zod';

/** The page id that every route ends on once all its pages are answered. */
export const CHECK_ANSWERS = 'check-answers';
/** Page ids the respondent routes use for themselves. */
export const RESERVED_PAGE_IDS = [CHECK_ANSWERS, 'start', 'thank-you', 'resume', 'closed'] as const;

const code = z.string().regex(/^[a-z0-9_]+$/, 'codes are lower case letters, digits and _');
const questionId = z.string().regex(/^[a-z][a-z0-9_]*$/, 'question ids are lower case letters, digits and _');
const pageId = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'page ids are lower case letters, digits and -');
const text = z.string().trim().min(1);
const paragraphs = z.array(text);

const option = z.object({ code, label: text, hint: text.optional() });

/**
 * Options shown under a heading of their own (radio or checkbox sections).
 * The groups take the options in their order; options after the last group
 * are shown after them, unheaded. Codes and their order are unchanged.
 */
const optionGroup = z.strictObject({ heading: text, codes: z.array(code).min(1) });

export const conditionSchema = z.union([
  z.strictObject({ question: questionId, equals: code }),
  z.strictObject({ question: questionId, includes: code }),
]);

const questionBase = {
  id: questionId,
  /** The question as the survey words it: printed on paper, and shown online (as the lead when there is a heading). */
  label: text,
  /**
   * A short heading shown online instead of the label as the question's legend
   * (the page's h1 when it heads the page), with the label as the lead
   * paragraph under it: a long wording then leaves the first option on a phone's first screen.
   */
  heading: text.optional(),
  /** A short noun phrase naming the answer on Check your answers and in the analysts' tables ("Gender"). */
  key: text.optional(),
  hint: text.optional(),
  /** Analysis: count this question's answers separately for each answer to that question (its category). */
  groupBy: questionId.optional(),
};

const singleChoice = z.strictObject({
  ...questionBase,
  type: z.literal('single'),
  options: z.array(option).min(1),
  groups: z.array(optionGroup).optional(),
  /** Leave out options already given as the answer to these questions ("categories already chosen"). */
  excludeAnswersOf: z.array(questionId).optional(),
});

const multipleChoice = z.strictObject({
  ...questionBase,
  type: z.literal('multiple'),
  options: z.array(option).min(1),
  groups: z.array(optionGroup).optional(),
  max: z.number().int().min(1),
  /** The thing counted in the "too many ticks" message: "Select up to 3 {noun}". */
  noun: text.optional(),
});

const yesNo = z.strictObject({
  ...questionBase,
  type: z.literal('yesno'),
});

const textQuestion = z.strictObject({
  ...questionBase,
  type: z.literal('text'),
  format: z.enum(['postcode']),
  /** A choice beside the field that is stored as its code instead of a value. */
  preferNotToSay: option.optional(),
  paragraphs: paragraphs.optional(),
});

export const questionSchema = z.discriminatedUnion('type', [singleChoice, multipleChoice, yesNo, textQuestion]);

const routeEntry = z.strictObject({ when: conditionSchema.optional(), goto: pageId });

const pageSchema = z.strictObject({
  id: pageId,
  /** The page heading; a page without one uses its first question (its heading, or label) as the heading. */
  title: text.optional(),
  /** Where the respondent is, in words, shown as a caption over the heading ("Your priorities"): all pages or none. */
  section: text.optional(),
  /** The heading this page's answers are listed under on Check your answers; the section when not given. */
  summaryHeading: text.optional(),
  intro: paragraphs.optional(),
  questions: z.array(questionSchema).min(1),
  next: z.array(routeEntry).min(1),
});

/** How the analysis presents the survey's questions; every id must be a question of the survey. */
const analysisSchema = z.strictObject({
  /** The question charted as the headline ("the single most important issue"). */
  headline: questionId,
  /** The question that places a respondent (the local authority area); filters use it. */
  area: questionId,
  /** Questions that rank the same options (most, second, third): the combined view counts an option once per respondent. */
  ranks: z.array(questionId).default([]),
  /** How tables name each rank ("Most important issue", "Second most important issue"...). */
  rankLabels: z.array(text).default([]),
  /** Each rank's follow-up (grouped by that rank's answer), combined across ranks by the same rule. */
  rankFollowUps: z.array(questionId).default([]),
  /** Yes/no pairs per rank: "have you been a victim?" and "did you report it?", grouped by category. */
  victims: z.array(z.strictObject({ victim: questionId, reported: questionId })).default([]),
  /** The "About you" questions: each shows "Not provided" on the base of respondents who reached the page. */
  aboutYou: z.strictObject({ page: pageId, questions: z.array(questionId) }).optional(),
  /** Cross-tabulations of one question by others; a postcode question is grouped by district. */
  crosstabs: z.strictObject({ question: questionId, by: z.array(questionId) }).optional(),
});

/**
 * How respondents are placed in published population figures, for
 * representativeness and weighting: per variable (age, sex, ethnic_group), the
 * question it is read from and its categories in their natural order (only
 * neighbours may be merged), each the option codes that fall in it. Codes in
 * no category (under 18, prefer not to say) have no population row.
 */
const populationSchema = z.strictObject({
  variables: z.record(
    z.string().regex(/^[a-z][a-z0-9_]*$/, 'population variables are lower case letters, digits and _'),
    z.strictObject({
      question: questionId,
      label: text,
      categories: z.array(z.strictObject({ category: code, label: text, codes: z.array(code).min(1) })).min(2),
    }),
  ),
  /** What the figures can and cannot say, shown wherever they are used. */
  caveats: paragraphs.default([]),
});

/**
 * The series a survey is one wave of ("Community Safety Priorities": 2019, 2020, …): the results
 * compare a wave with an earlier one of the same series `id`, question by question and code by code.
 * Waves are ordered by `wave`, compared as numbers where they hold them ("2019" before "2020").
 */
const seriesSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'series ids are lower case letters, digits and -'),
  title: text,
  /** This wave's short name, on the axis of the trend chart and in the comparison's column headings ("2019"). */
  wave: text,
});

const surveyShape = z.strictObject({
  slug: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
  title: text,
  series: seriesSchema.optional(),
  owner: text,
  intro: paragraphs,
  thankYou: paragraphs,
  /** What a link shared on social media says under the title; the first sentences of the intro when not given. */
  shareSummary: text.optional(),
  /** ISO 8601 instants; the survey accepts answers from opensAt until closesAt. */
  opensAt: z.iso.datetime({ offset: true }).optional(),
  closesAt: z.iso.datetime({ offset: true }).optional(),
  /** Share-link sources (`?src=CODE`); anything else is recorded as `web`. */
  channels: z.array(option),
  start: pageId,
  pages: z.array(pageSchema).min(1),
  analysis: analysisSchema.optional(),
  population: populationSchema.optional(),
});
type SurveyShape = z.infer<typeof surveyShape>;
const surveySchema = surveyShape.superRefine(checkStructure);

export type Option = z.infer<typeof option>;
export type OptionGroup = z.infer<typeof optionGroup>;
export type Condition = z.infer<typeof conditionSchema>;
export type Question = z.infer<typeof questionSchema>;
export type Page = z.infer<typeof pageSchema>;
export type RouteEntry = z.infer<typeof routeEntry>;
export type AnalysisSettings = z.infer<typeof analysisSchema>;
export type PopulationSettings = z.infer<typeof populationSchema>;
export type SeriesSettings = z.infer<typeof seriesSchema>;
export type SurveyInput = z.input<typeof surveySchema>;

export interface Survey extends SurveyShape {
  /** The stored version this definition is (see src/surveys/store.ts); absent for one not read from the database. */
  readonly version?: number;
  /** Pages by id. */
  readonly pageById: ReadonlyMap<string, Page>;
  /** Every question id in codebook order (order of first appearance). */
  readonly questionIds: readonly string[];
  /** Every question by id; a question id used on several pages maps to each of them. */
  readonly questionsById: ReadonlyMap<string, readonly Question[]>;
  /** The pages that can follow each page on some route (not the page itself). */
  readonly reachableFrom: ReadonlyMap<string, ReadonlySet<string>>;
}

const YES_NO: Option[] = [
  { code: 'yes', label: 'Yes' },
  { code: 'no', label: 'No' },
];

/** The codes of the survey's area question (analysis.area): its districts, and a filter of every table. */
export function areaCodes(survey: Pick<Survey, 'analysis' | 'questionsById'>): string[] {
  const id = survey.analysis?.area;
  const question = id ? survey.questionsById.get(id)?.[0] : undefined;
  return question && (question.type === 'single' || question.type === 'multiple')
    ? question.options.map((o) => o.code)
    : [];
}

/** The area question's options by code: the names of the districts. */
export function areaLabels(survey: Pick<Survey, 'analysis' | 'questionsById'>): Map<string, string> {
  const id = survey.analysis?.area;
  const question = id ? survey.questionsById.get(id)?.[0] : undefined;
  return new Map(question ? optionsOf(question).map((o) => [o.code, o.label]) : []);
}

/** The options a question offers before any are left out. */
export function optionsOf(question: Question): Option[] {
  switch (question.type) {
    case 'single':
    case 'multiple':
      return question.options;
    case 'yesno':
      return YES_NO;
    case 'text':
      return question.preferNotToSay ? [question.preferNotToSay] : [];
  }
}

/** What Check your answers and the analysts' tables call a question: its key, else its heading, else its label. */
export function keyOf(question: Question): string {
  return question.key ?? question.heading ?? question.label;
}

/** Raised when a survey definition cannot be served; lists every problem found. */
export class DefinitionError extends Error {
  constructor(
    readonly slug: string,
    readonly problems: string[],
  ) {
    super(`Survey definition "${slug}" is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'DefinitionError';
  }
}

/** Validates a survey definition and indexes it; throws DefinitionError listing every problem. */
export function defineSurvey(input: unknown): Survey {
  const parsed = surveySchema.safeParse(input);
  if (!parsed.success) {
    const slug =
      typeof input === 'object' && input !== null && typeof (input as { slug?: unknown }).slug === 'string'
        ? (input as { slug: string }).slug
        : '(no slug)';
    throw new DefinitionError(
      slug,
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(survey)'}: ${issue.message}`),
    );
  }
  const survey = parsed.data;
  const pageById = new Map(survey.pages.map((page) => [page.id, page]));
  const questionsById = new Map<string, Question[]>();
  for (const page of survey.pages) {
    for (const question of page.questions) {
      const list = questionsById.get(question.id) ?? [];
      list.push(question);
      questionsById.set(question.id, list);
    }
  }
  const reachableFrom = new Map<string, Set<string>>();
  const reach = (id: string): Set<string> => {
    const known = reachableFrom.get(id);
    if (known) return known;
    const found = new Set<string>();
    for (const { goto } of pageById.get(id)?.next ?? []) {
      if (goto === CHECK_ANSWERS) continue;
      found.add(goto);
      for (const later of reach(goto)) found.add(later);
    }
    reachableFrom.set(id, found);
    return found;
  };
  for (const page of survey.pages) reach(page.id);
  return Object.freeze({ ...survey, pageById, questionIds: [...questionsById.keys()], questionsById, reachableFrom });
}

/** Routing checks that zod's shape checks cannot express: targets, cycles, reachability, question reuse. */
function checkStructure(survey: SurveyShape, ctx: z.RefinementCtx): void {
  const problem = (message: string, path: (string | number)[] = []) => ctx.addIssue({ code: 'custom', message, path });
  const pages = new Map<string, Page>();
  survey.pages.forEach((page, i) => {
    if (pages.has(page.id)) problem(`duplicate page id "${page.id}"`, ['pages', i, 'id']);
    if ((RESERVED_PAGE_IDS as readonly string[]).includes(page.id))
      problem(`page id "${page.id}" is reserved`, ['pages', i, 'id']);
    pages.set(page.id, page);
  });
  if (!pages.has(survey.start)) problem(`start page "${survey.start}" does not exist`, ['start']);
  if (survey.opensAt && survey.closesAt && Date.parse(survey.opensAt) >= Date.parse(survey.closesAt))
    problem('closesAt must be after opensAt', ['closesAt']);

  const codesOf = new Map<string, Set<string>>();
  for (const page of survey.pages) {
    for (const question of page.questions) {
      const codes = codesOf.get(question.id) ?? new Set<string>();
      for (const o of optionsOf(question)) codes.add(o.code);
      codesOf.set(question.id, codes);
    }
  }

  survey.pages.forEach((page, i) => {
    const seen = new Set<string>();
    page.questions.forEach((question, j) => {
      const at = ['pages', i, 'questions', j];
      if (seen.has(question.id)) problem(`question "${question.id}" appears twice on page "${page.id}"`, at);
      seen.add(question.id);
      const codes = optionsOf(question).map((o) => o.code);
      const dup = codes.find((c, k) => codes.indexOf(c) !== k);
      if (dup) problem(`option code "${dup}" appears twice in question "${question.id}"`, at);
      if (question.type === 'multiple' && question.max > question.options.length)
        problem(
          `question "${question.id}" allows ${question.max} ticks but has ${question.options.length} options`,
          at,
        );
      if ((question.type === 'single' || question.type === 'multiple') && question.groups)
        checkGroups(question.id, codes, question.groups, (message) => problem(message, at));
      if (question.groupBy && !codesOf.has(question.groupBy))
        problem(`question "${question.id}" is grouped by unknown question "${question.groupBy}"`, at);
      if (question.type === 'single')
        for (const other of question.excludeAnswersOf ?? [])
          if (!codesOf.has(other))
            problem(`question "${question.id}" leaves out answers of unknown question "${other}"`, at);
    });
    page.next.forEach((entry, k) => {
      const at = ['pages', i, 'next', k];
      if (entry.goto !== CHECK_ANSWERS && !pages.has(entry.goto))
        problem(`page "${page.id}" routes to unknown page "${entry.goto}"`, at);
      if (entry.when) {
        const value = 'equals' in entry.when ? entry.when.equals : entry.when.includes;
        const codes = codesOf.get(entry.when.question);
        if (!codes) problem(`page "${page.id}" routes on unknown question "${entry.when.question}"`, at);
        else if (!codes.has(value))
          problem(
            `page "${page.id}" routes on "${entry.when.question}" = "${value}", which is not one of its codes`,
            at,
          );
      }
    });
    const keys = page.questions.map(keyOf);
    const twice = keys.find((k, j) => keys.indexOf(k) !== j);
    if (twice)
      problem(`two questions on page "${page.id}" are both called "${twice}" on Check your answers`, ['pages', i]);
    const last = page.next[page.next.length - 1];
    if (last?.when) problem(`page "${page.id}" needs a last route without "when" (the default)`, ['pages', i, 'next']);
  });
  for (const [variable, mapped] of Object.entries(survey.population?.variables ?? {})) {
    const at = ['population', 'variables', variable];
    const question = codesOf.get(mapped.question);
    if (!question) {
      problem(`population variable "${variable}" reads unknown question "${mapped.question}"`, at);
      continue;
    }
    const placed = new Set<string>();
    for (const c of mapped.categories) {
      for (const code of c.codes) {
        if (!question.has(code))
          problem(
            `population category "${variable}.${c.category}" names "${code}", not an option of "${mapped.question}"`,
            at,
          );
        if (placed.has(code)) problem(`population variable "${variable}" puts "${code}" in two categories`, at);
        placed.add(code);
      }
    }
  }
  const sectioned = survey.pages.filter((p) => p.section).length;
  if (sectioned && sectioned < survey.pages.length)
    for (const [i, page] of survey.pages.entries())
      if (!page.section)
        problem(`page "${page.id}" has no section while other pages have one: give every page a section, or none`, [
          'pages',
          i,
          'section',
        ]);
  if (survey.analysis) {
    const a = survey.analysis;
    const ids: [string, string][] = [
      ['headline', a.headline],
      ['area', a.area],
      ...a.ranks.map((id): [string, string] => ['ranks', id]),
      ...a.rankFollowUps.map((id): [string, string] => ['rankFollowUps', id]),
      ...a.victims.flatMap((v): [string, string][] => [
        ['victims', v.victim],
        ['victims', v.reported],
      ]),
      ...(a.aboutYou?.questions ?? []).map((id): [string, string] => ['aboutYou', id]),
      ...(a.crosstabs ? [a.crosstabs.question, ...a.crosstabs.by] : []).map((id): [string, string] => [
        'crosstabs',
        id,
      ]),
    ];
    for (const [where, id] of ids)
      if (!codesOf.has(id)) problem(`analysis.${where} names unknown question "${id}"`, ['analysis']);
    if (a.aboutYou && !pages.has(a.aboutYou.page))
      problem(`analysis.aboutYou names unknown page "${a.aboutYou.page}"`, ['analysis']);
    if (a.rankLabels.length && a.rankLabels.length !== a.ranks.length)
      problem('analysis.rankLabels needs one label per rank', ['analysis']);
    if (a.rankFollowUps.length && a.rankFollowUps.length !== a.ranks.length)
      problem('analysis.rankFollowUps needs one follow-up per rank', ['analysis']);
  }
  if (!pages.has(survey.start)) return;

  // Depth-first walk from the start: finds cycles and unreachable pages, and the
  // questions that lie ahead of each page, so a question asked twice on one route is caught.
  const state = new Map<string, 'active' | 'done'>();
  const ahead = new Map<string, Set<string>>();
  const visit = (id: string): Set<string> => {
    const page = pages.get(id);
    if (!page) return new Set();
    if (state.get(id) === 'done') return ahead.get(id) ?? new Set();
    if (state.get(id) === 'active') {
      problem(`routing has a cycle through page "${id}"`, ['pages']);
      return new Set();
    }
    state.set(id, 'active');
    const later = new Set<string>();
    for (const entry of page.next) {
      if (entry.goto === CHECK_ANSWERS) continue;
      for (const q of visit(entry.goto)) later.add(q);
    }
    for (const question of page.questions) {
      if (later.has(question.id))
        problem(`question "${question.id}" on page "${id}" can be asked again later on the same route`, ['pages']);
    }
    for (const question of page.questions) later.add(question.id);
    state.set(id, 'done');
    ahead.set(id, later);
    return later;
  };
  visit(survey.start);
  for (const page of survey.pages)
    if (!state.has(page.id)) problem(`page "${page.id}" cannot be reached from the start`, ['pages']);
}

/**
 * Option groups take the options in their order, each code once: so the
 * sections show the codes in codebook order, and none is lost or shown twice.
 */
function checkGroups(id: string, codes: string[], groups: OptionGroup[], problem: (message: string) => void): void {
  const grouped = groups.flatMap((g) => g.codes);
  for (const c of grouped)
    if (!codes.includes(c)) problem(`question "${id}" groups the code "${c}", which is not one of its options`);
  const twice = grouped.find((c, k) => grouped.indexOf(c) !== k);
  if (twice) problem(`question "${id}" puts the code "${twice}" in two groups`);
  if (grouped.some((c, k) => codes[k] !== c))
    problem(`question "${id}" must group its options in their order, from the first (ungrouped ones come last)`);
}
