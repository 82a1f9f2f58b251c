import type { Survey } from '../survey/definition.ts';
import type { Report } from './report.ts';
import type { Table } from './tables.ts';
import { type TallyGroup, type Weighting, weightedTally } from './weighting.ts';

// A table's weighted view: each answer's count (unweighted, the base), its
// share as counted and its weighted share with a 95% interval on the
// effective sample size. Estimates are labelled as such.

const rounded = (share: number) => Math.round(share * 1000) / 10;

/** The weighted view of a table, or undefined for a table that cannot be weighted (no source in the responses). */
export function weightedTable(table: Table, weighting: Weighting & { weights: Float64Array }): Table | undefined {
  const source = table.source;
  const tally = source ? weightedTally(weighting, source.column, source.group) : undefined;
  if (!source || !tally) return undefined;
  const countAt = table.columns.findIndex((c) => c.kind === 'count');
  const percentAt = table.columns.findIndex((c) => c.kind === 'percent');
  return {
    id: table.id,
    title: `${table.title} (weighted estimates)`,
    baseText: `Estimates among ${tally.base} weighted respondents who answered; effective sample size ${tally.effectiveBase.toFixed(1)}`,
    columns: [
      table.columns[0] ?? { heading: 'Answer', kind: 'label' },
      { heading: 'Count', kind: 'count' },
      { heading: '% as answered', kind: 'percent' },
      { heading: '% weighted', kind: 'percent' },
      { heading: '95% CI low', kind: 'percent' },
      { heading: '95% CI high', kind: 'percent' },
    ],
    rows: table.rows
      .filter((row) => row.code !== undefined)
      .map((row) => {
        const share = tally.shares.get(row.code as string);
        return {
          code: row.code as string,
          cells: [
            row.cells[0] ?? '',
            row.cells[countAt] ?? null,
            row.cells[percentAt] ?? null,
            share && tally.base ? rounded(share.proportion) : null,
            share && tally.base ? rounded(share.low) : null,
            share && tally.base ? rounded(share.high) : null,
          ],
          ...(row.marked ? { marked: true } : {}),
        };
      }),
    source,
    weighted: true,
  };
}

/** A code's weighted share and interval (0–1), as the report JSON gives them. */
interface WeightedJson {
  proportions: Record<string, number>;
  ci95: Record<string, [number, number]>;
  base: number;
  effective_base: number;
}

/**
 * What `--weight` adds to the report: the weighting's outcome, and for every
 * single- and multiple-choice question (follow-ups per category) the weighted
 * proportions among weighted respondents who answered, with 95% intervals.
 */
export function weightedReport(survey: Survey, report: Report, weighting: Weighting) {
  const result = weighting.result;
  const summary = {
    variables: weighting.settings.variables,
    cap: weighting.settings.cap,
    merges: weighting.settings.merges,
    converged: result.ok,
    ...(result.ok
      ? {
          iterations: result.overall.iterations,
          design_effect: result.overall.designEffect,
          effective_n: result.overall.effectiveSampleSize,
          weighted_respondents: result.overall.respondents,
          largest_weight: result.overall.largestWeight,
          capped: result.overall.capped,
          districts: Object.fromEntries(
            result.districts.map((d) => [
              d.district,
              { design_effect: d.designEffect, effective_n: d.effectiveSampleSize, respondents: d.respondents },
            ]),
          ),
        }
      : { message: result.message }),
    left_out: 'excluded' in result ? result.excluded : undefined,
    interval: weighting.method,
    targets: weighting.origin,
  };
  const questions: Report['questions'] = JSON.parse(JSON.stringify(report.questions));
  if (result.ok && weighting.weights) {
    const weighted = weighting as Weighting & { weights: Float64Array };
    const json = (columnId: string, group?: TallyGroup): WeightedJson | undefined => {
      const tally = weightedTally(weighted, columnId, group);
      if (!tally) return undefined;
      return {
        proportions: Object.fromEntries([...tally.shares].map(([code, s]) => [code, s.proportion])),
        ci95: Object.fromEntries([...tally.shares].map(([code, s]) => [code, [s.low, s.high]])),
        base: tally.base,
        effective_base: tally.effectiveBase,
      };
    };
    for (const [id, questionList] of survey.questionsById) {
      const question = questionList[0];
      if (!question || question.type === 'text') continue;
      const entry = questions[id] as Record<string, unknown> | undefined;
      if (!entry) continue;
      const groupBy = questionList.find((q) => q.groupBy)?.groupBy;
      if (!groupBy) {
        entry.weighted = json(id);
        continue;
      }
      for (const [code, tally] of Object.entries(entry))
        (tally as Record<string, unknown>).weighted = json(id, { column: groupBy, code });
    }
  }
  return { weighting: summary, questions };
}
