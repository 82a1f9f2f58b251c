import type { Expression, ExpressionBuilder, Kysely, SelectQueryBuilder, SqlBool } from 'kysely';
import { z } from 'zod';
import type { Database } from '../db/schema.ts';
import { areaCodes, type Survey } from '../survey/definition.ts';

export { areaCodes } from '../survey/definition.ts';

/** What every table, chart and export is narrowed to. Kept in the URL so a view can be bookmarked. */
export interface Filters {
  /** `all` includes partial responses (started, not sent), as the published tables do. */
  status: 'all' | 'complete' | 'partial';
  /** A code of the survey's area question. */
  area?: string;
  channel?: string;
  /** Inclusive dates (YYYY-MM-DD, UTC) on which the response was started. */
  from?: string;
  to?: string;
  /**
   * Responses flagged as possibly automated or repeated (see SECURITY.md):
   * `include` them (the default, when absent), `exclude` them, or show `only` them.
   * Flags are signals, not proof, so nothing is left out unless an analyst asks.
   */
  flagged?: FlaggedFilter;
  /**
   * Responses an analyst excluded (a test, a duplicate, junk): left out (the
   * default, when absent), switched back in (`include`), or shown alone (`only`).
   */
  excluded?: ExcludedFilter;
}

export type FlaggedFilter = 'include' | 'exclude' | 'only';
export type ExcludedFilter = 'exclude' | 'include' | 'only';

/** Whether excluded responses are counted: `exclude` unless the filters say otherwise. */
export function excludedOf(filters: Filters): ExcludedFilter {
  return filters.excluded ?? 'exclude';
}

export const DEFAULT_FILTERS: Filters = { status: 'all' };

/** Whether flagged responses are counted: `include` unless the filters say otherwise. */
export function flaggedOf(filters: Filters): FlaggedFilter {
  return filters.flagged ?? 'include';
}

const isoDate = z.iso.date();

/** The channels a response can have: the survey's share-link sources, plus `web` and `paper`. */
export function channelCodes(survey: Survey): string[] {
  return ['web', ...survey.channels.map((c) => c.code), 'paper'];
}

/** The filters in words: what a page and a workbook say they show. */
export function describeFilters(filters: Filters, areas: Map<string, string>, channels: Map<string, string>): string {
  const parts = [
    filters.status === 'all' ? 'complete and partial responses' : `${filters.status} responses only`,
    filters.area ? `area: ${areas.get(filters.area) ?? filters.area}` : 'all areas',
    filters.channel ? `channel: ${channels.get(filters.channel) ?? filters.channel}` : 'all channels',
  ];
  if (filters.from || filters.to)
    parts.push(`started ${filters.from ? `from ${filters.from} ` : ''}${filters.to ? `to ${filters.to}` : ''}`.trim());
  if (flaggedOf(filters) === 'exclude') parts.push('flagged responses left out');
  if (flaggedOf(filters) === 'only') parts.push('flagged responses only');
  if (excludedOf(filters) === 'include') parts.push('excluded responses switched back in');
  if (excludedOf(filters) === 'only') parts.push('excluded responses only');
  return parts.join(', ');
}

/** A filter that cannot be used: its name (the form field) and why. */
export interface FilterProblem {
  field: string;
  message: string;
}

/**
 * Reads filters from a query string or CLI options. Returns the problems found
 * (an unknown area or channel, a malformed date) instead of guessing.
 */
export function parseFilters(
  survey: Survey,
  input: Record<string, unknown>,
): { ok: true; filters: Filters } | { ok: false; problems: FilterProblem[] } {
  const problems: FilterProblem[] = [];
  const problem = (field: string, message: string) => problems.push({ field, message });
  const text = (name: string) => {
    const value = input[name];
    if (value === undefined || value === '') return undefined;
    if (typeof value !== 'string') {
      problem(name, `${name} must be given once`);
      return undefined;
    }
    return value;
  };
  const filters: Filters = { status: 'all' };
  const status = text('status');
  if (status !== undefined) {
    if (status === 'all' || status === 'complete' || status === 'partial') filters.status = status;
    else problem('status', 'status must be all, complete or partial');
  }
  const area = text('area');
  if (area !== undefined) {
    const codes = areaCodes(survey);
    if (codes.includes(area)) filters.area = area;
    else problem('area', `area must be one of ${codes.join(', ')}`);
  }
  const channel = text('channel');
  if (channel !== undefined) {
    if (channelCodes(survey).includes(channel)) filters.channel = channel;
    else problem('channel', `channel must be one of ${channelCodes(survey).join(', ')}`);
  }
  const flagged = text('flagged');
  if (flagged !== undefined) {
    if (flagged === 'exclude' || flagged === 'only') filters.flagged = flagged;
    else if (flagged !== 'include') problem('flagged', 'flagged must be include, exclude or only');
  }
  const excluded = text('excluded');
  if (excluded !== undefined) {
    if (excluded === 'include' || excluded === 'only') filters.excluded = excluded;
    else if (excluded !== 'exclude') problem('excluded', 'excluded must be exclude, include or only');
  }
  for (const name of ['from', 'to'] as const) {
    const value = text(name);
    if (value === undefined) continue;
    if (isoDate.safeParse(value).success) filters[name] = value;
    else problem(name, `${name} must be a date like 2019-02-18`);
  }
  if (filters.from && filters.to && filters.from > filters.to) problem('from', 'from must not be after to');
  return problems.length ? { ok: false, problems } : { ok: true, filters };
}

/** The filters as a query string (without `?`), defaults left out, for links and downloads. */
export function filtersQuery(filters: Filters): string {
  const params = new URLSearchParams();
  if (filters.status !== 'all') params.set('status', filters.status);
  for (const name of ['area', 'channel', 'from', 'to'] as const) {
    const value = filters[name];
    if (value) params.set(name, value);
  }
  if (flaggedOf(filters) !== 'include') params.set('flagged', flaggedOf(filters));
  if (excludedOf(filters) !== 'exclude') params.set('excluded', excludedOf(filters));
  return params.toString();
}

/**
 * How many responses under the filters (whatever they say about flags) are
 * flagged, by reason: what the analysis page shows beside the flagged filter.
 */
export async function flaggedCounts(
  db: Kysely<Database>,
  survey: Survey,
  filters: Filters,
): Promise<{ total: number; byReason: Record<string, number> }> {
  const rows = await db
    .selectFrom('responses')
    .select(['flag', (eb) => eb.fn.countAll<number>().as('n')])
    .where(passesFilters(survey, { ...filters, flagged: 'only' }))
    .groupBy('flag')
    .execute();
  const byReason: Record<string, number> = {};
  let total = 0;
  for (const row of rows) {
    if (!row.flag) continue;
    byReason[row.flag] = Number(row.n);
    total += Number(row.n);
  }
  return { total, byReason };
}

/** How many responses under the filters an analyst has excluded, by reason (whatever the filters say of exclusions). */
export async function excludedCounts(
  db: Kysely<Database>,
  survey: Survey,
  filters: Filters,
): Promise<{ total: number; byReason: Record<string, number> }> {
  const rows = await db
    .selectFrom('responses')
    .select(['excluded', (eb) => eb.fn.countAll<number>().as('n')])
    .where(passesFilters(survey, { ...filters, excluded: 'only' }))
    .groupBy('excluded')
    .execute();
  const byReason: Record<string, number> = {};
  let total = 0;
  for (const row of rows) {
    if (!row.excluded) continue;
    byReason[row.excluded] = Number(row.n);
    total += Number(row.n);
  }
  return { total, byReason };
}

/** The day after an ISO date, for an exclusive upper bound on timestamps. */
function dayAfter(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

/** The ids of the survey's responses that pass the filters: a subquery every table is built on. */
export function filteredResponseIds(
  db: Kysely<Database>,
  survey: Survey,
  filters: Filters,
): SelectQueryBuilder<Database, 'responses', { id: string }> {
  return db.selectFrom('responses').select('responses.id').where(passesFilters(survey, filters));
}

/** The condition on a `responses` row that it is the survey's and passes the filters. */
export function passesFilters(survey: Survey, filters: Filters) {
  return (eb: ExpressionBuilder<Database, 'responses'>): Expression<SqlBool> => {
    const conditions: Expression<SqlBool>[] = [eb('responses.survey', '=', survey.slug)];
    if (filters.status !== 'all') conditions.push(eb('responses.status', '=', filters.status));
    if (filters.channel) conditions.push(eb('responses.channel', '=', filters.channel));
    if (filters.from) conditions.push(eb('responses.started_at', '>=', filters.from));
    if (filters.to) conditions.push(eb('responses.started_at', '<', dayAfter(filters.to)));
    const flagged = flaggedOf(filters);
    if (flagged !== 'include') conditions.push(eb('responses.flag', flagged === 'exclude' ? 'is' : 'is not', null));
    const excluded = excludedOf(filters);
    if (excluded !== 'include')
      conditions.push(eb('responses.excluded', excluded === 'exclude' ? 'is' : 'is not', null));
    const areaQuestion = survey.analysis?.area;
    if (filters.area && areaQuestion)
      conditions.push(
        eb.exists(
          eb
            .selectFrom('response_values as area_value')
            .select('area_value.response_id')
            .whereRef('area_value.response_id', '=', 'responses.id')
            .where('area_value.question_id', '=', areaQuestion)
            .where('area_value.value', '=', filters.area as string),
        ),
      );
    return eb.and(conditions);
  };
}
