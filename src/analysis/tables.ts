import type { Question, Survey } from '../survey/definition.ts';
import { keyOf, optionsOf } from '../survey/definition.ts';
import type { Report, Tally } from './report.ts';

/**
 * A percentage rounded half up to one decimal place, computed on integers so
 * that 0.05 boundaries never fall the wrong way through floating point.
 * `percent(61, 154)` is 39.6; an empty base gives null.
 */
export function percent(count: number, base: number): number | null {
  if (base <= 0) return null;
  return Math.floor((count * 2000 + base) / (2 * base)) / 10;
}

export function formatPercent(value: number | null): string {
  return value === null ? '–' : `${value.toFixed(1)}%`;
}

/** One analysis table: what the page shows, each CSV download holds, and each workbook sheet lists. */
export interface Table {
  /** Stable id: the CSV file name and the sheet name. */
  id: string;
  title: string;
  /** "Of 154 respondents to this question". */
  baseText: string;
  columns: string[];
  rows: TableRow[];
}

export interface TableRow {
  cells: (string | number)[];
  /** A top 3 option, marked on the page. */
  marked?: boolean;
}

/** A question's codes in codebook order, with their labels. */
function labelsOf(question: Question | undefined): Map<string, string> {
  return new Map(question ? optionsOf(question).map((o) => [o.code, o.label]) : []);
}

function firstQuestion(survey: Survey, id: string): Question | undefined {
  return survey.questionsById.get(id)?.[0];
}

/** What tables call the headline question: its rank label, or the question itself. */
function headlineTitle(survey: Survey): string {
  const a = survey.analysis;
  if (!a) return '';
  const rank = a.ranks.indexOf(a.headline);
  return (rank >= 0 ? a.rankLabels[rank] : undefined) ?? firstQuestion(survey, a.headline)?.label ?? a.headline;
}

/** The question that a grouped question's groups are answers to, and its labels. */
function groupLabels(survey: Survey, id: string): Map<string, string> {
  const groupBy = survey.questionsById.get(id)?.find((q) => q.groupBy)?.groupBy;
  return labelsOf(groupBy ? firstQuestion(survey, groupBy) : undefined);
}

/** Options ranked by count, highest first, ties in codebook order; the top `mark` are marked. */
function rankedRows(labels: Map<string, string>, tally: Tally, mark = 0): TableRow[] {
  const order = [...labels.keys()];
  return order
    .map((code) => ({ code, count: tally.counts[code] ?? 0 }))
    .sort((a, b) => b.count - a.count || order.indexOf(a.code) - order.indexOf(b.code))
    .map(({ code, count }, i) => ({
      cells: [labels.get(code) ?? code, count, formatPercent(percent(count, tally.answered))],
      ...(mark && i < mark && count > 0 ? { marked: true } : {}),
    }));
}

function ofRespondents(n: number): string {
  return `Of ${n} respondent${n === 1 ? '' : 's'} to this question`;
}

/** A question whose answers are one code per respondent, as a count-and-percent table. */
export function questionTable(survey: Survey, report: Report, id: string, title: string, sort = true): Table {
  const tally = (report.questions[id] as Tally | undefined) ?? { answered: 0, counts: {} };
  const labels = labelsOf(firstQuestion(survey, id));
  const rows = sort
    ? rankedRows(labels, tally)
    : [...labels].map(([code, label]) => ({
        cells: [label, tally.counts[code] ?? 0, formatPercent(percent(tally.counts[code] ?? 0, tally.answered))],
      }));
  return { id, title, baseText: ofRespondents(tally.answered), columns: ['Answer', 'Count', '%'], rows };
}

/** A follow-up question, one table per group (category): every option, sorted, the top `mark` marked. */
export function followUpTables(
  survey: Survey,
  report: Report,
  id: string,
  heading: (group: string) => string,
  mark = 3,
) {
  const byGroup = (report.questions[id] as Record<string, Tally> | undefined) ?? {};
  return [...groupLabels(survey, id)].map(([group, groupLabel]): Table => {
    const tally = byGroup[group] ?? { answered: 0, counts: {} };
    const labels = labelsOf(
      survey.questionsById.get(id)?.find((q) => optionsOf(q).length && isForGroup(survey, q, group)),
    );
    return {
      id: `${id}-${group}`,
      title: heading(groupLabel),
      baseText: ofRespondents(tally.answered),
      columns: ['Issue', 'Count', '%'],
      rows: rankedRows(labels, tally, mark),
    };
  });
}

/** Whether a follow-up question is the one asked for a group: its page is routed to by that answer. */
function isForGroup(survey: Survey, question: Question, group: string): boolean {
  const page = survey.pages.find((p) => p.questions.includes(question));
  if (!page || !question.groupBy) return false;
  return survey.pages.some((p) =>
    p.next.some(
      (e) =>
        e.goto === page.id &&
        e.when &&
        'equals' in e.when &&
        e.when.question === question.groupBy &&
        e.when.equals === group,
    ),
  );
}

/** The combined follow-ups: a category's options counted across whichever rank it was given. */
export function combinedFollowUpTables(survey: Survey, report: Report): Table[] {
  const first = survey.analysis?.rankFollowUps[0];
  if (!first) return [];
  return [...groupLabels(survey, first)].map(([group, groupLabel]): Table => {
    const tally = report.combined.followUps[group] ?? { answered: 0, counts: {} };
    const question = survey.questionsById.get(first)?.find((q) => isForGroup(survey, q, group));
    return {
      id: `combined-top3-${group}`,
      title: `${groupLabel}: top issues, whichever rank it was given`,
      baseText: ofRespondents(tally.answered),
      columns: ['Issue', 'Count', '%'],
      rows: rankedRows(labelsOf(question), tally, 3),
    };
  });
}

/** The ranked categories counted once per respondent. */
export function combinedRanksTable(survey: Survey, report: Report): Table | null {
  const first = survey.analysis?.ranks[0];
  if (!first) return null;
  const tally = report.combined.ranks;
  return {
    id: 'combined-ranks',
    title: 'Issues named as most, second or third most important (each respondent counted once per issue)',
    baseText: `Of ${tally.answered} respondents who named at least one issue`,
    columns: ['Issue', 'Respondents', '%'],
    rows: rankedRows(labelsOf(firstQuestion(survey, first)), tally),
  };
}

export function victimsTable(survey: Survey, report: Report): Table | null {
  const first = survey.analysis?.ranks[0];
  if (!first || !survey.analysis?.victims.length) return null;
  const rows = [...labelsOf(firstQuestion(survey, first))].map(([code, label]) => {
    const v = report.victims[code] ?? { victims: 0, reported: 0, notReported: 0, notAnswered: 0 };
    return {
      cells: [
        label,
        v.victims,
        v.reported,
        v.notReported,
        v.notAnswered,
        formatPercent(percent(v.notReported, v.reported + v.notReported)),
      ],
    };
  });
  return {
    id: 'victims',
    title: 'Victims and reporting to the police, by issue',
    baseText: 'Respondents who said they had been a victim of crime in the issue they chose, at any rank',
    columns: ['Issue', 'Victims', 'Reported', 'Not reported', 'Did not say', '% unreported (of those who said)'],
    rows,
  };
}

export function aboutYouTables(survey: Survey, report: Report): Table[] {
  return Object.entries(report.aboutYou).map(([id, a]) => {
    const question = firstQuestion(survey, id);
    const labels = [...labelsOf(question)].filter(([code]) => code !== 'prefer_not_to_say');
    return {
      id: `about-you-${id}`,
      title: question ? keyOf(question) : id,
      baseText: `Of ${a.base} respondents who reached this page`,
      columns: ['Answer', 'Count', '%'],
      rows: [
        ...labels.map(([code, label]) => ({
          cells: [label, a.counts[code] ?? 0, formatPercent(percent(a.counts[code] ?? 0, a.base))],
        })),
        { cells: ['Not provided', a.notProvided, formatPercent(percent(a.notProvided, a.base))] },
      ],
    };
  });
}

export function channelsTable(report: Report, labels: Map<string, string>): Table {
  const rows = Object.entries(report.channels)
    .sort((a, b) => b[1].complete + b[1].partial - (a[1].complete + a[1].partial))
    .map(([code, c]) => {
      const total = c.complete + c.partial;
      return {
        cells: [labels.get(code) ?? code, c.complete, c.partial, total, formatPercent(percent(c.complete, total))],
      };
    });
  return {
    id: 'channels',
    title: 'Responses by channel',
    baseText: `Of ${report.responses} responses`,
    columns: ['Channel', 'Complete', 'Partial', 'Total', 'Completion rate'],
    rows,
  };
}

export function responsesTable(report: Report): Table {
  return {
    id: 'responses',
    title: 'Responses',
    baseText: `${report.responses} responses`,
    columns: ['Status', 'Count', '%'],
    rows: [
      { cells: ['Complete', report.complete, formatPercent(percent(report.complete, report.responses))] },
      {
        cells: [
          'Partial (started, not sent)',
          report.partial,
          formatPercent(percent(report.partial, report.responses)),
        ],
      },
      { cells: ['All responses', report.responses, formatPercent(percent(report.responses, report.responses))] },
    ],
  };
}

/** A cross-tab: counts with row and column percentages, and the base of each. */
export interface CrossTab {
  id: string;
  title: string;
  rowLabels: [string, string][];
  colLabels: [string, string][];
  counts: number[][];
  rowTotals: number[];
  colTotals: number[];
  total: number;
}

export function crossTabs(survey: Survey, report: Report): CrossTab[] {
  const spec = survey.analysis?.crosstabs;
  if (!spec) return [];
  const rowLabels = [...labelsOf(firstQuestion(survey, spec.question))];
  return Object.entries(report.crosstabs).map(([key, table]) => {
    const dimension = key.slice(`${spec.question}_by_`.length);
    const question = firstQuestion(survey, dimension);
    const known = [...labelsOf(question)];
    const seen = new Set(Object.values(table).flatMap((row) => Object.keys(row)));
    // Postcode districts are not options: list the ones present, in order.
    const colLabels: [string, string][] = question
      ? known.filter(([code]) => seen.has(code) || code !== 'prefer_not_to_say')
      : [...seen]
          .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
          .map((code) => [code, code === 'prefer_not_to_say' ? 'Prefer not to say' : code]);
    const counts = rowLabels.map(([row]) => colLabels.map(([col]) => table[row]?.[col] ?? 0));
    const rowTotals = counts.map((r) => r.reduce((a, b) => a + b, 0));
    const colTotals = colLabels.map((_, j) => counts.reduce((a, r) => a + (r[j] ?? 0), 0));
    const dimensionLabel = question ? question.label.replace(/\?$/, '') : 'postcode district';
    return {
      id: `crosstab-${key}`,
      title: `${spec.question === survey.analysis?.headline ? headlineTitle(survey) : (firstQuestion(survey, spec.question)?.label ?? spec.question)} by ${dimensionTitle(dimension, dimensionLabel)}`,
      rowLabels,
      colLabels,
      counts,
      rowTotals,
      colTotals,
      total: rowTotals.reduce((a, b) => a + b, 0),
    };
  });
}

const DIMENSION_TITLES: Record<string, string> = {
  age: 'age band',
  gender: 'gender',
  ethnicity: 'ethnic background',
  area: 'area',
  postcode_district: 'postcode district',
};

function dimensionTitle(dimension: string, fallback: string): string {
  return DIMENSION_TITLES[dimension] ?? fallback;
}

/** A cross-tab as a flat table (one row per cell) for CSV and the workbook. */
export function crossTabAsTable(tab: CrossTab): Table {
  const rows: TableRow[] = [];
  tab.rowLabels.forEach(([, rowLabel], i) => {
    tab.colLabels.forEach(([, colLabel], j) => {
      const count = tab.counts[i]?.[j] ?? 0;
      rows.push({
        cells: [
          rowLabel,
          colLabel,
          count,
          formatPercent(percent(count, tab.rowTotals[i] ?? 0)),
          formatPercent(percent(count, tab.colTotals[j] ?? 0)),
        ],
      });
    });
  });
  return {
    id: tab.id,
    title: tab.title,
    baseText: `Of ${tab.total} respondents who answered both questions`,
    columns: ['Row', 'Column', 'Count', 'Row %', 'Column %'],
    rows,
  };
}

/** The page's sections, in order: each a heading and its tables. Also the order of CSV downloads and sheets. */
export interface Section {
  id: string;
  heading: string;
  tables: Table[];
}

export function analysisSections(survey: Survey, report: Report): { sections: Section[]; crossTabs: CrossTab[] } {
  const a = survey.analysis;
  const sections: Section[] = [];
  const channelLabels = new Map([
    ['web', 'Web (direct link)'],
    ['paper', 'Paper'],
    ...survey.channels.map((c): [string, string] => [c.code, c.label]),
  ]);
  sections.push({
    id: 'headline',
    heading: 'Responses',
    tables: [responsesTable(report), ...(a ? [questionTable(survey, report, a.area, 'Respondents by area')] : [])],
  });
  if (a) {
    const headline = headlineTitle(survey);
    const rankTitle = (r: number) => a.rankLabels[r] ?? `Rank ${r + 1}`;
    sections.push({
      id: 'most-important',
      heading: headline,
      tables: [questionTable(survey, report, a.headline, headline)],
    });
    a.rankFollowUps.forEach((id, r) => {
      sections.push({
        id: `follow-up-${r + 1}`,
        heading: `${rankTitle(r)}: top issues within each category`,
        tables: followUpTables(survey, report, id, (group) => `${group} as the ${rankTitle(r).toLowerCase()}`),
      });
    });
    a.ranks.slice(1).forEach((id, r) => {
      const title = rankTitle(r + 1);
      sections.push({ id: `rank-${r + 2}`, heading: title, tables: [questionTable(survey, report, id, title)] });
    });
    const combined = combinedRanksTable(survey, report);
    if (combined)
      sections.push({
        id: 'combined',
        heading: 'Combined: every issue, whichever rank it was given',
        tables: [combined, ...combinedFollowUpTables(survey, report)],
      });
    const victims = victimsTable(survey, report);
    if (victims) sections.push({ id: 'victims', heading: 'Victims and reporting', tables: [victims] });
    if (a.aboutYou) sections.push({ id: 'about-you', heading: 'About you', tables: aboutYouTables(survey, report) });
  }
  sections.push({ id: 'channels', heading: 'Channels', tables: [channelsTable(report, channelLabels)] });
  return { sections, crossTabs: crossTabs(survey, report) };
}

/** Every table as a flat list (cross-tabs one row per cell): CSV downloads and workbook sheets. */
export function allTables(survey: Survey, report: Report): Table[] {
  const { sections, crossTabs: tabs } = analysisSections(survey, report);
  return [...sections.flatMap((s) => s.tables), ...tabs.map(crossTabAsTable)];
}
