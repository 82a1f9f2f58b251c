import type { Chart } from '../charts/index.ts';
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

/** A number with its sign, a minus sign (not a hyphen) when negative: "+3.2", "−1.0", "0.0". */
export function signed(value: number, digits: number): string {
  const text = Math.abs(value).toFixed(digits);
  if (Number(text) === 0) return text;
  return value > 0 ? `+${text}` : `−${text}`;
}

export function formatPercent(value: number | null): string {
  return value === null ? '–' : `${value.toFixed(1)}%`;
}

/** What a column holds: the row's name, a count, a percentage (0–100, one decimal), a change in percentage points (signed, one decimal), or text. */
export type ColumnKind = 'label' | 'count' | 'percent' | 'points' | 'text';

export interface Column {
  heading: string;
  kind: ColumnKind;
}

export interface TableRow {
  /** One per column: a percentage is a number (0–100) or null where its base is 0. */
  cells: (string | number | null)[];
  /** A top 3 option, marked on the page. */
  marked?: boolean;
  /** A total or base row, set apart from the others. */
  total?: boolean;
  /** The answer's code, where the row is one (what a weighted view of the table looks up). */
  code?: string;
}

/**
 * Where a table's figures come from in the responses, so that it can be
 * shown weighted: a question's column of the response matrix, among those
 * who gave a code of another question (a follow-up's category), or those who
 * reached a page (About you). Tables without one are shown unweighted only.
 */
export interface TableSource {
  column: string;
  group?: { column: string; code: string };
  page?: string;
}

/** One analysis table: what a page shows, its CSV download holds, and a workbook sheet lists. */
export interface Table {
  /** Stable id: the CSV file name, the chart's, and the sheet name's source. */
  id: string;
  title: string;
  /** A workbook sheet's name where the title is too long for one (31 characters at most). */
  sheet?: string;
  /** "Of 154 respondents to this question". */
  baseText: string;
  /** The number the percentages are of, where they are of one number (what a comparison between waves tests on). */
  base?: number;
  columns: Column[];
  rows: TableRow[];
  source?: TableSource;
  /** Weighted estimates beside the counts (see weighted-tables.ts): charted side by side, with their intervals. */
  weighted?: boolean;
  /** Compared with an earlier wave (see waves.ts): the waves' names, whose shares (columns 2 and 3) are charted side by side. */
  compared?: [previous: string, current: string];
}

const ANSWER_COLUMNS = (first = 'Answer'): Column[] => [
  { heading: first, kind: 'label' },
  { heading: 'Count', kind: 'count' },
  { heading: '%', kind: 'percent' },
];

/** A cell as the page and a CSV show it. */
export function cellText(column: Column | undefined, value: string | number | null): string {
  if (column?.kind === 'percent') return typeof value === 'number' ? formatPercent(value) : '–';
  if (column?.kind === 'points') return typeof value === 'number' ? signed(value, 1) : '–';
  return value === null ? '' : String(value);
}

/** A question's codes in codebook order, with their labels. */
function labelsOf(question: Question | undefined): Map<string, string> {
  return new Map(question ? optionsOf(question).map((o) => [o.code, o.label]) : []);
}

function firstQuestion(survey: Survey, id: string): Question | undefined {
  return survey.questionsById.get(id)?.[0];
}

/** A question's short name for tables: its key (see keyOf). */
export function questionTitle(survey: Survey, id: string): string {
  const question = firstQuestion(survey, id);
  return question ? keyOf(question) : id;
}

/** What tables call a ranked question: its rank label, or the question itself. */
export function rankTitle(survey: Survey, rank: number): string {
  const a = survey.analysis;
  return a?.rankLabels[rank] ?? (a?.ranks[rank] ? questionTitle(survey, a.ranks[rank]) : `Rank ${rank + 1}`);
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
      code,
      cells: [labels.get(code) ?? code, count, percent(count, tally.answered)],
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
        code,
        cells: [label, tally.counts[code] ?? 0, percent(tally.counts[code] ?? 0, tally.answered)],
      }));
  return {
    id,
    title,
    baseText: ofRespondents(tally.answered),
    base: tally.answered,
    columns: ANSWER_COLUMNS(),
    rows,
    source: { column: id },
  };
}

/** A follow-up question, one table per group (category): every option, sorted, the top `mark` marked. */
export function followUpTables(
  survey: Survey,
  report: Report,
  id: string,
  heading: (group: string) => string,
  sheet?: (group: string) => string,
  mark = 3,
): Table[] {
  const byGroup = (report.questions[id] as Record<string, Tally> | undefined) ?? {};
  return [...groupLabels(survey, id)].map(([group, groupLabel]): Table => {
    const tally = byGroup[group] ?? { answered: 0, counts: {} };
    const labels = labelsOf(
      survey.questionsById.get(id)?.find((q) => optionsOf(q).length && isForGroup(survey, q, group)),
    );
    const groupBy = survey.questionsById.get(id)?.find((q) => q.groupBy)?.groupBy ?? '';
    return {
      id: `${id}-${group}`,
      title: heading(groupLabel),
      ...(sheet ? { sheet: sheet(groupLabel) } : {}),
      baseText: ofRespondents(tally.answered),
      base: tally.answered,
      columns: ANSWER_COLUMNS('Issue'),
      rows: rankedRows(labels, tally, mark),
      source: { column: id, group: { column: groupBy, code: group } },
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
      sheet: `${groupLabel}, any rank`,
      baseText: ofRespondents(tally.answered),
      base: tally.answered,
      columns: ANSWER_COLUMNS('Issue'),
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
    title: 'Issues named at any rank (each respondent counted once per issue)',
    sheet: 'Issues named at any rank',
    baseText: `Of ${tally.answered} respondents who named at least one issue`,
    base: tally.answered,
    columns: ANSWER_COLUMNS('Issue'),
    rows: rankedRows(labelsOf(firstQuestion(survey, first)), tally),
    source: { column: `${first}_any_rank` },
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
        percent(v.notReported, v.reported + v.notReported),
      ],
    };
  });
  return {
    id: 'victims',
    title: 'Victims and reporting to the police, by issue',
    sheet: 'Victims and reporting',
    baseText: 'Respondents who said they had been a victim of crime in the issue they chose, at any rank',
    columns: [
      { heading: 'Issue', kind: 'label' },
      { heading: 'Victims', kind: 'count' },
      { heading: 'Reported', kind: 'count' },
      { heading: 'Not reported', kind: 'count' },
      { heading: 'Did not say', kind: 'count' },
      { heading: '% unreported (of those who said)', kind: 'percent' },
    ],
    rows,
  };
}

export function aboutYouTables(survey: Survey, report: Report): Table[] {
  return Object.entries(report.aboutYou).map(([id, a]) => {
    const labels = [...labelsOf(firstQuestion(survey, id))].filter(([code]) => code !== 'prefer_not_to_say');
    return {
      id: `about-you-${id}`,
      title: questionTitle(survey, id),
      baseText: `Of ${a.base} respondents who reached this page`,
      base: a.base,
      columns: ANSWER_COLUMNS(),
      rows: [
        ...labels.map(([code, label]) => ({
          code,
          cells: [label, a.counts[code] ?? 0, percent(a.counts[code] ?? 0, a.base)],
        })),
        { cells: ['Not provided', a.notProvided, percent(a.notProvided, a.base)] },
      ],
      ...(survey.analysis?.aboutYou ? { source: { column: id, page: survey.analysis.aboutYou.page } } : {}),
    };
  });
}

export function channelsTable(report: Report, labels: Map<string, string>): Table {
  const rows = Object.entries(report.channels)
    .sort((a, b) => b[1].complete + b[1].partial - (a[1].complete + a[1].partial))
    .map(([code, c]) => {
      const total = c.complete + c.partial;
      return { cells: [labels.get(code) ?? code, c.complete, c.partial, total, percent(c.complete, total)] };
    });
  return {
    id: 'channels',
    title: 'Responses by channel',
    baseText: `Of ${report.responses} responses`,
    columns: [
      { heading: 'Channel', kind: 'label' },
      { heading: 'Complete', kind: 'count' },
      { heading: 'Partial', kind: 'count' },
      { heading: 'Total', kind: 'count' },
      { heading: 'Completion rate', kind: 'percent' },
    ],
    rows,
  };
}

export function responsesTable(report: Report): Table {
  return {
    id: 'responses',
    title: 'Responses',
    // The workbook's own sheet of responses is "Responses".
    sheet: 'Responses by status',
    baseText: `${report.responses} responses`,
    columns: [
      { heading: 'Status', kind: 'label' },
      { heading: 'Count', kind: 'count' },
      { heading: '%', kind: 'percent' },
    ],
    rows: [
      { cells: ['Complete', report.complete, percent(report.complete, report.responses)] },
      { cells: ['Partial (started, not sent)', report.partial, percent(report.partial, report.responses)] },
      { cells: ['All responses', report.responses, percent(report.responses, report.responses)], total: true },
    ],
  };
}

/** The published cross-tabs of the definition (`analysis.crosstabs`): the question by each dimension. */
export function crosstabPresets(survey: Survey): { row: string; column: string }[] {
  const spec = survey.analysis?.crosstabs;
  if (!spec) return [];
  return spec.by.map((by) => {
    const question = firstQuestion(survey, by);
    return { row: spec.question, column: question?.type === 'text' ? `${by}_district` : by };
  });
}

/** A table as a chart: its answers' percentages (or counts) as bars; a weighted table's estimates beside them. */
export function tableChart(table: Table, source?: string): Chart {
  const text = { title: table.title, subtitle: table.baseText, ...(source ? { source } : {}) };
  const number = (value: unknown) => (typeof value === 'number' ? value : null);
  if (table.compared) {
    return {
      kind: 'grouped-bar',
      ...text,
      unit: '%',
      max: 100,
      series: table.compared,
      categories: table.rows
        .filter((row) => !row.total)
        .map((row) => ({
          label: String(row.cells[0] ?? ''),
          values: [2, 3].map((at) => ({ value: number(row.cells[at]), display: formatPercent(number(row.cells[at])) })),
        })),
    };
  }
  if (table.weighted) {
    // Columns: answer, respondents, unweighted %, weighted %, interval from, interval to.
    return {
      kind: 'grouped-bar',
      ...text,
      unit: '%',
      max: 100,
      series: ['As answered', 'Weighted estimate'],
      categories: table.rows.map((row) => {
        const estimate = number(row.cells[3]);
        const low = number(row.cells[4]);
        const high = number(row.cells[5]);
        return {
          label: String(row.cells[0] ?? ''),
          values: [
            { value: number(row.cells[2]), display: formatPercent(number(row.cells[2])) },
            {
              value: estimate,
              display: formatPercent(estimate),
              ...(low !== null && high !== null ? { low, high } : {}),
            },
          ],
        };
      }),
    };
  }
  const percentAt = table.columns.findIndex((c) => c.kind === 'percent');
  const valueAt = percentAt >= 0 ? percentAt : table.columns.findIndex((c) => c.kind === 'count');
  const column = table.columns[valueAt];
  return {
    kind: 'bar',
    ...text,
    unit: percentAt >= 0 ? '%' : '',
    ...(percentAt >= 0 ? { max: 100 } : {}),
    bars: table.rows
      .filter((row) => !row.total)
      .map((row) => {
        const value = row.cells[valueAt];
        return {
          label: String(row.cells[0] ?? ''),
          value: typeof value === 'number' ? value : null,
          display: cellText(column, value ?? null),
          ...(row.marked ? { marker: 'Top 3' } : {}),
        };
      }),
  };
}
