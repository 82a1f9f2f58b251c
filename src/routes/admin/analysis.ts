import type { Readable } from 'node:stream';
import fastifyMultipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { barChartSvg } from '../../analysis/chart.ts';
import {
  areaCodes,
  channelCodes,
  type Filters,
  filtersQuery,
  flaggedCounts,
  flaggedOf,
  parseFilters,
} from '../../analysis/filters.ts';
import { buildReport } from '../../analysis/report.ts';
import { allTables, analysisSections, formatPercent, percent, type Table } from '../../analysis/tables.ts';
import { tableCsv } from '../../exports/csv.ts';
import { importResponses } from '../../exports/import.ts';
import type { ExportKind } from '../../exports/job.ts';
import { closeExportPool, ExportsBusy, startExport } from '../../exports/pool.ts';
import { toMinute } from '../../responses/anonymity.ts';
import { scheduleOf, setSchedule } from '../../responses/schedules.ts';
import type { Survey } from '../../survey/definition.ts';
import { optionsOf } from '../../survey/definition.ts';
import { formatWhen, fromLondonTime, surveyState, toLondonTime } from '../../survey/schedule.ts';
import { adminView, renderAdminError, requireAdmin } from './access.ts';

type SurveyRoute = { Params: { slug: string }; Querystring: Record<string, unknown> };

/** The largest CSV an admin can upload: about 150,000 responses. */
export const IMPORT_FILE_LIMIT = 50 * 1024 * 1024;

/** Everything an analyst sees of a survey: the tables, cross-tabs, chart, downloads, and (admins) import. */
export default async function analysisRoutes(app: FastifyInstance, opts: { surveys: Survey[]; now: () => Date }) {
  const bySlug = new Map(opts.surveys.map((s) => [s.slug, s]));

  /** The survey and the filters in the URL, or an answer explaining what is wrong with them. */
  const load = async (request: FastifyRequest<SurveyRoute>, reply: FastifyReply) => {
    const survey = bySlug.get(request.params.slug);
    if (!survey) {
      await renderAdminError(request, reply, 404, 'Survey not found', 'There is no survey at this address.');
      return undefined;
    }
    const parsed = parseFilters(survey, request.query ?? {});
    if (!parsed.ok) {
      await renderAdminError(request, reply, 400, 'Those filters cannot be used', parsed.problems.join('. '));
      return undefined;
    }
    reply.header('cache-control', 'no-store');
    return { survey, filters: parsed.filters };
  };

  const base = (survey: Survey) => `/admin/surveys/${survey.slug}`;
  const withQuery = (path: string, filters: Filters) => {
    const query = filtersQuery(filters);
    return query ? `${path}?${query}` : path;
  };
  const download = (reply: FastifyReply, type: string, name: string) =>
    reply.header('content-type', type).header('content-disposition', `attachment; filename="${name}"`);
  const fileStem = (survey: Survey, filters: Filters) =>
    [
      survey.slug,
      filters.status !== 'all' ? filters.status : '',
      filters.area ?? '',
      filters.channel ?? '',
      filters.from ?? '',
      filters.to ?? '',
      { include: '', exclude: 'unflagged', only: 'flagged' }[flaggedOf(filters)],
    ]
      .filter(Boolean)
      .join('-');

  app.get<SurveyRoute>('/surveys/:slug', async (request, reply) => {
    const found = await load(request, reply);
    if (!found) return reply;
    const { survey, filters } = found;
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
        csv: withQuery(`${base(survey)}/tables/${tab.id}.csv`, filters),
      })),
      tableCsv: (table: Table) => withQuery(`${base(survey)}/tables/${table.id}.csv`, filters),
      headline,
      links: {
        chart: withQuery(`${base(survey)}/chart.svg`, filters),
        responses: withQuery(`${base(survey)}/responses.csv`, filters),
        workbook: withQuery(`${base(survey)}/workbook.xlsx`, filters),
        report: withQuery(`${base(survey)}/report.json`, filters),
        import: `${base(survey)}/import`,
        clear: base(survey),
      },
      canImport: request.admin?.role === 'admin',
      schedule: {
        status: state.open
          ? `Open${schedule.closesAt ? `: closes on ${formatWhen(new Date(schedule.closesAt))}` : ': no closing date set'}`
          : state.reason === 'closed'
            ? `Closed on ${formatWhen(state.at)}`
            : `Opens on ${formatWhen(state.at)}`,
        open: state.open,
        action: `${base(survey)}/schedule`,
        opensAt: schedule.opensAt ? toLondonTime(new Date(schedule.opensAt)) : '',
        closesAt: schedule.closesAt ? toLondonTime(new Date(schedule.closesAt)) : '',
      },
    });
  });

  app.get<SurveyRoute>('/surveys/:slug/report.json', async (request, reply) => {
    const found = await load(request, reply);
    if (!found) return reply;
    const report = await buildReport(app.db, found.survey, found.filters);
    return reply.header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(report, null, 2));
  });

  app.addHook('onClose', closeExportPool);
  /**
   * An export, made in a worker thread (see exports/pool.ts) so that
   * respondents' pages are not held up; the download starts once its first
   * chunk is ready, so an error before then still gets an error page.
   */
  const sendExport = async (
    request: FastifyRequest<SurveyRoute>,
    reply: FastifyReply,
    kind: ExportKind,
    type: string,
    name: (stem: string) => string,
  ) => {
    const found = await load(request, reply);
    if (!found) return reply;
    const { survey, filters } = found;
    let stream: Readable;
    try {
      stream = await startExport({ db: app.db, database: app.database, survey, job: { kind, filters } });
    } catch (err) {
      if (!(err instanceof ExportsBusy)) throw err;
      reply.header('retry-after', '60');
      return renderAdminError(
        request,
        reply,
        503,
        'Other exports are being made',
        'Several downloads of the responses are being made just now. Please wait a minute, then try again.',
      );
    }
    stream.on('error', (err) => request.log.error({ err }, `${kind} export failed`));
    // An abandoned download stops its export.
    reply.raw.once('close', () => stream.destroy());
    download(reply, type, name(fileStem(survey, filters)));
    return reply.send(stream);
  };

  app.get<SurveyRoute>('/surveys/:slug/responses.csv', (request, reply) =>
    sendExport(request, reply, 'csv', 'text/csv; charset=utf-8', (stem) => `${stem}-responses.csv`),
  );

  app.get<SurveyRoute & { Params: { table: string } }>('/surveys/:slug/tables/:table.csv', async (request, reply) => {
    const found = await load(request, reply);
    if (!found) return reply;
    const report = await buildReport(app.db, found.survey, found.filters);
    const table = allTables(found.survey, report).find((t) => t.id === request.params.table);
    if (!table) return renderAdminError(request, reply, 404, 'Table not found', 'There is no table with that name.');
    download(reply, 'text/csv; charset=utf-8', `${fileStem(found.survey, found.filters)}-${table.id}.csv`);
    return reply.send(tableCsv(table));
  });

  app.get<SurveyRoute>('/surveys/:slug/chart.svg', async (request, reply) => {
    const found = await load(request, reply);
    if (!found) return reply;
    const report = await buildReport(app.db, found.survey, found.filters);
    const table = analysisSections(found.survey, report).sections.find((s) => s.id === 'most-important')?.tables[0];
    if (!table) return renderAdminError(request, reply, 404, 'No chart', 'This survey has no headline question.');
    return reply.header('content-type', 'image/svg+xml; charset=utf-8').send(chartOf(table));
  });

  app.get<SurveyRoute>('/surveys/:slug/workbook.xlsx', (request, reply) =>
    sendExport(
      request,
      reply,
      'xlsx',
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      (stem) => `${stem}.xlsx`,
    ),
  );

  // Admins only: open or close a survey, and import.
  await app.register(async (scope) => {
    scope.addHook('preHandler', requireAdmin);
    // Open or close a survey: the dates set here replace those in its definition.
    scope.post<SurveyRoute>('/surveys/:slug/schedule', async (request, reply) => {
      const survey = bySlug.get(request.params.slug);
      if (!survey)
        return renderAdminError(request, reply, 404, 'Survey not found', 'There is no survey at this address.');
      const body = (request.body ?? {}) as Record<string, unknown>;
      // Each field at most once, as text: a repeated date must not read as "no date".
      if (Object.values(body).some((value) => typeof value !== 'string'))
        return renderAdminError(request, reply, 400, 'There is a problem with that request', 'Nothing was changed.');
      const now = opts.now();
      const current = await scheduleOf(app.db, survey);
      let next: { opensAt: string | null; closesAt: string | null };
      if (body.action === 'open') {
        next = {
          opensAt: toMinute(now),
          closesAt: current.closesAt && new Date(current.closesAt) > now ? current.closesAt : null,
        };
      } else if (body.action === 'close') {
        next = { opensAt: current.opensAt ?? null, closesAt: toMinute(now) };
      } else if (body.action === 'dates') {
        const read = (name: string) => {
          const value = typeof body[name] === 'string' ? (body[name] as string) : '';
          if (!value) return { value: null };
          const at = fromLondonTime(value);
          return at
            ? { value: at.toISOString() }
            : {
                error: `Enter the ${name === 'opens_at' ? 'opening' : 'closing'} date and time as shown, like 2019-03-03 17:00`,
              };
        };
        const opens = read('opens_at');
        const closes = read('closes_at');
        const problems = [opens.error, closes.error].filter((e): e is string => Boolean(e));
        if (!problems.length && opens.value && closes.value && opens.value >= closes.value)
          problems.push('The closing time must be after the opening time');
        if (problems.length)
          return renderAdminError(
            request,
            reply,
            422,
            'Those dates cannot be used',
            `${problems.join('. ')}. Nothing was changed.`,
          );
        next = { opensAt: opens.value ?? null, closesAt: closes.value ?? null };
      } else {
        return renderAdminError(request, reply, 400, 'There is a problem with that request', 'Nothing was changed.');
      }
      await setSchedule(app.db, survey, next, now);
      request.log.info({ survey: survey.slug, by: request.admin?.id, ...next }, 'survey schedule changed');
      return reply.redirect(`${base(survey)}#schedule`, 303);
    });

    // Multipart bodies are accepted here, for the file, and nowhere else.
    await scope.register(async (upload) => {
      await upload.register(fastifyMultipart, {
        attachFieldsToBody: 'keyValues',
        limits: { fileSize: IMPORT_FILE_LIMIT, files: 1, fields: 5, parts: 6 },
      });

      upload.get<SurveyRoute>('/surveys/:slug/import', async (request, reply) => {
        const survey = bySlug.get(request.params.slug);
        if (!survey)
          return renderAdminError(request, reply, 404, 'Survey not found', 'There is no survey at this address.');
        reply.header('cache-control', 'no-store');
        return adminView(request, reply, 'admin/import.eta', importPage(survey));
      });

      upload.post<SurveyRoute>('/surveys/:slug/import', async (request, reply) => {
        const survey = bySlug.get(request.params.slug);
        if (!survey)
          return renderAdminError(request, reply, 404, 'Survey not found', 'There is no survey at this address.');
        reply.header('cache-control', 'no-store');
        const file = (request.body as Record<string, unknown> | undefined)?.file;
        if (!Buffer.isBuffer(file) || file.length === 0) {
          return adminView(
            request,
            reply,
            'admin/import.eta',
            { ...importPage(survey), errors: [{ field: 'file', message: 'Select a CSV file of responses' }] },
            422,
          );
        }
        const result = await importResponses(app.db, survey, file);
        if (!result.ok) {
          return adminView(
            request,
            reply,
            'admin/import.eta',
            {
              ...importPage(survey),
              errors: [
                { field: 'file', message: `Nothing was imported: the file has ${result.problemCount} problem(s)` },
              ],
              problems: result.problems,
              problemCount: result.problemCount,
            },
            422,
          );
        }
        request.log.info({ survey: survey.slug, imported: result.imported }, 'responses imported');
        return adminView(request, reply, 'admin/import.eta', { ...importPage(survey), result });
      });
    });
  });

  const importPage = (survey: Survey) => ({
    title: `Import responses: ${survey.title} – Soundings admin`,
    nav: 'surveys',
    survey,
    action: `${base(survey)}/import`,
    back: base(survey),
    errors: [] as { field: string; message: string }[],
  });
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
