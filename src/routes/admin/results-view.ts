import type { FastifyReply, FastifyRequest } from 'fastify';
import { channelLabels } from '../../analysis/crosstab.ts';
import {
  areaCodes,
  channelCodes,
  excludedOf,
  type FilterProblem,
  type Filters,
  filtersQuery,
  flaggedOf,
} from '../../analysis/filters.ts';
import { SECTIONS, type SectionId } from '../../analysis/sections.ts';
import { cellText, chartBars, type Table } from '../../analysis/tables.ts';
import { chartFigure } from '../../charts/index.ts';
import { optionsOf, type Survey } from '../../survey/definition.ts';
import { adminView } from './access.ts';
import { surveyBase, withQuery } from './survey-filters.ts';

// View models of the results pages: the navigation, the filters form, and
// tables with their charts and downloads. Templates only render them.

/** A table as the page shows it: headers, formatted cells, its chart and its downloads. */
export function tableView(survey: Survey, table: Table, filters: Filters) {
  const base = surveyBase(survey);
  const chart = chartBars(table);
  return {
    id: table.id,
    title: table.title,
    baseText: table.baseText,
    head: table.columns.map((c) => ({ text: c.heading, numeric: c.kind === 'count' || c.kind === 'percent' })),
    rows: table.rows.map((row) => ({
      header: String(row.cells[0] ?? ''),
      marked: row.marked === true,
      total: row.total === true,
      cells: row.cells.slice(1).map((cell, i) => cellText(table.columns[i + 1], cell)),
    })),
    // Long tables (many columns) scroll in their own region, their first column fixed.
    wide: table.columns.length > 4,
    chart: chart.length
      ? chartFigure(
          {
            kind: 'bar',
            title: table.title,
            subtitle: table.baseText,
            unit: table.columns.some((c) => c.kind === 'percent') ? '%' : '',
            ...(table.columns.some((c) => c.kind === 'percent') ? { max: 100 } : {}),
            bars: chart,
          },
          { id: `chart-${table.id}`, tableId: table.id },
        )
      : '',
    links: {
      csv: withQuery(`${base}/tables/${table.id}.csv`, filters),
      svg: withQuery(`${base}/charts/${table.id}.svg`, filters),
      png: withQuery(`${base}/charts/${table.id}.png`, filters),
    },
  };
}

/** The options of the filters form, and what it currently holds (as typed, when it could not be used). */
export function filtersView(survey: Survey, filters: Filters, raw: Record<string, unknown> = {}) {
  const areaQuestion = survey.analysis ? survey.questionsById.get(survey.analysis.area)?.[0] : undefined;
  const areaLabels = new Map(areaQuestion ? optionsOf(areaQuestion).map((o) => [o.code, o.label]) : []);
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
    areas: areaCodes(survey).map((code) => ({ code, label: areaLabels.get(code) ?? code })),
    channels: channelCodes(survey).map((code) => ({ code, label: channels.get(code) ?? code })),
    active: filtersQuery(filters) !== '',
    description: describeFilters(filters, areaLabels, channels),
  };
}

function describeFilters(filters: Filters, areas: Map<string, string>, channels: Map<string, string>): string {
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

/** The results' navigation, each page keeping the filters. */
export function resultsNav(survey: Survey, current: SectionId, filters: Filters) {
  return SECTIONS.map((s) => ({
    heading: s.heading,
    href: withQuery(`${surveyBase(survey)}${s.path}`, filters),
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
  view: { filters: Filters; problems?: FilterProblem[]; raw?: Record<string, unknown> } & Record<string, unknown>,
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
      resultsNav: resultsNav(survey, section, view.filters),
      filterForm: filtersView(survey, view.filters, view.raw),
      errors: problems.map((p) => ({ field: p.field, message: `${p.message[0]?.toUpperCase()}${p.message.slice(1)}` })),
      clear: `${surveyBase(survey)}${SECTIONS.find((s) => s.id === section)?.path ?? ''}`,
      wide: true,
    },
    problems.length ? 422 : 200,
  );
}
