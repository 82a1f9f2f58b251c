import { type ChiSquareNotTestable, type ChiSquareResult, chiSquareTest } from '../stats/chi-square.ts';
import { optionsOf, type Survey } from '../survey/definition.ts';
import {
  ANY_RANK_SUFFIX,
  CHANNEL_COLUMN,
  codesAt,
  DISTRICT_SUFFIX,
  type MatrixColumn,
  type ResponseMatrix,
} from './response-matrix.ts';

// A cross-tab of any question by any other, over the responses that pass the
// filters: counts of respondents, each counted once in every cell whose row
// and column codes they gave (a multiple-choice answer in several cells).

/** A variable an analyst can put in a cross-tab's rows or columns. */
export interface CrosstabVariable {
  id: string;
  label: string;
  kind: 'single' | 'multiple';
}

export interface Crosstab {
  row: CrosstabVariable & { codes: { code: string; label: string }[] };
  column: CrosstabVariable & { codes: { code: string; label: string }[] };
  /** counts[r][c]: respondents who gave row code r and column code c. */
  counts: number[][];
  /** Respondents with row code r who answered the column variable: the base of row percentages. */
  rowTotals: number[];
  /** Respondents with column code c who answered the row variable: the base of column percentages. */
  columnTotals: number[];
  /** Respondents who answered both. */
  total: number;
  /** Pearson's chi-square, when both variables take one answer per respondent. */
  test: ChiSquareResult | ChiSquareNotTestable;
}

/** The channel names analysts read, for the channel codes. */
export function channelLabels(survey: Survey): Map<string, string> {
  return new Map([
    ['web', 'Web (direct link)'],
    ['paper', 'Paper'],
    ...survey.channels.map((c): [string, string] => [c.code, c.label]),
  ]);
}

/** A question's short name for tables: its key if it has one, else its label. */
function questionTitle(survey: Survey, id: string): string {
  const question = survey.questionsById.get(id)?.[0];
  return question ? ((question as { key?: string }).key ?? question.label) : id;
}

/** The variables of a survey's cross-tabs, in questionnaire order, with their names as analysts read them. */
export function crosstabVariables(survey: Survey, matrix: Pick<ResponseMatrix, 'columns'>): CrosstabVariable[] {
  const out: CrosstabVariable[] = [];
  for (const column of matrix.columns.values())
    out.push({ id: column.id, label: variableLabel(survey, column.id), kind: column.kind });
  return out;
}

/** What a variable is called on the page. */
export function variableLabel(survey: Survey, id: string): string {
  if (id === CHANNEL_COLUMN) return 'Channel (how the respondent reached the survey)';
  if (id.endsWith(ANY_RANK_SUFFIX)) {
    const ranks = survey.analysis?.ranks ?? [];
    const labels = survey.analysis?.rankLabels.length
      ? survey.analysis.rankLabels
      : ranks.map((r) => questionTitle(survey, r));
    return `At any rank: ${labels.join(', ')}`;
  }
  if (id.endsWith(DISTRICT_SUFFIX)) return `${questionTitle(survey, id.slice(0, -DISTRICT_SUFFIX.length))} district`;
  const question = survey.questionsById.get(id)?.[0];
  const group = question?.groupBy;
  const ranks = survey.analysis?.ranks ?? [];
  const rank = ranks.indexOf(id);
  if (rank >= 0 && survey.analysis?.rankLabels[rank]) return survey.analysis.rankLabels[rank] as string;
  if (group) {
    const groupRank = ranks.indexOf(group);
    const rankLabel = groupRank >= 0 ? survey.analysis?.rankLabels[groupRank] : undefined;
    const title = question?.type === 'multiple' ? 'Top 3 within the category' : questionTitle(survey, id);
    return rankLabel ? `${title}: ${rankLabel.toLowerCase()}` : title;
  }
  return questionTitle(survey, id);
}

/** A variable's codes with their labels: a code used by several categories is named with each. */
function codeLabels(survey: Survey, column: MatrixColumn): { code: string; label: string }[] {
  if (column.id === CHANNEL_COLUMN) {
    const labels = channelLabels(survey);
    return column.codes.map((code) => ({ code, label: labels.get(code) ?? code }));
  }
  const source = column.id.endsWith(ANY_RANK_SUFFIX)
    ? (survey.analysis?.ranks ?? [])
    : [column.id.endsWith(DISTRICT_SUFFIX) ? column.id.slice(0, -DISTRICT_SUFFIX.length) : column.id];
  const labels = new Map<string, Set<string>>();
  for (const id of source) {
    for (const question of survey.questionsById.get(id) ?? []) {
      const options =
        question.type === 'text' ? (question.preferNotToSay ? [question.preferNotToSay] : []) : optionsOf(question);
      for (const o of options) labels.set(o.code, (labels.get(o.code) ?? new Set()).add(o.label));
    }
  }
  return column.codes.map((code) => ({ code, label: [...(labels.get(code) ?? [code])].join(' / ') }));
}

/** Cross-tabulates two variables of the matrix over the given responses (see selectRows). */
export function crosstab(
  survey: Survey,
  matrix: ResponseMatrix,
  rowId: string,
  columnId: string,
  rows: Uint32Array,
): Crosstab {
  const rowColumn = matrix.columns.get(rowId);
  const colColumn = matrix.columns.get(columnId);
  if (!rowColumn || !colColumn) throw new RangeError(`no variable ${rowColumn ? columnId : rowId}`);
  const R = rowColumn.codes.length;
  const C = colColumn.codes.length;
  const counts = Array.from({ length: R }, () => new Array<number>(C).fill(0));
  const rowTotals = new Array<number>(R).fill(0);
  const columnTotals = new Array<number>(C).fill(0);
  let total = 0;
  const rowCodes = new Uint16Array(Math.max(1, R));
  const colCodes = new Uint16Array(Math.max(1, C));
  for (const i of rows) {
    const nr = codesAt(rowColumn, i, rowCodes);
    if (nr === 0) continue;
    const nc = codesAt(colColumn, i, colCodes);
    if (nc === 0) continue;
    total++;
    for (let a = 0; a < nr; a++) {
      const r = rowCodes[a] as number;
      rowTotals[r] = (rowTotals[r] as number) + 1;
      const line = counts[r] as number[];
      for (let b = 0; b < nc; b++) line[colCodes[b] as number] = (line[colCodes[b] as number] as number) + 1;
    }
    for (let b = 0; b < nc; b++)
      columnTotals[colCodes[b] as number] = (columnTotals[colCodes[b] as number] as number) + 1;
  }
  const row = {
    id: rowId,
    label: variableLabel(survey, rowId),
    kind: rowColumn.kind,
    codes: codeLabels(survey, rowColumn),
  };
  const column = {
    id: columnId,
    label: variableLabel(survey, columnId),
    kind: colColumn.kind,
    codes: codeLabels(survey, colColumn),
  };
  const test: ChiSquareResult | ChiSquareNotTestable =
    rowColumn.kind === 'single' && colColumn.kind === 'single'
      ? chiSquareTest(counts, { rows: row.codes.map((c) => c.label), columns: column.codes.map((c) => c.label) })
      : {
          testable: false,
          reason:
            'No chi-square test: it needs one answer per respondent on both, and a multiple-choice question can have several.',
          dropped: { rows: [], columns: [] },
          warnings: [],
        };
  return { row, column, counts, rowTotals, columnTotals, total, test };
}

/** A cross-tab as the report JSON gives it: counts by row code and column code, and the test. */
export function crosstabJson(table: Crosstab) {
  const counts: Record<string, Record<string, number>> = {};
  table.row.codes.forEach(({ code }, r) => {
    counts[code] = Object.fromEntries(table.column.codes.map(({ code: c }, k) => [c, table.counts[r]?.[k] ?? 0]));
  });
  return {
    row: table.row.id,
    column: table.column.id,
    total: table.total,
    counts,
    chi_square: table.test.testable
      ? { statistic: table.test.statistic, df: table.test.df, p: table.test.p }
      : { statistic: null, df: null, p: null, reason: table.test.reason },
  };
}
