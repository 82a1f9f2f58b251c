import { stringify } from 'csv-stringify/sync';
import type { FastifyInstance } from 'fastify';
import { barChartSvg } from '../../analysis/chart.ts';
import { areaCodes, channelCodes, type Filters, flaggedCounts, flaggedOf } from '../../analysis/filters.ts';
import { buildReport } from '../../analysis/report.ts';
import { allTables, analysisSections, formatPercent, percent, type Table } from '../../analysis/tables.ts';
import { neutralise } from '../../exports/response-record.ts';
import { scheduleOf } from '../../responses/schedules.ts';
import { optionsOf } from '../../survey/definition.ts';
import { formatWhen, surveyState, toLondonTime } from '../../survey/schedule.ts';
import { adminView, renderAdminError } from './access.ts';
import { download, fileStem, filtersOf, surveyBase, withQuery } from './survey-filters.ts';

/** What an analyst sees of a survey: the tables, cross-tabs and chart, as a page, JSON, CSV and SVG. */
export default async function analysisRoutes(app: FastifyInstance, opts: { now: () => Date }) {
  app.get('', async (request, reply) => {
    const filters = await filtersOf(request, reply);
    if (!filters) return reply;
    const { survey } = request;
    const [report, schedule, flagged] = await Promise.all([
      buildReport(app.db, survey, filters),
      scheduleOf(app.db, survey),
      flaggedCounts(app.db, survey, filters),
    ]);
    const { sections, crossTabs } = analysisSections(survey, report);
    const state = surveyState(schedule, opts.now());
    const headline = sections.find((s) => s.id === 'most-important')?.tables[0];
    const areaQuestion = survey.analysis ? survey.questionsById.get(survey.analysis.area)?.[0] : undefined;
    const areaLabels = new Map(areaQuestion ? optionsOf(areaQuestion).map((o) => [o.code, o.label]) : []);
    const channelLabels = new Map([
      ['web', 'Web (direct link)'],
      ['paper', 'Paper'],
      ...survey.channels.map((c): [string, string] => [c.code, c.label]),
    ]);
    return adminView(request, reply, 'admin/analysis.eta', {
      title: `Analysis: ${survey.title} – Soundings admin`,
      nav: 'surveys',
      survey,
      filters,
      filterText: describeFilters(filters, areaLabels, channelLabels),
      areas: areaCodes(survey).map((code) => ({ code, label: areaLabels.get(code) ?? code })),
      channels: channelCodes(survey).map((code) => ({ code, label: channelLabels.get(code) ?? code })),
      flagged: { ...flagged, reasons: flagReasons(flagged.byReason), filter: flaggedOf(filters) },
      sections,
      crossTabs: crossTabs.map((tab) => ({
        ...tab,
        cells: tab.counts.map((row, i) =>
          row.map((count, j) => ({
            count,
            rowPercent: formatPercent(percent(count, tab.rowTotals[i] ?? 0)),
            colPercent: formatPercent(percent(count, tab.colTotals[j] ?? 0)),
          })),
        ),
        csv: withQuery(`${surveyBase(survey)}/tables/${tab.id}.csv`, filters),
      })),
      tableCsv: (table: Table) => withQuery(`${surveyBase(survey)}/tables/${table.id}.csv`, filters),
      headline,
      links: {
        chart: withQuery(`${surveyBase(survey)}/chart.svg`, filters),
        responses: withQuery(`${surveyBase(survey)}/responses.csv`, filters),
        workbook: withQuery(`${surveyBase(survey)}/workbook.xlsx`, filters),
        report: withQuery(`${surveyBase(survey)}/report.json`, filters),
        import: `${surveyBase(survey)}/import`,
        clear: surveyBase(survey),
      },
      canImport: request.admin?.role === 'admin',
      schedule: {
        status: state.open
          ? `Open${schedule.closesAt ? `: closes on ${formatWhen(new Date(schedule.closesAt))}` : ': no closing date set'}`
          : state.reason === 'closed'
            ? `Closed on ${formatWhen(state.at)}`
            : `Opens on ${formatWhen(state.at)}`,
        open: state.open,
        action: `${surveyBase(survey)}/schedule`,
        opensAt: schedule.opensAt ? toLondonTime(new Date(schedule.opensAt)) : '',
        closesAt: schedule.closesAt ? toLondonTime(new Date(schedule.closesAt)) : '',
      },
    });
  });

  app.get('/report.json', async (request, reply) => {
    const filters = await filtersOf(request, reply);
    if (!filters) return reply;
    const report = await buildReport(app.db, request.survey, filters);
    return reply.header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(report, null, 2));
  });

  app.get<{ Params: { table: string } }>('/tables/:table.csv', async (request, reply) => {
    const filters = await filtersOf(request, reply);
    if (!filters) return reply;
    const report = await buildReport(app.db, request.survey, filters);
    const table = allTables(request.survey, report).find((t) => t.id === request.params.table);
    if (!table) return renderAdminError(request, reply, 404, 'Table not found', 'There is no table with that name.');
    download(reply, 'text/csv; charset=utf-8', `${fileStem(request.survey, filters)}-${table.id}.csv`);
    return reply.send(tableCsv(table));
  });

  app.get('/chart.svg', async (request, reply) => {
    const filters = await filtersOf(request, reply);
    if (!filters) return reply;
    const report = await buildReport(app.db, request.survey, filters);
    const table = analysisSections(request.survey, report).sections.find((s) => s.id === 'most-important')?.tables[0];
    if (!table) return renderAdminError(request, reply, 404, 'No chart', 'This survey has no headline question.');
    return reply.header('content-type', 'image/svg+xml; charset=utf-8').send(chartOf(table));
  });
}

/** A table as CSV: title and base first, as it would be pasted into a report; formula-safe cells. */
export function tableCsv(table: Table): string {
  const safe = (cell: string | number) => (typeof cell === 'number' ? String(cell) : neutralise(cell));
  const rows: (string | number)[][] = [
    [table.title],
    [table.baseText],
    table.columns,
    ...table.rows.map((r) => r.cells),
  ];
  return stringify(
    rows.map((row) => row.map(safe)),
    { bom: true },
  );
}

export function chartOf(table: Table): string {
  return barChartSvg(
    table.title,
    `${table.baseText}. ${table.rows.map((r) => `${r.cells[0]}: ${r.cells[1]} (${r.cells[2]})`).join('; ')}.`,
    table.rows.map((r) => ({ label: String(r.cells[0]), count: Number(r.cells[1]), percent: String(r.cells[2]) })),
  );
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
  return parts.join(', ');
}

const FLAG_REASONS: Record<string, string> = {
  honeypot: 'filled in a hidden field only a robot sees',
  too_fast: 'sent faster than a person could read the questions',
  burst: 'one of many started from one connection within minutes',
};

/** The reasons responses were flagged, as a sentence for the analysis page. */
function flagReasons(byReason: Record<string, number>): string {
  return Object.entries(byReason)
    .map(([reason, n]) => `${n} ${FLAG_REASONS[reason] ?? reason}`)
    .join('; ');
}
