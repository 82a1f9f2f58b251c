import { stringify } from 'csv-stringify/sync';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Crosstab, crosstab, crosstabVariables } from '../../analysis/crosstab.ts';
import { type FilterProblem, type Filters, parseFilters } from '../../analysis/filters.ts';
import { matrixFor } from '../../analysis/matrix-cache.ts';
import { ReportRequestError, reportJson } from '../../analysis/report-json.ts';
import { selectRows } from '../../analysis/response-matrix.ts';
import { crosstabPresets, formatPercent, percent } from '../../analysis/tables.ts';
import { parseWeightSettings } from '../../analysis/weighting.ts';
import { type Chart, chartFigure, chartSvg } from '../../charts/index.ts';
import { neutralise } from '../../exports/csv.ts';
import { DEFAULT_THRESHOLD, SUPPRESSED, suppressTable } from '../../stats/suppression.ts';
import type { Survey } from '../../survey/definition.ts';
import { renderAdminError } from './access.ts';
import { sendChart } from './results.ts';
import { parseCompare, resultsPage } from './results-view.ts';
import { download, fileStem, surveyBase, withQuery } from './survey-filters.ts';

export type Measure = 'count' | 'row' | 'column';
const MEASURES: { value: Measure; label: string }[] = [
  { value: 'count', label: 'Counts' },
  { value: 'row', label: 'Row % (share of the row’s respondents)' },
  { value: 'column', label: 'Column % (share of the column’s respondents)' },
];

/** What the cross-tab page is asked for, beside the filters. */
interface CrosstabQuery {
  row?: string;
  column?: string;
  measure: Measure;
  /** Marked for publication: small cells shown as [c], with the cells that would give them away. */
  publish: boolean;
  threshold: number;
}

/** The cross-tab's own fields from the query string, with any problem against its field. */
function readQuery(variables: Set<string>, query: Record<string, unknown>) {
  const problems: FilterProblem[] = [];
  const text = (name: string) =>
    typeof query[name] === 'string' && query[name] !== '' ? (query[name] as string) : undefined;
  const out: CrosstabQuery = { measure: 'count', publish: text('publish') === 'yes', threshold: DEFAULT_THRESHOLD };
  for (const name of ['row', 'column'] as const) {
    const value = text(name);
    if (value === undefined) continue;
    if (variables.has(value)) out[name] = value;
    else problems.push({ field: name, message: `Choose the ${name === 'row' ? 'rows' : 'columns'} from the list` });
  }
  if (out.row && out.row === out.column)
    problems.push({ field: 'column', message: 'Choose a different question for the columns' });
  const measure = text('measure');
  if (measure !== undefined) {
    if (MEASURES.some((m) => m.value === measure)) out.measure = measure as Measure;
    else problems.push({ field: 'measure', message: 'Choose counts, row % or column %' });
  }
  const threshold = text('threshold');
  if (threshold !== undefined) {
    const n = Number(threshold);
    if (Number.isInteger(n) && n >= 2 && n <= 100) out.threshold = n;
    else problems.push({ field: 'threshold', message: 'Enter a threshold from 2 to 100' });
  }
  return { query: out, problems };
}

/** The query string of a cross-tab with the filters: links, downloads. */
function crosstabQuery(filters: Filters, q: CrosstabQuery, extra: Partial<CrosstabQuery> = {}) {
  const all = { ...q, ...extra };
  const params = new URLSearchParams(withQuery('', filters).replace(/^\?/, ''));
  if (all.row) params.set('row', all.row);
  if (all.column) params.set('column', all.column);
  if (all.measure !== 'count') params.set('measure', all.measure);
  if (all.publish) params.set('publish', 'yes');
  if (all.threshold !== DEFAULT_THRESHOLD) params.set('threshold', String(all.threshold));
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** One cell as shown: the measure chosen, suppressed when published, with its significance in words. */
interface CellView {
  text: string;
  small: boolean;
  suppressed: boolean;
  reading: string | null;
}

/** The cross-tab's cells, totals and test as the page shows them, in the measure chosen. */
export function crosstabView(table: Crosstab, q: CrosstabQuery) {
  const mode = q.publish ? 'publish' : 'analyst';
  const suppressed = suppressTable(table.counts, { mode, threshold: q.threshold });
  const readings = new Map<string, string>();
  if (table.test.testable) {
    const test = table.test;
    for (const [a, r] of test.rows.entries())
      for (const [b, c] of test.columns.entries()) {
        const reading = test.readings[a]?.[b];
        if (reading) readings.set(`${r},${c}`, reading);
      }
  }
  const show = (count: number, base: number, cell: { suppressed: unknown; small: boolean }): string => {
    if (q.publish && cell.suppressed) return SUPPRESSED;
    if (q.measure === 'count') return String(count);
    return formatPercent(percent(count, base));
  };
  const rows = table.row.codes.map((code, r) => ({
    label: code.label,
    cells: table.column.codes.map((_, c): CellView => {
      const cell = suppressed.cells[r]?.[c] ?? { suppressed: null, small: false };
      const count = table.counts[r]?.[c] ?? 0;
      const base = q.measure === 'row' ? (table.rowTotals[r] ?? 0) : (table.columnTotals[c] ?? 0);
      return {
        text: show(count, base, cell),
        small: cell.small,
        suppressed: q.publish && cell.suppressed !== null,
        reading: readings.get(`${r},${c}`) ?? null,
      };
    }),
    base:
      q.publish && (table.rowTotals[r] ?? 0) > 0 && (table.rowTotals[r] ?? 0) < q.threshold
        ? SUPPRESSED
        : String(table.rowTotals[r] ?? 0),
  }));
  const columnBases = table.columnTotals.map((n) => (q.publish && n > 0 && n < q.threshold ? SUPPRESSED : String(n)));
  return {
    rows,
    columnBases,
    total: table.total,
    smallCells: suppressed.summary.primary,
    suppressionNote: suppressed.summary.note,
    significant: readings.size,
  };
}

/** The cross-tab as a chart: the measure chosen, as grouped bars on the smaller side. */
function crosstabChart(table: Crosstab, q: CrosstabQuery, title: string): Chart {
  const measure = q.measure === 'count' ? 'row' : q.measure;
  const byRow = table.column.codes.length <= 6 || table.column.codes.length <= table.row.codes.length;
  const share = (r: number, c: number) => {
    const count = table.counts[r]?.[c] ?? 0;
    const base = measure === 'row' ? (table.rowTotals[r] ?? 0) : (table.columnTotals[c] ?? 0);
    return percent(count, base);
  };
  const series = byRow ? table.column.codes : table.row.codes;
  const categories = byRow ? table.row.codes : table.column.codes;
  return {
    kind: 'grouped-bar',
    title,
    subtitle:
      measure === 'row' ? 'Row % (share of each row’s respondents)' : 'Column % (share of each column’s respondents)',
    unit: '%',
    max: 100,
    series: series.map((s) => s.label),
    categories: categories.map((category, k) => ({
      label: category.label,
      values: series.map((_, s) => {
        const value = byRow ? share(k, s) : share(s, k);
        return { value, display: formatPercent(value) };
      }),
    })),
  };
}

/** Ad-hoc cross-tabs: any question by any other, with its chi-square test, publication suppression and downloads. */
export interface CrosstabRoutesOptions {
  /** Every survey there is, asked each time: report.json's `compare` finds the earlier wave among them. */
  surveys: () => Iterable<Survey>;
}

export default async function crosstabRoutes(app: FastifyInstance, opts: CrosstabRoutesOptions) {
  /** Everything a cross-tab request needs, or undefined once the reply explains what is wrong. */
  const load = async (request: FastifyRequest, reply: FastifyReply, page: boolean) => {
    const { survey } = request;
    const raw = (request.query ?? {}) as Record<string, unknown>;
    const matrix = await matrixFor(app.db, survey);
    const variables = crosstabVariables(survey, matrix);
    const filters = parseFilters(survey, raw);
    const own = readQuery(new Set(variables.map((v) => v.id)), raw);
    const problems = [...(filters.ok ? [] : filters.problems), ...own.problems];
    if (problems.length) {
      if (page)
        await resultsPage(request, reply, 'admin/results/crosstabs.eta', 'crosstabs', {
          filters: { status: 'all' },
          problems,
          raw,
          variables,
          measures: MEASURES,
          form: { ...own.query, ...raw },
          presets: [],
        });
      else
        await renderAdminError(
          request,
          reply,
          400,
          'That cross-tab cannot be made',
          problems.map((p) => p.message).join('. '),
        );
      return undefined;
    }
    const f = (filters as { filters: Filters }).filters;
    const q = own.query;
    const table =
      q.row && q.column ? crosstab(survey, matrix, q.row, q.column, selectRows(matrix, survey, f)) : undefined;
    return { filters: f, q, table, variables, matrix };
  };

  app.get('/results/crosstabs', async (request, reply) => {
    const found = await load(request, reply, true);
    if (!found) return reply;
    const { survey } = request;
    const { filters, q, table, variables, matrix } = found;
    const base = `${surveyBase(survey)}/results/crosstabs`;
    const title = table ? `${table.row.label} by ${table.column.label}` : '';
    return resultsPage(request, reply, 'admin/results/crosstabs.eta', 'crosstabs', {
      filters,
      variables,
      measures: MEASURES,
      form: q,
      presets: crosstabPresets(survey).map((p) => ({
        href: `${base}${crosstabQuery(filters, { ...q, ...p })}`,
        text: `${variables.find((v) => v.id === p.row)?.label ?? p.row} by ${variables.find((v) => v.id === p.column)?.label ?? p.column}`,
      })),
      asOf: new Date(matrix.builtAt).toISOString(),
      table: table
        ? {
            title,
            model: table,
            view: crosstabView(table, q),
            chart: chartFigure(crosstabChart(table, q, title), { id: 'chart-crosstab', tableId: 'crosstab' }),
            measure: MEASURES.find((m) => m.value === q.measure)?.label,
            links: {
              csv: `${base}.csv${crosstabQuery(filters, q)}`,
              svg: `${base}.svg${crosstabQuery(filters, q)}`,
              png: `${base}.png${crosstabQuery(filters, q)}`,
              publish: `${base}${crosstabQuery(filters, q, { publish: !q.publish })}`,
              measures: MEASURES.map((m) => ({
                ...m,
                href: `${base}${crosstabQuery(filters, q, { measure: m.value })}`,
                current: m.value === q.measure,
              })),
              swap: `${base}${crosstabQuery(filters, { ...q, row: q.column, column: q.row })}`,
            },
          }
        : undefined,
    });
  });

  app.get<{ Params: { format: string } }>('/results/crosstabs.:format', async (request, reply) => {
    const format = request.params.format;
    if (format !== 'csv' && format !== 'svg' && format !== 'png')
      return renderAdminError(request, reply, 404, 'Page not found', 'There is no download with that name.');
    const found = await load(request, reply, false);
    if (!found) return reply;
    const { filters, q, table } = found;
    if (!table)
      return renderAdminError(
        request,
        reply,
        400,
        'That cross-tab cannot be made',
        'Choose both the rows and the columns.',
      );
    const name = `${fileStem(request.survey, filters)}-${table.row.id}-by-${table.column.id}`;
    if (format === 'csv') {
      download(reply, 'text/csv; charset=utf-8', `${name}.csv`);
      return reply.send(crosstabCsv(table, q));
    }
    const chart = crosstabChart(table, q, `${table.row.label} by ${table.column.label}`);
    return sendChart(
      reply,
      chartSvg({ ...chart, source: `Source: ${request.survey.title}. Made with Soundings.` }, { mode: 'standalone' }),
      name,
      format,
    );
  });

  app.get('/report.json', async (request, reply) => {
    const { survey } = request;
    const query = (request.query ?? {}) as Record<string, unknown>;
    const parsed = parseFilters(survey, query);
    const weight = parseWeightSettings(survey, query);
    const compare = parseCompare(opts.surveys(), survey, query);
    const problems = [
      ...(parsed.ok ? [] : parsed.problems),
      ...(weight.ok ? [] : weight.problems),
      ...(compare.ok ? [] : compare.problems),
    ];
    const pair = typeof query.crosstab === 'string' ? query.crosstab.split(',') : undefined;
    if (pair && pair.length !== 2)
      problems.push({ field: 'crosstab', message: 'Give two questions: crosstab=ROW,COLUMN' });
    if (problems.length || !parsed.ok || !weight.ok)
      return renderAdminError(
        request,
        reply,
        400,
        'That report cannot be made',
        problems.map((p) => p.message).join('. '),
      );
    try {
      const json = await reportJson(app.db, survey, parsed.filters, {
        ...(pair ? { crosstab: pair as [string, string] } : {}),
        ...(weight.settings ? { weight: weight.settings } : {}),
        ...(compare.ok && compare.previous ? { compare: compare.previous } : {}),
      });
      return reply.header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(json, null, 2));
    } catch (err) {
      if (!(err instanceof ReportRequestError)) throw err;
      return renderAdminError(request, reply, 400, 'That report cannot be made', err.message);
    }
  });
}

/** A cross-tab as tidy CSV: one row per cell, with its count, both percentages and both bases. */
export function crosstabCsv(table: Crosstab, q: CrosstabQuery): string {
  const suppressed = suppressTable(table.counts, { mode: q.publish ? 'publish' : 'analyst', threshold: q.threshold });
  const rows: (string | number)[][] = [];
  table.row.codes.forEach((row, r) => {
    table.column.codes.forEach((column, c) => {
      const count = table.counts[r]?.[c] ?? 0;
      const hidden = q.publish && suppressed.cells[r]?.[c]?.suppressed;
      const rowBase = table.rowTotals[r] ?? 0;
      const columnBase = table.columnTotals[c] ?? 0;
      rows.push([
        row.code,
        neutralise(row.label),
        column.code,
        neutralise(column.label),
        hidden ? SUPPRESSED : count,
        hidden ? SUPPRESSED : (percent(count, rowBase) ?? ''),
        hidden ? SUPPRESSED : (percent(count, columnBase) ?? ''),
        q.publish && rowBase > 0 && rowBase < q.threshold ? SUPPRESSED : rowBase,
        q.publish && columnBase > 0 && columnBase < q.threshold ? SUPPRESSED : columnBase,
      ]);
    });
  });
  return stringify(
    [
      [
        `${table.row.id}`,
        `${table.row.id}_label`,
        `${table.column.id}`,
        `${table.column.id}_label`,
        'count',
        'row_percent',
        'column_percent',
        'row_base',
        'column_base',
      ],
      ...rows,
    ],
    { bom: true },
  );
}
