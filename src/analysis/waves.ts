import type { Kysely } from 'kysely';
import type { TrendChart } from '../charts/index.ts';
import type { Database } from '../db/schema.ts';
import {
  type Count,
  twoProportionZTest,
  type WeightedShare,
  weightedTwoProportionZTest,
} from '../stats/proportions.ts';
import { areaCodes, type Survey } from '../survey/definition.ts';
import { channelCodes, type Filters } from './filters.ts';
import { buildReport, type Report } from './report.ts';
import { cellText, percent, questionTable, rankTitle, signed, type Table } from './tables.ts';
import { type Weighting, type WeightSettings, weightedTally, weightingFor } from './weighting.ts';

// Waves of a series (csp-2019, csp-2020, …) compared question by question and
// code by code: each answer's share among those who answered in both waves,
// the change in percentage points, and a pooled two-proportion z-test of it
// (on Kish's effective sample sizes when weighted). Surveys are found through
// whatever list the caller passes, so a registry of definitions can stand in.

/** The waves of the survey's series in order, the survey among them; the survey alone when it has no series. */
export function wavesOf(surveys: Iterable<Survey>, survey: Survey): Survey[] {
  const id = survey.series?.id;
  if (!id) return [survey];
  const waves = [...surveys].filter((s) => s.series?.id === id && s.slug !== survey.slug);
  return [...waves, survey].sort((a, b) => compareWaves(a, b));
}

/** Waves in order of their names, as numbers where they hold them ("2019" before "2020", "2" before "10"). */
function compareWaves(a: Survey, b: Survey): number {
  return (
    (a.series?.wave ?? '').localeCompare(b.series?.wave ?? '', 'en', { numeric: true }) || a.slug.localeCompare(b.slug)
  );
}

/** The waves of the survey's series before it, latest first: what it can be compared with. */
export function earlierWaves(surveys: Iterable<Survey>, survey: Survey): Survey[] {
  const waves = wavesOf(surveys, survey);
  return waves.slice(0, waves.indexOf(survey)).reverse();
}

/** What a wave is called in column headings: its wave name, else its slug. */
export const waveName = (survey: Survey) => survey.series?.wave ?? survey.slug;

/** The earlier wave a slug names, or why it cannot be compared with this survey (in words for the page or the CLI). */
export function earlierWave(
  surveys: Iterable<Survey>,
  survey: Survey,
  slug: string,
): { ok: true; survey: Survey } | { ok: false; message: string } {
  const all = [...surveys];
  const found = all.find((s) => s.slug === slug);
  if (!survey.series)
    return { ok: false, message: `${survey.title} is not one of a series, so it has no earlier wave` };
  if (!found) return { ok: false, message: `there is no survey “${slug}” to compare with` };
  const earlier = earlierWaves(all, survey);
  if (earlier.includes(found)) return { ok: true, survey: found };
  const choices = earlier.length
    ? `: choose from ${earlier.map((s) => s.slug).join(', ')}`
    : ': it has no earlier wave';
  if (found.series?.id !== survey.series.id)
    return { ok: false, message: `“${slug}” is not a wave of ${survey.series.title}${choices}` };
  return { ok: false, message: `“${slug}” is not an earlier wave than ${waveName(survey)}${choices}` };
}

/**
 * The filters as they apply to an earlier wave, and what the page says of them: dates belong to this
 * wave's fieldwork and do not apply; an area or channel the earlier wave does not have is left out.
 */
export function previousFilters(previous: Survey, filters: Filters): { filters: Filters; notes: string[] } {
  const { from, to, ...rest } = filters;
  const out: Filters = { ...rest };
  const notes: string[] = [];
  if (from || to) notes.push(`the dates apply to this wave only: all of ${waveName(previous)} is counted`);
  if (out.area && !areaCodes(previous).includes(out.area)) {
    notes.push(`${waveName(previous)} has no area “${out.area}”: all its areas are counted`);
    delete out.area;
  }
  if (out.channel && !channelCodes(previous).includes(out.channel)) {
    notes.push(`${waveName(previous)} has no channel “${out.channel}”: all its channels are counted`);
    delete out.channel;
  }
  return { filters: out, notes };
}

/** A wave's report under the filters that apply to it, and its weighting when one is asked for. */
export interface Wave {
  survey: Survey;
  filters: Filters;
  report: Report;
  weighting?: Weighting;
}

/** Counts a wave under the filters, weighted when asked (a weighting that fails leaves `weighting.weights` unset). */
export async function countWave(
  db: Kysely<Database>,
  survey: Survey,
  filters: Filters,
  weight?: WeightSettings,
): Promise<Wave> {
  const [report, weighting] = await Promise.all([
    buildReport(db, survey, filters),
    weight ? weightingFor(db, survey, filters, weight) : undefined,
  ]);
  return { survey, filters, report, ...(weighting ? { weighting } : {}) };
}

/** Each code's share in a table: counts of those who answered, or weighted shares on an effective size. */
export type Shares =
  | { weighted: false; n: number; counts: Map<string, number> }
  | { weighted: true; nEff: number; shares: Map<string, number> };

/**
 * A table's shares by code: weighted when the weighting has weights and the table a source in the
 * responses, else as counted (undefined for a table that is not one code per row of one base).
 */
export function sharesOf(table: Table, weighting?: Weighting): Shares | undefined {
  if (weighting?.weights && table.source) {
    const tally = weightedTally(
      weighting as Weighting & { weights: Float64Array },
      table.source.column,
      table.source.group,
    );
    if (tally)
      return {
        weighted: true,
        nEff: tally.effectiveBase,
        shares: new Map([...tally.shares].map(([code, s]) => [code, s.proportion])),
      };
  }
  const countAt = table.columns.findIndex((c) => c.kind === 'count');
  if (table.base === undefined || countAt < 0) return undefined;
  const counts = new Map<string, number>();
  for (const row of table.rows) if (row.code !== undefined) counts.set(row.code, Number(row.cells[countAt] ?? 0));
  return counts.size ? { weighted: false, n: table.base, counts } : undefined;
}

/** One code's change between waves: shares 0–1 among those who answered, current minus previous. */
export interface Change {
  previous: number | null;
  current: number | null;
  change: number | null;
  z: number | null;
  significant: boolean;
  /** Why there is no test (a code one wave did not offer, an empty wave), in words. */
  reason?: string;
  warnings: string[];
}

const shareIn = (shares: Shares | undefined, code: string): Count | WeightedShare | undefined => {
  if (!shares) return undefined;
  if (shares.weighted)
    return shares.shares.has(code) ? { p: shares.shares.get(code) as number, nEff: shares.nEff } : undefined;
  return shares.counts.has(code) ? { x: shares.counts.get(code) as number, n: shares.n } : undefined;
};

/** The change in one code's share from the previous wave to the current one, tested when both offered it. */
export function changeOf(previous: Shares | undefined, current: Shares | undefined, code: string): Change {
  const before = shareIn(previous, code);
  const after = shareIn(current, code);
  const share = (s: Count | WeightedShare | undefined) =>
    s === undefined ? null : 'x' in s ? (s.n ? s.x / s.n : null) : s.nEff ? s.p : null;
  const p1 = share(before);
  const p2 = share(after);
  const untested = (reason: string): Change => ({
    previous: p1,
    current: p2,
    change: p1 !== null && p2 !== null ? p2 - p1 : null,
    z: null,
    significant: false,
    reason,
    warnings: [],
  });
  if (!before) return untested('Not offered in the earlier wave.');
  if (!after) return untested('Not offered in this wave.');
  // Weighted in one wave and not the other would test unlike with unlike.
  const result =
    'x' in before && 'x' in after
      ? twoProportionZTest(before, after)
      : 'p' in before && 'p' in after
        ? weightedTwoProportionZTest(before, after)
        : undefined;
  if (!result) return untested('One wave is weighted and the other is not.');
  if (!result.testable) return untested(result.reason);
  return {
    previous: result.p1,
    current: result.p2,
    change: result.difference,
    z: result.z,
    significant: result.significant,
    warnings: result.warnings,
  };
}

/** A share (0–1) as the tables show a percentage: one decimal place. */
const asPercent = (share: number | null, shares: Shares | undefined, code: string): number | null => {
  if (share === null) return null;
  if (shares && !shares.weighted) return percent(shares.counts.get(code) ?? 0, shares.n);
  return Math.round(share * 1000) / 10;
};

/** A change (0–1 scale) in percentage points to one decimal place, worked out before the shares are rounded. */
const points = (change: number | null) => (change === null ? null : Math.round(change * 1000) / 10);

/** A change in points as the page shows it ("+3.2", "−1.0"). */
export function pointsText(change: number | null): string {
  return cellText({ heading: '', kind: 'points' }, points(change));
}

/** Whether a change is significant, in words with a marker: never told by colour alone. */
export function verdictText(c: Change): string {
  if (c.z === null) return `Not tested: ${c.reason ?? ''}`.trim();
  const z = `z = ${signed(c.z, 2)}`;
  const caution = c.warnings.length ? '; few respondents, may not be reliable' : '';
  if (!c.significant) return `No (${z}${caution})`;
  return `${c.z > 0 ? 'Yes, up ▲' : 'Yes, down ▼'} (${z}${caution})`;
}

/** The labels of a table's rows by code. */
const labelsOf = (table: Table) =>
  new Map(table.rows.flatMap((row) => (row.code === undefined ? [] : [[row.code, String(row.cells[0] ?? '')]])));

/**
 * A table as compared with an earlier wave: each answer's count in this wave, its share in the
 * earlier wave and in this one (weighted when the page is), the change in points and whether it is
 * significant, matched by code. A label that changed shows both; an answer the earlier wave alone
 * offered is a row of its own. `shown` is the table as the page shows it (weighted or not), `table`
 * and `previous` the counted tables the shares come from. Charted as the two waves side by side.
 */
export function comparedTable(
  shown: Table,
  table: Table,
  previous: { wave: Wave; table: Table | undefined },
  current: Wave,
): Table {
  if (!table.rows.some((row) => row.code !== undefined)) return shown;
  const before = waveName(previous.wave.survey);
  const now = waveName(current.survey);
  if (!previous.table) return { ...shown, baseText: `${shown.baseText}. Not compared: ${before} has no such table` };
  const old = sharesOf(previous.table, previous.wave.weighting);
  const fresh = sharesOf(table, current.weighting);
  const oldLabels = labelsOf(previous.table);
  const countAt = shown.columns.findIndex((c) => c.kind === 'count');
  const figures = (code: string) => {
    const c = changeOf(old, fresh, code);
    return [asPercent(c.previous, old, code), asPercent(c.current, fresh, code), points(c.change), verdictText(c)];
  };
  const rows = shown.rows.map((row) => {
    const count = countAt >= 0 ? (row.cells[countAt] ?? null) : null;
    const label = String(row.cells[0] ?? '');
    if (row.code === undefined) return { ...row, cells: [label, count, null, null, null, ''] };
    const was = oldLabels.get(row.code);
    return {
      ...row,
      cells: [was !== undefined && was !== label ? `${label} (${before}: ${was})` : label, count, ...figures(row.code)],
    };
  });
  const codes = new Set(shown.rows.map((row) => row.code));
  for (const [code, label] of oldLabels)
    if (!codes.has(code)) rows.push({ code, cells: [`${label} (${before} only)`, null, ...figures(code)] });
  const weighted = fresh?.weighted ? ' weighted' : '';
  const { weighted: _, ...rest } = shown;
  return {
    ...rest,
    columns: [
      shown.columns[0] ?? { heading: 'Answer', kind: 'label' },
      { heading: `Count (${now})`, kind: 'count' },
      { heading: `${before} %${weighted}`, kind: 'percent' },
      { heading: `${now} %${weighted}`, kind: 'percent' },
      { heading: 'Change (points)', kind: 'points' },
      { heading: 'Significant change?', kind: 'text' },
    ],
    rows,
    compared: [before, now],
  };
}

/** The questions the report JSON compares: one code per respondent or several, not follow-ups or free text. */
function comparableQuestions(current: Survey, previous: Survey): string[] {
  return current.questionIds.filter((id) => {
    const asked = current.questionsById.get(id) ?? [];
    const before = previous.questionsById.get(id) ?? [];
    const plain = (qs: readonly { type: string; groupBy?: string }[]) =>
      qs.length > 0 && qs.every((q) => q.type !== 'text' && !q.groupBy);
    return plain(asked) && plain(before);
  });
}

/**
 * What `report --compare` adds: the earlier wave, and for every question both waves ask (follow-ups
 * per category aside) each code's share 0–1 among those who answered in each wave, the change, z and
 * whether |z| > 1.96. Weighted on both waves when the current one is (effective sizes, Kish).
 */
export function comparisonJson(previous: Wave, current: Wave) {
  const questions: Record<string, Record<string, Omit<Change, 'warnings'> & { warnings?: string[] }>> = {};
  for (const id of comparableQuestions(current.survey, previous.survey)) {
    const before = questionTable(previous.survey, previous.report, id, id, false);
    const after = questionTable(current.survey, current.report, id, id, false);
    const old = sharesOf(before, previous.weighting);
    const fresh = sharesOf(after, current.weighting);
    const codes = new Set([...labelsOf(after).keys(), ...labelsOf(before).keys()]);
    questions[id] = Object.fromEntries(
      [...codes].map((code) => {
        const { warnings, ...change } = changeOf(old, fresh, code);
        return [code, { ...change, ...(warnings.length ? { warnings } : {}) }];
      }),
    );
  }
  return {
    with: previous.survey.slug,
    waves: { previous: waveName(previous.survey), current: waveName(current.survey) },
    previous_filters: previous.filters,
    weighted: Boolean(current.weighting?.weights && previous.weighting?.weights),
    questions,
  };
}

/**
 * The headline question across waves: each category's share among those who answered, as a trend
 * chart of the six largest in the latest wave (beyond six, lines could not be told apart without
 * colour) and a table of every category, which is the chart's text alternative.
 */
export function headlineTrend(waves: Wave[]): { chart: TrendChart; table: Table } | undefined {
  const latest = waves[waves.length - 1];
  const headline = latest?.survey.analysis?.headline;
  if (!latest || !headline || waves.length < 2) return undefined;
  const tables = waves.map((w) => questionTable(w.survey, w.report, headline, headline));
  const latestTable = tables[tables.length - 1] as Table;
  const codes = latestTable.rows.map((row) => row.code as string);
  const shareAt = (table: Table, code: string) => {
    const row = table.rows.find((r) => r.code === code);
    return row ? (row.cells[2] as number | null) : null;
  };
  const title = `${rankTitle(latest.survey, 0)}, ${waveName(waves[0]?.survey as Survey)} to ${waveName(latest.survey)}`;
  const names = waves.map((w) => waveName(w.survey));
  const labels = labelsOf(latestTable);
  return {
    chart: {
      kind: 'trend',
      title,
      subtitle: `Share of those who answered; the six largest in ${waveName(latest.survey)}`,
      unit: '%',
      valueLabel: 'Share of respondents who answered (%)',
      waves: names,
      series: codes.slice(0, 6).map((code) => ({
        name: labels.get(code) ?? code,
        values: tables.map((t) => shareAt(t, code)),
      })),
    },
    table: {
      id: 'trend-headline',
      title,
      baseText: `Of ${tables.map((t, w) => `${t.base} in ${names[w]}`).join(', ')} who answered`,
      columns: [
        { heading: 'Answer', kind: 'label' },
        ...names.map((name) => ({ heading: `${name} %`, kind: 'percent' as const })),
      ],
      rows: codes.map((code) => ({ code, cells: [labels.get(code) ?? code, ...tables.map((t) => shareAt(t, code))] })),
    },
  };
}
