import type { ResponseRow } from '../db/schema.ts';
import type { Survey } from '../survey/definition.ts';
import { postcodeDistrict } from '../survey/formats.ts';
import { type Answers, journey, type Values } from '../survey/journey.ts';

// A response contributes 1 to each of its metrics (a code given to a
// question, a page submitted, a cell of a cross-tab...) under its dimensions
// (status, channel, area, the day it was started, whether it is flagged):
// the filters an analyst can apply.

/** The filterable facts of a response, under which its metrics are counted. */
export interface Dims {
  survey: string;
  status: 'complete' | 'partial';
  channel: string;
  /** The area code, or '' when not answered. */
  area: string;
  /** YYYY-MM-DD of started_at. */
  day: string;
  /** 1 when the response is flagged as suspicious, else 0. */
  flagged: number;
}

/** What a response counts for: its dimensions and its metrics. */
export interface Contribution {
  dims: Dims;
  metrics: string[];
}

/** Metric names. `|` separates parts; codes never contain it. */
export const metric = {
  /** One per response, by its channel (the channels table needs it where channel is not a dimension). */
  responses: (channel: string) => `n|${channel}`,
  page: (page: string) => `p|${page}`,
  answered: (question: string) => `a|${question}`,
  value: (question: string, code: string) => `v|${question}|${code}`,
  groupAnswered: (question: string, group: string) => `ga|${question}|${group}`,
  groupValue: (question: string, group: string, code: string) => `gv|${question}|${group}|${code}`,
  ranksAnswered: 'ra',
  rankValue: (code: string) => `rv|${code}`,
  cross: (table: string, row: string, col: string) => `x|${table}|${row}|${col}`,
};

/** The name of a cross-tab: `<question>_by_<dimension>`, a postcode question by district. */
export function crossTabName(survey: Survey, question: string, dimension: string): string {
  return `${question}_by_${isPostcode(survey, dimension) ? `${dimension}_district` : dimension}`;
}

function isPostcode(survey: Survey, id: string): boolean {
  return survey.questionsById.get(id)?.some((q) => q.type === 'text' && q.format === 'postcode') ?? false;
}

/** The metrics a response counts for, from the values on its route and the pages it submitted. */
export function metricsOf(survey: Survey, channel: string, values: Values, pages: Iterable<string>): string[] {
  const out = [metric.responses(channel)];
  for (const page of pages) out.push(metric.page(page));
  const list = (id: string) => {
    const value = values[id];
    return value === undefined ? [] : Array.isArray(value) ? value : [value];
  };
  for (const [id, questions] of survey.questionsById) {
    const codes = list(id);
    if (!codes.length) continue;
    const groupBy = questions.find((q) => q.groupBy)?.groupBy;
    if (groupBy) {
      const group = values[groupBy];
      if (typeof group !== 'string') continue;
      out.push(metric.groupAnswered(id, group));
      for (const code of codes) out.push(metric.groupValue(id, group, code));
    } else {
      out.push(metric.answered(id));
      for (const code of codes) out.push(metric.value(id, code));
    }
  }
  const analysis = survey.analysis;
  if (!analysis) return out;
  const ranked = new Set(analysis.ranks.flatMap(list));
  if (ranked.size) out.push(metric.ranksAnswered);
  for (const code of ranked) out.push(metric.rankValue(code));
  if (analysis.crosstabs) {
    const { question, by } = analysis.crosstabs;
    for (const row of list(question)) {
      for (const dimension of by) {
        for (const col of list(dimension)) {
          const cell = isPostcode(survey, dimension) && col !== 'prefer_not_to_say' ? postcodeDistrict(col) : col;
          out.push(metric.cross(crossTabName(survey, question, dimension), row, cell));
        }
      }
    }
  }
  return out;
}

/** The dimensions of a response row and its values. */
export function dimsOf(
  survey: Survey,
  row: { survey: string; status: 'complete' | 'partial'; channel: string; started_at: string; flag?: string | null },
  values: Values,
): Dims {
  const areaQuestion = survey.analysis?.area;
  const area = areaQuestion ? values[areaQuestion] : undefined;
  return {
    survey: row.survey,
    status: row.status,
    channel: row.channel,
    area: typeof area === 'string' ? area : '',
    day: row.started_at.slice(0, 10),
    flagged: row.flag ? 1 : 0,
  };
}

/** What a response row counts for with the given route: nothing while an analyst has it excluded. */
export function routeContribution(
  survey: Survey,
  row: Parameters<typeof dimsOf>[1] & { excluded?: string | null },
  route: { answers: Answers; values: Values },
): Contribution | null {
  if (row.excluded) return null;
  return {
    dims: dimsOf(survey, row, route.values),
    metrics: metricsOf(survey, row.channel, route.values, Object.keys(route.answers)),
  };
}

/** What a stored response row counts for: the route of its stored answers (nothing if excluded). */
export function contributionOf(survey: Survey, row: ResponseRow): Contribution | null {
  return routeContribution(survey, row, journey(survey, JSON.parse(row.answers) as Answers));
}

/** Rebuilds route values from response_values rows (multi-choice questions as lists). */
export function valuesFromRows(survey: Survey, rows: { question_id: string; value: string }[]): Values {
  const values: Values = {};
  for (const { question_id, value } of rows) {
    const multiple = survey.questionsById.get(question_id)?.some((q) => q.type === 'multiple');
    if (multiple) values[question_id] = [...((values[question_id] as string[] | undefined) ?? []), value];
    else values[question_id] = value;
  }
  return values;
}
