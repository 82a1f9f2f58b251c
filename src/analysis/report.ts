import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { Survey } from '../survey/definition.ts';
import { postcodeDistrict } from '../survey/formats.ts';
import { type Filters, filteredResponseIds } from './filters.ts';

/** How many answered a question, and how many gave each code (blanks are not counted). */
export interface Tally {
  answered: number;
  counts: Record<string, number>;
}

export interface VictimTally {
  /** Said yes to "have you been a victim". */
  victims: number;
  reported: number;
  notReported: number;
  /** Victims who left "did you report it" blank. */
  notAnswered: number;
}

export interface AboutYouTally {
  /** Respondents who reached the About you page. */
  base: number;
  counts: Record<string, number>;
  /** Chose "prefer not to say" or left it blank. */
  notProvided: number;
}

/** The analysis of a survey's responses under some filters: the model behind every table, chart and the JSON. */
export interface Report {
  survey: string;
  filters: Filters;
  responses: number;
  complete: number;
  partial: number;
  /** By question id; a question grouped by another (a follow-up) is keyed by that question's code first. */
  questions: Record<string, Tally | Record<string, Tally>>;
  /** Respondents who submitted each page (answered or left blank). */
  pagesReached: Record<string, number>;
  /** An option counted once per respondent whichever rank they gave it, and the follow-ups likewise. */
  combined: { ranks: Tally; followUps: Record<string, Tally> };
  victims: Record<string, VictimTally>;
  aboutYou: Record<string, AboutYouTally>;
  /** `<question>_by_<dimension>`, then the question's code, then the dimension's code: counts. */
  crosstabs: Record<string, Record<string, Record<string, number>>>;
  channels: Record<string, { complete: number; partial: number }>;
}

const n = (value: unknown) => Number(value ?? 0);

function add(target: Record<string, number>, key: string, count: number) {
  target[key] = (target[key] ?? 0) + count;
}

/** The record's entry for a key, created on first use. */
function entry<T>(record: Record<string, T>, key: string, make: () => T): T {
  if (!Object.hasOwn(record, key)) record[key] = make();
  return record[key] as T;
}

function emptyTally(): Tally {
  return { answered: 0, counts: {} };
}

/** Computes the report with a handful of grouped counts over the filtered responses. */
export async function buildReport(db: Kysely<Database>, survey: Survey, filters: Filters): Promise<Report> {
  const ids = () => filteredResponseIds(db, survey, filters);
  const analysis = survey.analysis;

  const report: Report = {
    survey: survey.slug,
    filters,
    responses: 0,
    complete: 0,
    partial: 0,
    questions: {},
    pagesReached: {},
    combined: { ranks: emptyTally(), followUps: {} },
    victims: {},
    aboutYou: {},
    crosstabs: {},
    channels: {},
  };

  const byStatus = await db
    .selectFrom('responses')
    .select(['status', 'channel', (eb) => eb.fn.countAll().as('n')])
    .where('id', 'in', ids())
    .groupBy(['status', 'channel'])
    .execute();
  for (const row of byStatus) {
    const count = n(row.n);
    report.responses += count;
    if (row.status === 'complete') report.complete += count;
    else report.partial += count;
    const channel = entry(report.channels, row.channel, () => ({ complete: 0, partial: 0 }));
    channel[row.status] += count;
  }

  const grouped = new Map<string, string>();
  for (const [id, questions] of survey.questionsById) {
    const groupBy = questions.find((q) => q.groupBy)?.groupBy;
    if (groupBy) grouped.set(id, groupBy);
  }

  // Ungrouped questions: counts per code and respondents answering.
  const [values, answered] = await Promise.all([
    db
      .selectFrom('response_values')
      .select(['question_id', 'value', (eb) => eb.fn.countAll().as('n')])
      .where('response_id', 'in', ids())
      .groupBy(['question_id', 'value'])
      .execute(),
    db
      .selectFrom('response_values')
      .select(['question_id', (eb) => eb.fn.count('response_id').distinct().as('n')])
      .where('response_id', 'in', ids())
      .groupBy('question_id')
      .execute(),
  ]);
  const flat = (id: string) => entry(report.questions, id, emptyTally) as Tally;
  for (const id of survey.questionIds) if (!grouped.has(id)) flat(id);
  for (const row of values) if (!grouped.has(row.question_id)) add(flat(row.question_id).counts, row.value, n(row.n));
  for (const row of answered) if (!grouped.has(row.question_id)) flat(row.question_id).answered = n(row.n);

  // Grouped questions (follow-ups): the same, per code of the question they are grouped by.
  for (const groupBy of new Set(grouped.values())) {
    const members = [...grouped].filter(([, g]) => g === groupBy).map(([id]) => id);
    for (const id of members) report.questions[id] = {};
    const joined = () =>
      db
        .selectFrom('response_values as v')
        .innerJoin('response_values as g', 'g.response_id', 'v.response_id')
        .where('g.question_id', '=', groupBy)
        .where('v.question_id', 'in', members)
        .where('v.response_id', 'in', ids());
    const [groupValues, groupAnswered] = await Promise.all([
      joined()
        .select(['g.value as grp', 'v.question_id', 'v.value', (eb) => eb.fn.countAll().as('n')])
        .groupBy(['g.value', 'v.question_id', 'v.value'])
        .execute(),
      joined()
        .select(['g.value as grp', 'v.question_id', (eb) => eb.fn.count('v.response_id').distinct().as('n')])
        .groupBy(['g.value', 'v.question_id'])
        .execute(),
    ]);
    const cell = (id: string, grp: string): Tally => {
      const byGroup = report.questions[id] as Record<string, Tally>;
      return entry(byGroup, grp, emptyTally);
    };
    for (const row of groupValues) add(cell(row.question_id, row.grp).counts, row.value, n(row.n));
    for (const row of groupAnswered) cell(row.question_id, row.grp).answered = n(row.n);
  }

  const pages = await db
    .selectFrom('response_pages')
    .select(['page_id', (eb) => eb.fn.countAll().as('n')])
    .where('response_id', 'in', ids())
    .groupBy('page_id')
    .execute();
  for (const row of pages) report.pagesReached[row.page_id] = n(row.n);

  if (!analysis) return report;

  if (analysis.ranks.length) {
    const [rankValues, rankAnswered] = await Promise.all([
      db
        .selectFrom('response_values')
        .select(['value', (eb) => eb.fn.count('response_id').distinct().as('n')])
        .where('question_id', 'in', analysis.ranks)
        .where('response_id', 'in', ids())
        .groupBy('value')
        .execute(),
      db
        .selectFrom('response_values')
        .select((eb) => eb.fn.count('response_id').distinct().as('n'))
        .where('question_id', 'in', analysis.ranks)
        .where('response_id', 'in', ids())
        .executeTakeFirst(),
    ]);
    for (const row of rankValues) report.combined.ranks.counts[row.value] = n(row.n);
    report.combined.ranks.answered = n(rankAnswered?.n);
    // A category can be chosen at one rank only, so summing the ranks' follow-ups counts each respondent once.
    for (const id of analysis.rankFollowUps) {
      for (const [grp, tally] of Object.entries((report.questions[id] ?? {}) as Record<string, Tally>)) {
        const sum = entry(report.combined.followUps, grp, emptyTally);
        sum.answered += tally.answered;
        for (const [code, count] of Object.entries(tally.counts)) add(sum.counts, code, count);
      }
    }
  }

  for (const { victim, reported } of analysis.victims) {
    const victims = (report.questions[victim] ?? {}) as Record<string, Tally>;
    const reports = (report.questions[reported] ?? {}) as Record<string, Tally>;
    for (const [grp, tally] of Object.entries(victims)) {
      const yes = tally.counts.yes ?? 0;
      const said = reports[grp]?.counts ?? {};
      const sum = entry(report.victims, grp, () => ({ victims: 0, reported: 0, notReported: 0, notAnswered: 0 }));
      sum.victims += yes;
      sum.reported += said.yes ?? 0;
      sum.notReported += said.no ?? 0;
      sum.notAnswered += yes - (said.yes ?? 0) - (said.no ?? 0);
    }
  }

  if (analysis.aboutYou) {
    const base = report.pagesReached[analysis.aboutYou.page] ?? 0;
    for (const id of analysis.aboutYou.questions) {
      const tally = (report.questions[id] as Tally | undefined) ?? emptyTally();
      const counts = { ...tally.counts };
      const declined = counts.prefer_not_to_say ?? 0;
      delete counts.prefer_not_to_say;
      report.aboutYou[id] = { base, counts, notProvided: base - tally.answered + declined };
    }
  }

  if (analysis.crosstabs) {
    const { question, by } = analysis.crosstabs;
    const rows = await db
      .selectFrom('response_values as a')
      .innerJoin('response_values as b', 'b.response_id', 'a.response_id')
      .select(['a.value as row', 'b.question_id as dimension', 'b.value as col', (eb) => eb.fn.countAll().as('n')])
      .where('a.question_id', '=', question)
      .where('b.question_id', 'in', by)
      .where('a.response_id', 'in', ids())
      .groupBy(['a.value', 'b.question_id', 'b.value'])
      .execute();
    const postcodeQuestions = new Set(
      by.filter((id) => survey.questionsById.get(id)?.some((q) => q.type === 'text' && q.format === 'postcode')),
    );
    const key = (dimension: string) =>
      `${question}_by_${postcodeQuestions.has(dimension) ? `${dimension}_district` : dimension}`;
    for (const dimension of by) report.crosstabs[key(dimension)] = {};
    for (const row of rows) {
      const table = report.crosstabs[key(row.dimension)] as Record<string, Record<string, number>>;
      const col =
        postcodeQuestions.has(row.dimension) && row.col !== 'prefer_not_to_say' ? postcodeDistrict(row.col) : row.col;
      add(
        entry(table, row.row, () => ({})),
        col,
        n(row.n),
      );
    }
  }
  return report;
}
