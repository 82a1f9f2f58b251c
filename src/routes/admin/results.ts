import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { excludedCounts, type Filters, flaggedCounts, parseFilters } from '../../analysis/filters.ts';
import { buildReport, responsesByDay } from '../../analysis/report.ts';
import { allTables, SECTIONS, type SectionId, sectionGroups } from '../../analysis/sections.ts';
import { chartBars, type Table } from '../../analysis/tables.ts';
import { barChart, timeSeriesChart } from '../../charts/index.ts';
import { tableCsv } from '../../exports/table-csv.ts';
import { scheduleOf } from '../../responses/schedules.ts';
import { formatWhen, surveyState } from '../../survey/schedule.ts';
import { renderAdminError } from './access.ts';
import { resultsPage, tableView } from './results-view.ts';
import { download, fileStem, surveyBase, withQuery } from './survey-filters.ts';

/** Made by Soundings from this survey: the source line of every downloaded chart. */
const sourceOf = (title: string) => `Source: ${title}. Made with Soundings.`;

const FLAG_REASONS: Record<string, string> = {
  honeypot: 'filled in a hidden field only a robot sees',
  too_fast: 'answered faster than a person could read the questions',
  burst: 'one of many started from one connection',
};
const EXCLUSION_REASONS: Record<string, string> = {
  test: 'a test by staff',
  duplicate: 'a duplicate',
  junk: 'junk',
  other: 'another reason',
};

/**
 * The results, a page per section (overview, priorities, victims, about you,
 * channels, data quality), each carrying the filters in its address; and each
 * table's CSV and chart (SVG, PNG).
 */
export default async function resultsRoutes(app: FastifyInstance) {
  /** The filters in the URL, or the section's page again with what is wrong with them (422). */
  const filtersOr = async (request: FastifyRequest, reply: FastifyReply, section: SectionId, template: string) => {
    const raw = (request.query ?? {}) as Record<string, unknown>;
    const parsed = parseFilters(request.survey, raw);
    if (parsed.ok) return parsed.filters;
    await resultsPage(request, reply, template, section, {
      filters: { status: 'all' },
      problems: parsed.problems,
      raw,
      groups: [],
    });
    return undefined;
  };

  const tablesPage = async (request: FastifyRequest, reply: FastifyReply, section: SectionId) => {
    const filters = await filtersOr(request, reply, section, 'admin/results/tables.eta');
    if (!filters) return reply;
    const { survey } = request;
    const report = await buildReport(app.db, survey, filters);
    const groups = sectionGroups(survey, report, section).map((group) => ({
      ...group,
      tables: group.tables.map((table) => tableView(survey, table, filters)),
    }));
    const extra = section === 'overview' ? await overview(request, filters) : {};
    return resultsPage(request, reply, 'admin/results/tables.eta', section, { filters, groups, ...extra });
  };

  /** What only the overview shows: responses per day, the survey's status, and the downloads. */
  const overview = async (request: FastifyRequest, filters: Filters) => {
    const { survey } = request;
    const [days, schedule] = await Promise.all([responsesByDay(app.db, survey, filters), scheduleOf(app.db, survey)]);
    const state = surveyState(schedule, new Date());
    const base = surveyBase(survey);
    return {
      perDay: days.length
        ? {
            chart: timeSeriesChart(
              {
                kind: 'time-series',
                title: 'Responses started each day',
                valueLabel: 'Responses per day',
                points: days.map((d) => ({ date: d.day, value: d.complete + d.partial })),
              },
              { mode: 'inline', id: 'chart-per-day' },
            ),
            rows: days,
          }
        : undefined,
      status: state.open
        ? `Open${schedule.closesAt ? `: closes on ${formatWhen(new Date(schedule.closesAt))}` : ': no closing date set'}`
        : state.reason === 'closed'
          ? `Closed on ${formatWhen(state.at)}`
          : `Opens on ${formatWhen(state.at)}`,
      open: state.open,
      downloads: {
        workbook: withQuery(`${base}/workbook.xlsx`, filters),
        responses: withQuery(`${base}/responses.csv`, filters),
        report: withQuery(`${base}/report.json`, filters),
      },
      settings: `${base}/settings`,
    };
  };

  for (const section of SECTIONS) {
    if (section.id === 'crosstabs' || section.id === 'quality') continue;
    app.get(section.path, (request, reply) => tablesPage(request, reply, section.id));
  }

  app.get('/results/quality', async (request, reply) => {
    const filters = await filtersOr(request, reply, 'quality', 'admin/results/quality.eta');
    if (!filters) return reply;
    const { survey } = request;
    const everything = { ...filters, flagged: 'include' as const, excluded: 'include' as const };
    const [report, flagged, excluded] = await Promise.all([
      buildReport(app.db, survey, { ...filters, excluded: 'exclude' }),
      flaggedCounts(app.db, survey, everything),
      excludedCounts(app.db, survey, everything),
    ]);
    const base = surveyBase(survey);
    return resultsPage(request, reply, 'admin/results/quality.eta', 'quality', {
      filters,
      report,
      flagged: Object.entries(flagged.byReason).map(([reason, n]) => ({ reason: FLAG_REASONS[reason] ?? reason, n })),
      flaggedTotal: flagged.total,
      excluded: Object.entries(excluded.byReason).map(([reason, n]) => ({
        reason: EXCLUSION_REASONS[reason] ?? reason,
        n,
      })),
      excludedTotal: excluded.total,
      links: {
        partial: withQuery(`${base}/responses`, { ...filters, status: 'partial' }),
        flagged: withQuery(`${base}/responses`, { ...filters, flagged: 'only' }),
        excluded: withQuery(`${base}/responses`, { ...filters, excluded: 'only' }),
        withoutFlagged: withQuery(base, { ...filters, flagged: 'exclude' }),
      },
    });
  });

  /** A table of the results by its id, under the filters in the URL; undefined once the reply says why not. */
  const tableOf = async (request: FastifyRequest<{ Params: { table: string } }>, reply: FastifyReply) => {
    const parsed = parseFilters(request.survey, (request.query ?? {}) as Record<string, unknown>);
    if (!parsed.ok) {
      await renderAdminError(
        request,
        reply,
        400,
        'Those filters cannot be used',
        parsed.problems.map((p) => p.message).join('. '),
      );
      return undefined;
    }
    const report = await buildReport(app.db, request.survey, parsed.filters);
    const table = allTables(request.survey, report).find((t) => t.id === request.params.table);
    if (!table) await renderAdminError(request, reply, 404, 'Table not found', 'There is no table with that name.');
    return table ? { table, filters: parsed.filters } : undefined;
  };

  app.get<{ Params: { table: string } }>('/tables/:table.csv', async (request, reply) => {
    const found = await tableOf(request, reply);
    if (!found) return reply;
    download(reply, 'text/csv; charset=utf-8', `${fileStem(request.survey, found.filters)}-${found.table.id}.csv`);
    return reply.send(tableCsv(found.table));
  });

  app.get<{ Params: { file: string } }>('/charts/:file', async (request, reply) => {
    const match = /^([\w-]+)\.(svg|png)$/.exec(request.params.file);
    if (!match) return renderAdminError(request, reply, 404, 'Chart not found', 'There is no chart with that name.');
    const found = await tableOf(
      Object.assign(request, { params: { table: match[1] as string } }) as FastifyRequest<{
        Params: { table: string };
      }>,
      reply,
    );
    if (!found) return reply;
    const svg = standaloneChart(found.table, request.survey.title);
    const name = `${fileStem(request.survey, found.filters)}-${found.table.id}`;
    return sendChart(reply, svg, name, match[2] as 'svg' | 'png');
  });
}

/** A table's chart as a file to paste into a report: title, base and source drawn in. */
export function standaloneChart(table: Table, surveyTitle: string): string {
  const percent = table.columns.some((c) => c.kind === 'percent');
  return barChart(
    {
      kind: 'bar',
      title: table.title,
      subtitle: table.baseText,
      source: sourceOf(surveyTitle),
      unit: percent ? '%' : '',
      ...(percent ? { max: 100 } : {}),
      bars: chartBars(table),
    },
    { mode: 'standalone' },
  );
}

/** A chart download: the SVG as it is, or drawn as a PNG (resvg, loaded only for this). */
export async function sendChart(reply: FastifyReply, svg: string, name: string, format: 'svg' | 'png') {
  if (format === 'svg') {
    download(reply, 'image/svg+xml; charset=utf-8', `${name}.svg`);
    return reply.send(svg);
  }
  const { svgToPng } = await import('../../charts/png.ts');
  const png = await svgToPng(svg);
  download(reply, 'image/png', `${name}.png`);
  return reply.send(png);
}
