import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { excludedCounts, type Filters, filtersQuery, flaggedCounts, parseFilters } from '../../analysis/filters.ts';
import { buildReport, responsesByDay } from '../../analysis/report.ts';
import { representativenessOf } from '../../analysis/representativeness.ts';
import { allTables, SECTIONS, type SectionId, sectionGroups } from '../../analysis/sections.ts';
import { type Table, tableChart } from '../../analysis/tables.ts';
import {
  comparedTable,
  countWave,
  earlierWaves,
  headlineTrend,
  previousFilters,
  type Wave,
  waveName,
  wavesOf,
} from '../../analysis/waves.ts';
import { weightedTable } from '../../analysis/weighted-tables.ts';
import { parseWeightSettings, type WeightSettings, weightingFor } from '../../analysis/weighting.ts';
import { chartFigure, chartSvg, timeSeriesChart } from '../../charts/index.ts';
import { tableCsv } from '../../exports/csv.ts';
import { scheduleOf } from '../../responses/schedules.ts';
import type { Survey } from '../../survey/definition.ts';
import { formatWhen, surveyState } from '../../survey/schedule.ts';
import { DEFAULT_VARIABLES } from '../../weighting/rake.ts';
import { mappingOf } from '../../weighting/targets.ts';
import { renderAdminError } from './access.ts';
import { parseCompare, resultsHref, resultsPage, tableView } from './results-view.ts';
import { download, fileStem, surveyBase, withQuery } from './survey-filters.ts';
import { comparisonView, ORIGINS, type WithWeights, weightForm, weightingView } from './weighting-view.ts';

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
export default async function resultsRoutes(app: FastifyInstance, opts: ResultsOptions) {
  const compareOf = (survey: Survey, raw: Record<string, unknown>) => parseCompare(opts.surveys(), survey, raw);

  /** The filters, weighting and comparison in the URL, or the section's page again with what is wrong with them (422). */
  const queryOr = async (request: FastifyRequest, reply: FastifyReply, section: SectionId, template: string) => {
    const raw = (request.query ?? {}) as Record<string, unknown>;
    const parsed = parseFilters(request.survey, raw);
    const weight = parseWeightSettings(request.survey, raw);
    const compare = compareOf(request.survey, raw);
    if (parsed.ok && weight.ok && compare.ok)
      return { filters: parsed.filters, weight: weight.settings, previous: compare.previous };
    await resultsPage(request, reply, template, section, {
      filters: { status: 'all' },
      problems: [
        ...(parsed.ok ? [] : parsed.problems),
        ...(weight.ok ? [] : weight.problems),
        ...(compare.ok ? [] : compare.problems),
      ],
      raw,
      groups: [],
      representativeness: [],
      compareForm: compareForm(request.survey, raw),
    });
    return undefined;
  };

  /** The compare control of the filters form: the earlier waves of the series, none when there are none. */
  const compareForm = (survey: Survey, raw: Record<string, unknown>) => {
    const earlier = earlierWaves(opts.surveys(), survey);
    if (!earlier.length) return undefined;
    return {
      value: typeof raw.compare === 'string' ? raw.compare : '',
      choices: earlier.map((s) => ({ slug: s.slug, label: `${waveName(s)} (${s.title})` })),
    };
  };

  /**
   * The tables of a section beside an earlier wave's: the earlier wave counted under the filters that
   * apply to it, and weighted alike when the page is; with what the page says of the comparison.
   */
  const compared = async (
    survey: Survey,
    section: SectionId,
    previous: Survey,
    current: Wave,
    weight: WeightSettings | undefined,
  ) => {
    const applied = previousFilters(previous, current.filters);
    const wave = await countWave(app.db, previous, applied.filters, weight);
    const tables = new Map(
      sectionGroups(previous, wave.report, section)
        .flatMap((g) => g.tables)
        .map((t) => [t.id, t]),
    );
    const notes = [...applied.notes];
    if (current.weighting?.weights && !wave.weighting?.weights)
      notes.push(
        `${waveName(previous)} could not be weighted${wave.weighting && !wave.weighting.result.ok ? ` (${wave.weighting.result.message})` : ''}, so no change is tested`,
      );
    return {
      table: (shown: Table, table: Table) =>
        comparedTable(shown, table, { wave, table: tables.get(table.id) }, current),
      view: {
        previous: waveName(previous),
        current: waveName(survey),
        title: previous.title,
        weighted: Boolean(current.weighting?.weights),
        notes,
      },
    };
  };

  const tablesPage = async (request: FastifyRequest, reply: FastifyReply, section: SectionId) => {
    const query = await queryOr(request, reply, section, 'admin/results/tables.eta');
    if (!query) return reply;
    const { filters, weight, previous } = query;
    const { survey } = request;
    const current = await countWave(app.db, survey, filters, weight);
    const { report, weighting } = current;
    const comparison = previous ? await compared(survey, section, previous, current, weight) : undefined;
    const groups = sectionGroups(survey, report, section).map((group) => ({
      ...group,
      tables: group.tables.map((table) => {
        const shown = weighting?.weights ? (weightedTable(table, weighting as WithWeights) ?? table) : table;
        return tableView(survey, comparison ? comparison.table(shown, table) : shown, filters, weight, previous?.slug);
      }),
    }));
    const extra = section === 'overview' ? await overview(request, filters, weight, previous?.slug) : {};
    return resultsPage(request, reply, 'admin/results/tables.eta', section, {
      filters,
      weight,
      compare: previous?.slug,
      compareForm: compareForm(survey, { compare: previous?.slug }),
      comparison: comparison?.view,
      groups,
      weighting: weightingView(survey, filters, weighting, section),
      ...extra,
    });
  };

  /** The headline question across the waves up to this one, as a chart and its table; none without earlier waves. */
  const trend = async (survey: Survey, filters: Filters) => {
    const waves = wavesOf(opts.surveys(), survey);
    const upTo = waves.slice(0, waves.indexOf(survey) + 1);
    if (upTo.length < 2) return undefined;
    const counted = await Promise.all(
      upTo.map((s) =>
        s === survey ? countWave(app.db, s, filters) : countWave(app.db, s, previousFilters(s, filters).filters),
      ),
    );
    const found = headlineTrend(counted);
    if (!found) return undefined;
    return {
      // The table is the trend chart's text alternative; neither is one of the downloadable tables.
      table: {
        ...tableView(survey, found.table, filters),
        chart: chartFigure(found.chart, { id: 'chart-trend-headline', tableId: found.table.id }),
        links: undefined,
      },
      dates: Boolean(filters.from || filters.to),
    };
  };

  /** What only the overview shows: responses per day, the survey's status, and the downloads. */
  const overview = async (
    request: FastifyRequest,
    filters: Filters,
    weight: WeightSettings | undefined,
    compare: string | undefined,
  ) => {
    const { survey } = request;
    const [days, schedule, trendView] = await Promise.all([
      responsesByDay(app.db, survey, filters),
      scheduleOf(app.db, survey),
      trend(survey, filters),
    ]);
    const state = surveyState(schedule, new Date());
    const base = surveyBase(survey);
    const responses = resultsHref(`${base}/responses.csv`, filters, weight);
    return {
      trend: trendView,
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
      // The responses' downloads keep the weighting: a weight column, and the workbook's Weighting sheet.
      downloads: {
        workbook: resultsHref(`${base}/workbook.xlsx`, filters, weight),
        responses,
        labelled: `${responses}${responses.includes('?') ? '&' : '?'}labels=yes`,
        report: resultsHref(`${base}/report.json`, filters, undefined, compare),
        weighted: weight !== undefined,
      },
      settings: `${base}/settings`,
      tryIt: `${base}/test`,
    };
  };

  app.get('/results/representativeness', async (request, reply) => {
    const template = 'admin/results/representativeness.eta';
    const query = await queryOr(request, reply, 'representativeness', template);
    if (!query) return reply;
    const { survey } = request;
    const { filters } = query;
    // The page shows a weighting's outcome whatever the URL says: the one asked for, else the default.
    const weight = query.weight ?? {
      variables: DEFAULT_VARIABLES.filter((v) => v in mappingOf(survey)),
      cap: null,
      merges: [],
    };
    const weighting = await weightingFor(app.db, survey, filters, weight);
    const path = `${surveyBase(survey)}/results/representativeness`;
    return resultsPage(request, reply, template, 'representativeness', {
      filters,
      weight: query.weight,
      filterPairs: [...new URLSearchParams(filtersQuery(filters))],
      unweightedHref: resultsHref(path, filters),
      representativeness: representativenessOf(survey, weighting).map((v) => ({
        ...v,
        places: v.places.map((place) => comparisonView(v.variable, v.label, place)),
      })),
      form: weightForm(survey, weight),
      weighting: weightingView(survey, filters, weighting, 'representativeness'),
      originText: ORIGINS[weighting.origin],
      caveats: weighting.caveats,
      targetsHref: request.admin?.role === 'admin' ? `${surveyBase(survey)}/settings/targets` : undefined,
    });
  });

  for (const section of SECTIONS) {
    if (section.id === 'crosstabs' || section.id === 'quality' || section.id === 'representativeness') continue;
    app.get(section.path, (request, reply) => tablesPage(request, reply, section.id));
  }

  app.get('/results/quality', async (request, reply) => {
    const query = await queryOr(request, reply, 'quality', 'admin/results/quality.eta');
    if (!query) return reply;
    const { filters } = query;
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
        eraseTests:
          request.admin?.role === 'admin' && excluded.byReason.test ? `${base}/responses/erase-tests` : undefined,
      },
    });
  });

  /** A table of the results by its id, under the filters and weighting in the URL; undefined once the reply says why not. */
  const tableOf = async (request: FastifyRequest, reply: FastifyReply, id: string) => {
    const raw = (request.query ?? {}) as Record<string, unknown>;
    const parsed = parseFilters(request.survey, raw);
    const weight = parseWeightSettings(request.survey, raw);
    const compare = compareOf(request.survey, raw);
    if (!parsed.ok || !weight.ok || !compare.ok) {
      const problems = [
        ...(parsed.ok ? [] : parsed.problems),
        ...(weight.ok ? [] : weight.problems),
        ...(compare.ok ? [] : compare.problems),
      ];
      await renderAdminError(
        request,
        reply,
        400,
        'Those filters cannot be used',
        problems.map((p) => p.message).join('. '),
      );
      return undefined;
    }
    const { survey } = request;
    const current = await countWave(app.db, survey, parsed.filters, weight.settings);
    const found = allTables(survey, current.report).find((t) => t.id === id);
    if (!found) {
      await renderAdminError(request, reply, 404, 'Table not found', 'There is no table with that name.');
      return undefined;
    }
    const weighting = current.weighting;
    if (weighting && !weighting.weights) {
      await renderAdminError(
        request,
        reply,
        409,
        'That weighting could not be done',
        weighting.result.ok ? '' : weighting.result.message,
      );
      return undefined;
    }
    const shown = weighting ? (weightedTable(found, weighting as WithWeights) ?? found) : found;
    // Compared, a table's CSV and chart are the page's: both waves side by side.
    const section = SECTIONS.find((s) =>
      sectionGroups(survey, current.report, s.id).some((g) => g.tables.some((t) => t.id === id)),
    );
    const comparison =
      compare.previous && section
        ? await compared(survey, section.id, compare.previous, current, weight.settings)
        : undefined;
    const table = comparison ? comparison.table(shown, found) : shown;
    return { table, filters: parsed.filters };
  };

  app.get<{ Params: { table: string } }>('/tables/:table.csv', async (request, reply) => {
    const found = await tableOf(request, reply, request.params.table);
    if (!found) return reply;
    download(reply, 'text/csv; charset=utf-8', `${fileStem(request.survey, found.filters)}-${found.table.id}.csv`);
    return reply.send(tableCsv(found.table));
  });

  app.get<{ Params: { file: string } }>('/charts/:file', async (request, reply) => {
    const match = /^([\w-]+)\.(svg|png)$/.exec(request.params.file);
    if (!match) return renderAdminError(request, reply, 404, 'Chart not found', 'There is no chart with that name.');
    const found = await tableOf(request, reply, match[1] as string);
    if (!found) return reply;
    const svg = standaloneChart(found.table, request.survey.title);
    const name = `${fileStem(request.survey, found.filters)}-${found.table.id}`;
    return sendChart(reply, svg, name, match[2] as 'svg' | 'png');
  });
}

export interface ResultsOptions {
  /** Every survey there is, asked each time (a registry of definitions may change): the earlier waves come from it. */
  surveys: () => Iterable<Survey>;
}

/** A table's chart as a file to paste into a report: title, base and source drawn in. */
export function standaloneChart(table: Table, surveyTitle: string): string {
  return chartSvg(tableChart(table, sourceOf(surveyTitle)), { mode: 'standalone' });
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
