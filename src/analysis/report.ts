import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.ts';
import { contributionOf, crossTabName, ROLLUPS } from '../rollups/index.ts';
import type { Survey } from '../survey/definition.ts';
import { excludedOf, type Filters, filteredResponseIds, flaggedOf } from './filters.ts';

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

/** The grouped counts a report is assembled from, however they were counted. */
export interface ReportParts {
  byStatusChannel: { status: 'complete' | 'partial'; channel: string; n: number }[];
  values: { question: string; code: string; n: number }[];
  answered: { question: string; n: number }[];
  groupValues: { question: string; group: string; code: string; n: number }[];
  groupAnswered: { question: string; group: string; n: number }[];
  pages: { page: string; n: number }[];
  rankValues: { code: string; n: number }[];
  ranksAnswered: number;
  /** Cross-tab cells by table name (`concern_1_by_age`), row code and column code (postcodes by district). */
  cross: { table: string; row: string; col: string; n: number }[];
}

/** Parts with nothing counted yet. */
export function emptyParts(): ReportParts {
  return {
    byStatusChannel: [],
    values: [],
    answered: [],
    groupValues: [],
    groupAnswered: [],
    pages: [],
    rankValues: [],
    ranksAnswered: 0,
    cross: [],
  };
}

/** The questions counted per answer to another (follow-ups), with that question. */
export function groupedQuestions(survey: Survey): Map<string, string> {
  const grouped = new Map<string, string>();
  for (const [id, questions] of survey.questionsById) {
    const groupBy = questions.find((q) => q.groupBy)?.groupBy;
    if (groupBy) grouped.set(id, groupBy);
  }
  return grouped;
}

/** Builds the report model from its parts: the tallies, and what the analysis settings derive from them. */
export function assembleReport(survey: Survey, filters: Filters, parts: ReportParts): Report {
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
  for (const row of parts.byStatusChannel) {
    if (row.n === 0) continue;
    report.responses += row.n;
    if (row.status === 'complete') report.complete += row.n;
    else report.partial += row.n;
    const channel = entry(report.channels, row.channel, () => ({ complete: 0, partial: 0 }));
    channel[row.status] += row.n;
  }

  const grouped = groupedQuestions(survey);
  const flat = (id: string) => entry(report.questions, id, emptyTally) as Tally;
  for (const id of survey.questionIds) {
    if (grouped.has(id)) report.questions[id] = {};
    else flat(id);
  }
  for (const row of parts.values)
    if (row.n && !grouped.has(row.question)) add(flat(row.question).counts, row.code, row.n);
  for (const row of parts.answered) if (row.n && !grouped.has(row.question)) flat(row.question).answered = row.n;
  const cell = (id: string, group: string) =>
    entry(entry(report.questions, id, () => ({})) as Record<string, Tally>, group, emptyTally);
  for (const row of parts.groupValues) if (row.n) add(cell(row.question, row.group).counts, row.code, row.n);
  for (const row of parts.groupAnswered) if (row.n) cell(row.question, row.group).answered = row.n;
  for (const row of parts.pages) if (row.n) report.pagesReached[row.page] = row.n;

  if (!analysis) return report;

  for (const row of parts.rankValues) if (row.n) report.combined.ranks.counts[row.code] = row.n;
  report.combined.ranks.answered = parts.ranksAnswered;
  // A category can be chosen at one rank only, so summing the ranks' follow-ups counts each respondent once.
  for (const id of analysis.rankFollowUps) {
    for (const [group, tally] of Object.entries((report.questions[id] ?? {}) as Record<string, Tally>)) {
      const sum = entry(report.combined.followUps, group, emptyTally);
      sum.answered += tally.answered;
      for (const [code, count] of Object.entries(tally.counts)) add(sum.counts, code, count);
    }
  }

  for (const { victim, reported } of analysis.victims) {
    const victims = (report.questions[victim] ?? {}) as Record<string, Tally>;
    const reports = (report.questions[reported] ?? {}) as Record<string, Tally>;
    for (const [group, tally] of Object.entries(victims)) {
      const yes = tally.counts.yes ?? 0;
      const said = reports[group]?.counts ?? {};
      const sum = entry(report.victims, group, () => ({ victims: 0, reported: 0, notReported: 0, notAnswered: 0 }));
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
    for (const dimension of by) report.crosstabs[crossTabName(survey, question, dimension)] = {};
    for (const row of parts.cross) {
      if (!row.n) continue;
      const table = entry(report.crosstabs, row.table, () => ({}));
      add(
        entry(table, row.row, () => ({})),
        row.col,
        row.n,
      );
    }
  }
  return report;
}

/**
 * The report under the filters, from the running counts (see counts.ts): one
 * sum over a rollup's rows (a few thousand unfiltered, 11,000 for one area
 * at 1M responses), whatever the number of responses.
 */
export async function buildReport(db: Kysely<Database>, survey: Survey, filters: Filters): Promise<Report> {
  const excluded = excludedOf(filters);
  const kept = excluded === 'only' ? [] : await countsQuery(db, survey, filters).execute();
  const added = excluded === 'exclude' ? [] : await excludedCounts(db, survey, filters);
  return reportFromCounts(survey, filters, added.length ? [...kept, ...added] : kept);
}

/**
 * What the excluded responses under the filters would count for: they are
 * left out of the running counts, and few, so they are counted from their
 * stored answers when an analyst switches them back in.
 */
async function excludedCounts(db: Kysely<Database>, survey: Survey, filters: Filters) {
  const rows = await db
    .selectFrom('responses')
    .selectAll()
    .where('id', 'in', filteredResponseIds(db, survey, { ...filters, area: undefined, excluded: 'only' }))
    .execute();
  const counts = new Map<string, { metric: string; status: 'complete' | 'partial'; n: number }>();
  for (const row of rows) {
    const contribution = contributionOf(survey, { ...row, excluded: null });
    if (!contribution || (filters.area && contribution.dims.area !== filters.area)) continue;
    for (const metric of contribution.metrics) {
      const key = `${row.status}\u0000${metric}`;
      const entry = counts.get(key);
      if (entry) entry.n++;
      else counts.set(key, { metric, status: row.status, n: 1 });
    }
  }
  return [...counts.values()];
}

/** The report from the rows of countsQuery: counts by metric and status. */
export function reportFromCounts(
  survey: Survey,
  filters: Filters,
  rows: readonly { metric: string; status: 'complete' | 'partial'; n: number | string | bigint }[],
): Report {
  const parts = emptyParts();
  // Each metric arrives once per status: only the responses by channel keep the status apart, the rest are
  // summed by metric before their names are split.
  const totals = new Map<string, number>();
  for (const row of rows) {
    const count = n(row.n);
    if (!count) continue;
    const { metric } = row;
    if (metric.startsWith('n|')) parts.byStatusChannel.push({ status: row.status, channel: metric.slice(2), n: count });
    else totals.set(metric, (totals.get(metric) ?? 0) + count);
  }
  for (const [metric, count] of totals) {
    const [kind, a = '', b = '', c = ''] = metric.split('|');
    switch (kind) {
      case 'p':
        parts.pages.push({ page: a, n: count });
        break;
      case 'a':
        parts.answered.push({ question: a, n: count });
        break;
      case 'v':
        parts.values.push({ question: a, code: b, n: count });
        break;
      case 'ga':
        parts.groupAnswered.push({ question: a, group: b, n: count });
        break;
      case 'gv':
        parts.groupValues.push({ question: a, group: b, code: c, n: count });
        break;
      case 'ra':
        parts.ranksAnswered += count;
        break;
      case 'rv':
        parts.rankValues.push({ code: a, n: count });
        break;
      case 'x':
        parts.cross.push({ table: a, row: b, col: c, n: count });
        break;
    }
  }
  return assembleReport(survey, filters, parts);
}

/**
 * The query summing the kept counts under the filters, by metric and status,
 * from the smallest rollup that can: report_summary (a few thousand rows at
 * any number of responses) unless the filters name a channel, an area or
 * dates.
 */
export function countsQuery(db: Kysely<Database>, survey: Survey, filters: Filters) {
  return rollupQuery(db, survey, filters, []).select(['metric', 'status']).groupBy(['metric', 'status']);
}

/**
 * The kept counts under the filters, summed, from the smallest rollup that
 * has the dimensions the filters and `keep` need (report_summary, a few
 * thousand rows at any number of responses, unless they name a channel, an
 * area or dates).
 */
function rollupQuery(db: Kysely<Database>, survey: Survey, filters: Filters, keep: readonly string[]) {
  const needed = new Set<string>(keep);
  if (filters.channel) needed.add('channel');
  if (filters.area) needed.add('area');
  if (filters.from || filters.to) needed.add('day');
  const rollup =
    ROLLUPS.find((r) => [...needed].every((d) => (r.dims as readonly string[]).includes(d))) ??
    ROLLUPS[ROLLUPS.length - 1];
  // The rollups share their column names; Kysely cannot type a table chosen at run time.
  let query = (db as unknown as Kysely<{ counts: Database['report_counts'] }>)
    .selectFrom(`${rollup?.table ?? 'report_counts'} as counts` as 'counts')
    .select((eb) => eb.fn.sum<number>('n').as('n'))
    .where('survey', '=', survey.slug);
  if (filters.status !== 'all') query = query.where('status', '=', filters.status);
  if (filters.channel) query = query.where('channel', '=', filters.channel);
  if (filters.area) query = query.where('area', '=', filters.area);
  if (filters.from) query = query.where('day', '>=', filters.from);
  if (filters.to) query = query.where('day', '<=', filters.to);
  // Flagged responses (see filters.ts): every rollup keeps the flag as a dimension.
  if (flaggedOf(filters) !== 'include') query = query.where('flagged', '=', flaggedOf(filters) === 'only' ? 1 : 0);
  return query;
}

/**
 * The count rows of responses started each day, by status, under the filters
 * but the status (see responsesByDay). Only with the metric's condition as a
 * literal, and no status in the WHERE, does SQLite's planner (which keeps no
 * statistics here) read the small partial index of these rows (migration 14)
 * rather than scan every count row of the survey through the keys.
 */
export function responsesByDayQuery(db: Kysely<Database>, survey: Survey, filters: Filters) {
  return rollupQuery(db, survey, { ...filters, status: 'all' }, ['day'])
    .select(['day', 'status'])
    .where(sql<boolean>`${sql.ref('metric')} like ${sql.lit('n|%')}`)
    .groupBy(['day', 'status'])
    .orderBy('day');
}

/** Responses started each day under the filters, by status (excluded responses never counted). */
export async function responsesByDay(
  db: Kysely<Database>,
  survey: Survey,
  filters: Filters,
): Promise<{ day: string; complete: number; partial: number }[]> {
  if (excludedOf(filters) === 'only') return [];
  const rows = (await responsesByDayQuery(db, survey, filters).execute()).filter(
    (row) => filters.status === 'all' || row.status === filters.status,
  );
  const byDay = new Map<string, { day: string; complete: number; partial: number }>();
  for (const row of rows) {
    const entry = byDay.get(row.day) ?? { day: row.day, complete: 0, partial: 0 };
    entry[row.status] += Number(row.n);
    byDay.set(row.day, entry);
  }
  return [...byDay.values()];
}
