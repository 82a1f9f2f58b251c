import type { FastifyReply, FastifyRequest } from 'fastify';
import { channelLabels } from '../../analysis/crosstab.ts';
import {
  areaCodes,
  channelCodes,
  describeFilters,
  excludedOf,
  type FilterProblem,
  type Filters,
  filtersQuery,
  flaggedOf,
} from '../../analysis/filters.ts';
import { SECTIONS, type SectionId } from '../../analysis/sections.ts';
import { cellText, type Table, tableChart } from '../../analysis/tables.ts';
import { earlierWave } from '../../analysis/waves.ts';
import { type WeightSettings, weightQuery } from '../../analysis/weighting.ts';
import { chartFigure } from '../../charts/index.ts';
import { areaLabels, type Survey } from '../../survey/definition.ts';
import { adminView } from './access.ts';
import { surveyBase } from './survey-filters.ts';

// View models of the results pages: the navigation, the filters form, and
// tables with their charts and downloads. Templates only render them.

/** The earlier wave a query asks to compare with (`compare`): none, the wave, or what is wrong with it. */
export function parseCompare(
  surveys: Iterable<Survey>,
  survey: Survey,
  raw: Record<string, unknown>,
): { ok: true; previous: Survey | undefined } | { ok: false; problems: FilterProblem[] } {
  const slug = raw.compare;
  if (slug === undefined || slug === '') return { ok: true, previous: undefined };
  const found =
    typeof slug === 'string'
      ? earlierWave(surveys, survey, slug)
      : { ok: false as const, message: 'compare must be given once' };
  if (found.ok) return { ok: true, previous: found.survey };
  return { ok: false, problems: [{ field: 'compare', message: found.message }] };
}

/** The query of a results address: the filters, any weighting and the wave compared with, defaults left out. */
export function resultsQuery(filters: Filters, weight?: WeightSettings, compare?: string): string {
  const wave = compare ? new URLSearchParams({ compare }).toString() : '';
  return [filtersQuery(filters), weightQuery(weight), wave].filter(Boolean).join('&');
}

/** A path with the results' query. */
export function resultsHref(path: string, filters: Filters, weight?: WeightSettings, compare?: string): string {
  const query = resultsQuery(filters, weight, compare);
  return query ? `${path}?${query}` : path;
}

/** A table as the page shows it: headers, formatted cells, its chart and its downloads. */
export function tableView(survey: Survey, table: Table, filters: Filters, weight?: WeightSettings, compare?: string) {
  const base = surveyBase(survey);
  const chart = tableChart(table);
  return {
    id: table.id,
    title: table.title,
    baseText: table.baseText,
    weighted: table.weighted === true,
    head: table.columns.map((c) => ({
      text: c.heading,
      numeric: c.kind === 'count' || c.kind === 'percent' || c.kind === 'points',
    })),
    rows: table.rows.map((row) => ({
      header: String(row.cells[0] ?? ''),
      marked: row.marked === true,
      total: row.total === true,
      cells: row.cells.slice(1).map((cell, i) => cellText(table.columns[i + 1], cell)),
    })),
    // Long tables (many columns) scroll in their own region, their first column fixed.
    wide: table.columns.length > 4,
    chart: (chart.kind === 'bar' ? chart.bars.length : table.rows.length)
      ? chartFigure(chart, { id: `chart-${table.id}`, tableId: table.id })
      : '',
    links: {
      csv: resultsHref(`${base}/tables/${table.id}.csv`, filters, weight, compare),
      svg: resultsHref(`${base}/charts/${table.id}.svg`, filters, weight, compare),
      png: resultsHref(`${base}/charts/${table.id}.png`, filters, weight, compare),
    },
  };
}

/** The options of the filters form, and what it currently holds (as typed, when it could not be used). */
export function filtersView(survey: Survey, filters: Filters, raw: Record<string, unknown> = {}) {
  const areas = areaLabels(survey);
  const channels = channelLabels(survey);
  const text = (name: string, value: string | undefined) =>
    typeof raw[name] === 'string' ? (raw[name] as string) : (value ?? '');
  return {
    values: {
      area: text('area', filters.area),
      status: text('status', filters.status),
      channel: text('channel', filters.channel),
      flagged: text('flagged', flaggedOf(filters)),
      excluded: text('excluded', excludedOf(filters)),
      from: text('from', filters.from),
      to: text('to', filters.to),
    },
    areas: areaCodes(survey).map((code) => ({ code, label: areas.get(code) ?? code })),
    channels: channelCodes(survey).map((code) => ({ code, label: channels.get(code) ?? code })),
    active: filtersQuery(filters) !== '',
    description: describeFilters(filters, areas, channels),
  };
}

/** The results' navigation, each page keeping the filters, the weighting and the wave compared with. */
export function resultsNav(
  survey: Survey,
  current: SectionId,
  filters: Filters,
  weight?: WeightSettings,
  compare?: string,
) {
  return SECTIONS.map((s) => ({
    heading: s.heading,
    href: resultsHref(`${surveyBase(survey)}${s.path}`, filters, weight, compare),
    current: s.id === current,
  }));
}

/**
 * Renders a results page: the navigation, the filters (with their errors, if
 * any: the page then has no figures, status 422) and the section's own view.
 */
export function resultsPage(
  request: FastifyRequest,
  reply: FastifyReply,
  template: string,
  section: SectionId,
  view: {
    filters: Filters;
    weight?: WeightSettings;
    /** The slug of the earlier wave compared with. */
    compare?: string;
    problems?: FilterProblem[];
    raw?: Record<string, unknown>;
  } & Record<string, unknown>,
) {
  const { survey } = request;
  const heading = SECTIONS.find((s) => s.id === section)?.heading ?? '';
  const problems = view.problems ?? [];
  return adminView(
    request,
    reply,
    template,
    {
      ...view,
      title: `${problems.length ? 'Error: ' : ''}${heading}: ${survey.title} – Soundings admin`,
      heading,
      nav: 'surveys',
      surveyNav: 'results',
      survey,
      section,
      resultsNav: resultsNav(survey, section, view.filters, view.weight, view.compare),
      // The filters form keeps the weighting; the weighting's own controls live on Representativeness.
      keepPairs: [...new URLSearchParams(weightQuery(view.weight))],
      filterForm: filtersView(survey, view.filters, view.raw),
      errors: problems.map((p) => ({ field: p.field, message: `${p.message[0]?.toUpperCase()}${p.message.slice(1)}` })),
      clear: `${surveyBase(survey)}${SECTIONS.find((s) => s.id === section)?.path ?? ''}`,
      wide: true,
    },
    problems.length ? 422 : 200,
  );
}
