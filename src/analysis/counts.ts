import type { Kysely, Transaction } from 'kysely';
import { isSqlite, lockAgainstWriters } from '../db/dialect.ts';
import { reusable } from '../db/reusable.ts';
import type { Database, ResponseRow } from '../db/schema.ts';
import { responseBatches } from '../responses/batches.ts';
import type { Survey } from '../survey/definition.ts';
import { postcodeDistrict } from '../survey/formats.ts';
import { type Answers, journey, type Values } from '../survey/journey.ts';

// The analysis is kept as running counts, updated in the same transaction as
// each answer, so that a report over a million responses sums a few thousand
// rows instead of grouping fifteen million.
//
// A response contributes 1 to each of its "metrics" (a code given to a
// question, a page submitted, a cell of a cross-tab...) under its dimensions
// (status, channel, area, the day it was started, whether it is flagged): the
// filters an analyst can apply. Counts are kept four times (ROLLUPS): by
// status and flag alone, for reports filtered by nothing else; over all days,
// for reports without a date filter; per day without channel or area, for
// date filters; and with every dimension, for any combination of filters. A
// report reads the smallest that has the dimensions it filters on. Each is
// keyed by its dimensions first, then the metric (migrations 06 and 08), so
// that the rows one save moves lie side by side.

/** The filterable facts of a response, under which its metrics are counted. */
export interface Dims {
  survey: string;
  status: 'complete' | 'partial';
  channel: string;
  /** The area code, or '' when not answered. */
  area: string;
  /** YYYY-MM-DD of started_at. */
  day: string;
  /** 1 when the response is flagged as suspicious, else 0. */
  flagged: number;
}

/** What a response counts for: its dimensions and its metrics. */
export interface Contribution {
  dims: Dims;
  metrics: string[];
}

/** Metric names. `|` separates parts; codes never contain it. */
export const metric = {
  /** One per response, by its channel (the channels table needs it where channel is not a dimension). */
  responses: (channel: string) => `n|${channel}`,
  page: (page: string) => `p|${page}`,
  answered: (question: string) => `a|${question}`,
  value: (question: string, code: string) => `v|${question}|${code}`,
  groupAnswered: (question: string, group: string) => `ga|${question}|${group}`,
  groupValue: (question: string, group: string, code: string) => `gv|${question}|${group}|${code}`,
  ranksAnswered: 'ra',
  rankValue: (code: string) => `rv|${code}`,
  cross: (table: string, row: string, col: string) => `x|${table}|${row}|${col}`,
};

/** The name of a cross-tab: `<question>_by_<dimension>`, a postcode question by district. */
export function crossTabName(survey: Survey, question: string, dimension: string): string {
  return `${question}_by_${isPostcode(survey, dimension) ? `${dimension}_district` : dimension}`;
}

function isPostcode(survey: Survey, id: string): boolean {
  return survey.questionsById.get(id)?.some((q) => q.type === 'text' && q.format === 'postcode') ?? false;
}

/** The metrics a response counts for, from the values on its route and the pages it submitted. */
export function metricsOf(survey: Survey, channel: string, values: Values, pages: Iterable<string>): string[] {
  const out = [metric.responses(channel)];
  for (const page of pages) out.push(metric.page(page));
  const list = (id: string) => {
    const value = values[id];
    return value === undefined ? [] : Array.isArray(value) ? value : [value];
  };
  for (const [id, questions] of survey.questionsById) {
    const codes = list(id);
    if (!codes.length) continue;
    const groupBy = questions.find((q) => q.groupBy)?.groupBy;
    if (groupBy) {
      const group = values[groupBy];
      if (typeof group !== 'string') continue;
      out.push(metric.groupAnswered(id, group));
      for (const code of codes) out.push(metric.groupValue(id, group, code));
    } else {
      out.push(metric.answered(id));
      for (const code of codes) out.push(metric.value(id, code));
    }
  }
  const analysis = survey.analysis;
  if (!analysis) return out;
  const ranked = new Set(analysis.ranks.flatMap(list));
  if (ranked.size) out.push(metric.ranksAnswered);
  for (const code of ranked) out.push(metric.rankValue(code));
  if (analysis.crosstabs) {
    const { question, by } = analysis.crosstabs;
    for (const row of list(question)) {
      for (const dimension of by) {
        for (const col of list(dimension)) {
          const cell = isPostcode(survey, dimension) && col !== 'prefer_not_to_say' ? postcodeDistrict(col) : col;
          out.push(metric.cross(crossTabName(survey, question, dimension), row, cell));
        }
      }
    }
  }
  return out;
}

/** The dimensions of a response row and its values. */
export function dimsOf(
  survey: Survey,
  row: { survey: string; status: 'complete' | 'partial'; channel: string; started_at: string; flag?: string | null },
  values: Values,
): Dims {
  const areaQuestion = survey.analysis?.area;
  const area = areaQuestion ? values[areaQuestion] : undefined;
  return {
    survey: row.survey,
    status: row.status,
    channel: row.channel,
    area: typeof area === 'string' ? area : '',
    day: row.started_at.slice(0, 10),
    flagged: row.flag ? 1 : 0,
  };
}

type Db = Kysely<Database> | Transaction<Database>;

type DimName = keyof Dims;
export type CountsTable = 'report_summary' | 'report_totals' | 'report_days' | 'report_counts';

/** The tables the counts are kept in, smallest first, with the dimensions each keeps. */
export const ROLLUPS: { table: CountsTable; dims: DimName[] }[] = [
  { table: 'report_summary', dims: ['survey', 'status', 'flagged'] },
  { table: 'report_totals', dims: ['survey', 'status', 'channel', 'area', 'flagged'] },
  { table: 'report_days', dims: ['survey', 'status', 'day', 'flagged'] },
  { table: 'report_counts', dims: ['survey', 'status', 'channel', 'area', 'day', 'flagged'] },
];

type CountRow = Partial<Dims> & { metric: string; n: number };

/**
 * The metrics in `before` and not in `after` (gone), and the other way about
 * (came). A response counts for a metric at most once, but the lists are
 * compared as multisets all the same.
 */
function metricsChanged(before: readonly string[], after: readonly string[]): { gone: string[]; came: string[] } {
  const delta = new Map<string, number>();
  for (const m of before) delta.set(m, (delta.get(m) ?? 0) - 1);
  for (const m of after) delta.set(m, (delta.get(m) ?? 0) + 1);
  const gone: string[] = [];
  const came: string[] = [];
  for (const [m, n] of delta) {
    for (let i = n; i < 0; i++) gone.push(m);
    for (let i = n; i > 0; i--) came.push(m);
  }
  return { gone, came };
}

/**
 * Adds rows of counts to a rollup's (compiled once per number of rows: see
 * reusable). Every row has its metric, its count and the rollup's dimensions,
 * in that order, none of them null: one shape per number of rows.
 */
const ADD_COUNTS = new Map(
  ROLLUPS.map(({ table, dims }) => [
    table,
    reusable(
      (db: Kysely<Database>, rows: CountRow[]) =>
        (db as Kysely<any>)
          .insertInto(table)
          .values(rows)
          .onConflict((oc: any) =>
            oc
              .columns([...dims, 'metric'])
              .doUpdateSet((eb: any) => ({ n: eb(`${table}.n`, '+', eb.ref('excluded.n')) })),
          ),
      (values, rows) => {
        for (const row of rows) {
          values.push(row.metric, row.n);
          for (const d of dims) values.push(row[d]);
        }
        return String(rows.length);
      },
    ),
  ]),
);

/** Adds metric counts under dimensions into each rollup's rows, keyed for merging. */
export class CountSheet {
  /** Per rollup, its rows by their dimensions' values (joined) and then by metric. */
  private readonly tables = new Map<CountsTable, Map<string, Map<string, CountRow>>>(
    ROLLUPS.map((r) => [r.table, new Map()]),
  );
  /** What was added to which row, in order, while a journal is kept (see mark). */
  private journal: { row: CountRow; n: number }[] | undefined;

  add(dims: Dims, metrics: readonly string[], sign: number) {
    for (const rollup of ROLLUPS) this.addTo(rollup, dims, metrics, sign);
  }

  /**
   * Moves a response from what it counted for before to what it counts for
   * now. Where a rollup keeps the same dimensions for both (a page saved
   * without changing the area, the status or the flag), only the metrics
   * that changed are touched: most of a response's metrics stay as they were.
   */
  move(before: Contribution, after: Contribution) {
    // The metrics that changed, worked out once for every rollup whose dimensions stayed.
    let changed: { gone: string[]; came: string[] } | undefined;
    for (const rollup of ROLLUPS) {
      if (rollup.dims.every((d) => before.dims[d] === after.dims[d])) {
        changed ??= metricsChanged(before.metrics, after.metrics);
        this.addTo(rollup, after.dims, changed.gone, -1);
        this.addTo(rollup, after.dims, changed.came, 1);
      } else {
        this.addTo(rollup, before.dims, before.metrics, -1);
        this.addTo(rollup, after.dims, after.metrics, 1);
      }
    }
  }

  /** Adds the move of a response's counts from `before` to `after` (null: nothing) to the sheet. */
  record(before: Contribution | null, after: Contribution | null) {
    if (before && after) this.move(before, after);
    else if (before) this.add(before.dims, before.metrics, -1);
    else if (after) this.add(after.dims, after.metrics, 1);
  }

  /**
   * Starts keeping a journal of what is added (if not kept yet) and returns
   * where it stands now: undo(mark) takes back everything added since.
   */
  mark(): number {
    this.journal ??= [];
    return this.journal.length;
  }

  /** Takes back what was added since `mark` (see mark). */
  undo(mark: number) {
    const journal = this.journal ?? [];
    for (let i = journal.length - 1; i >= mark; i--) {
      const { row, n } = journal[i] as { row: CountRow; n: number };
      row.n -= n;
    }
    journal.length = Math.min(journal.length, mark);
  }

  /** A rollup's rows with a count other than 0, in one order (by dimensions, then metric). */
  rowsOf(table: CountsTable): CountRow[] {
    const byDims = this.tables.get(table) as Map<string, Map<string, CountRow>>;
    const out: CountRow[] = [];
    for (const dims of [...byDims.keys()].sort()) {
      const byMetric = byDims.get(dims) as Map<string, CountRow>;
      for (const m of [...byMetric.keys()].sort()) {
        const row = byMetric.get(m) as CountRow;
        if (row.n !== 0) out.push(row);
      }
    }
    return out;
  }

  private addTo({ table, dims: kept }: (typeof ROLLUPS)[number], dims: Dims, metrics: readonly string[], n: number) {
    if (!metrics.length) return;
    let prefix = String(dims[kept[0] as DimName]);
    for (let i = 1; i < kept.length; i++) prefix += `\u0000${dims[kept[i] as DimName]}`;
    const byDims = this.tables.get(table) as Map<string, Map<string, CountRow>>;
    let rows = byDims.get(prefix);
    if (!rows) {
      rows = new Map();
      byDims.set(prefix, rows);
    }
    for (const m of metrics) {
      let row = rows.get(m);
      if (!row) {
        // Built field by field: spreading a projection of the dimensions was most of a page save's time here.
        row = { metric: m, n: 0 };
        for (const d of kept) (row as Record<string, unknown>)[d] = dims[d];
        rows.set(m, row);
      }
      row.n += n;
      this.journal?.push({ row, n });
    }
  }

  /**
   * Writes the sheet's counts, adding them to those already kept. Rows are
   * written in one order (see rowsOf) in every transaction, so two
   * transactions updating the same counts at once on PostgreSQL wait for
   * each other rather than deadlock.
   */
  async write(db: Db) {
    // On PostgreSQL each statement is a round trip made while holding the locks of the rows written so far (the
    // counts every save moves): as few as possible (a save's up to 64 rows compile once per size, larger sheets
    // each time: see reusable). On SQLite, statements of a few sizes, each prepared once.
    const sqlite = isSqlite(db as Kysely<unknown>);
    for (const [table, add] of ADD_COUNTS) {
      const rows = this.rowsOf(table);
      const parts = sqlite ? chunks(rows.length) : slices(rows.length, 1000);
      for (const [from, to] of parts) await add(db, rows.slice(from, to));
    }
  }
}

/** [from, to) of `count` rows in slices of `size`. */
function slices(count: number, size: number): [number, number][] {
  const out: [number, number][] = [];
  for (let at = 0; at < count; at += size) out.push([at, Math.min(count, at + size)]);
  return out;
}

/** Most count rows in one statement on SQLite. */
const CHUNK_ROWS = 32;

/**
 * Splits `count` rows into statements of CHUNK_ROWS rows and then of powers
 * of two: each size is a query compiled and prepared once and kept (see
 * reusable), so however many rows a sheet has, a rollup's statements come in
 * at most six sizes.
 */
export function chunks(count: number): [number, number][] {
  const out: [number, number][] = [];
  let at = 0;
  while (count - at >= CHUNK_ROWS) {
    out.push([at, at + CHUNK_ROWS]);
    at += CHUNK_ROWS;
  }
  for (let size = CHUNK_ROWS / 2; size >= 1; size /= 2) {
    if (count - at >= size) {
      out.push([at, at + size]);
      at += size;
    }
  }
  return out;
}

/**
 * Moves a response's counts from what it counted for before (null: nothing)
 * to what it counts for now (null: nothing, when it is erased). Metrics
 * unchanged under unchanged dimensions cost nothing.
 */
export async function applyContribution(db: Db, before: Contribution | null, after: Contribution | null) {
  const sheet = new CountSheet();
  sheet.record(before, after);
  await sheet.write(db);
}

/** What a stored response counts for now: its row, its route values and its pages. */
export async function storedContribution(db: Db, survey: Survey, id: string): Promise<Contribution | null> {
  const row = await db.selectFrom('responses').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? contributionOf(survey, row) : null;
}

/** What a response row counts for. */
export function contributionOf(survey: Survey, row: ResponseRow): Contribution {
  // The stored answers are what response_values and response_pages were written from: one read, not three.
  const route = journey(survey, JSON.parse(row.answers) as Answers);
  return routeContribution(survey, row, route);
}

/** What a response row counts for with the given route. */
export function routeContribution(
  survey: Survey,
  row: Parameters<typeof dimsOf>[1],
  route: { answers: Answers; values: Values },
): Contribution {
  return {
    dims: dimsOf(survey, row, route.values),
    metrics: metricsOf(survey, row.channel, route.values, Object.keys(route.answers)),
  };
}

/** Rebuilds route values from response_values rows (multi-choice questions as lists). */
export function valuesFromRows(survey: Survey, rows: { question_id: string; value: string }[]): Values {
  const values: Values = {};
  for (const { question_id, value } of rows) {
    const multiple = survey.questionsById.get(question_id)?.some((q) => q.type === 'multiple');
    if (multiple) values[question_id] = [...((values[question_id] as string[] | undefined) ?? []), value];
    else values[question_id] = value;
  }
  return values;
}

/**
 * Recounts a survey from its stored responses, replacing its running counts:
 * for data written before the counts existed, after a bulk change such as a
 * purge, or to repair. Reads the responses in batches, so memory stays flat.
 * Returns how many responses were counted (see recountSurvey).
 */
export async function rebuildCounts(db: Kysely<Database>, survey: Survey, batch = 5000): Promise<number> {
  return (await recountSurvey(db, survey, batch)).responses;
}

/**
 * rebuildCounts, also telling whether the counts it replaced differed from
 * the recount (rows counting 0 are the same as no row).
 *
 * It runs as one transaction, so the responses read and the counts written
 * agree even while respondents are saving answers. On SQLite the transaction
 * holds the write lock from the start (BEGIN IMMEDIATE), so no save can come
 * between the read and the replace. PostgreSQL lets others write meanwhile,
 * so the transaction first takes the responses table's write lock
 * (lockAgainstWriters): every save writes its response before its counts, so
 * a save that began before the recount is waited for and counted, and one
 * that comes later (a draft started, too) waits for the recount to commit and
 * then moves the new counts. (Locking the survey's responses row by row, as
 * this once did, deadlocked with a transaction of saves holding one draft and
 * wanting another: see save-batches.ts.)
 */
export async function recountSurvey(
  db: Kysely<Database>,
  survey: Survey,
  batch = 5000,
): Promise<{ responses: number; changed: boolean }> {
  return db.transaction().execute(async (trx) => {
    await lockAgainstWriters(trx, 'responses');
    const kept = new Map<string, number>();
    for (const { table, dims } of ROLLUPS) {
      const rows = (await (trx as Kysely<any>)
        .deleteFrom(table)
        .where('survey', '=', survey.slug)
        .returningAll()
        .execute()) as CountRow[];
      for (const row of rows) if (Number(row.n) !== 0) kept.set(countKey(table, dims, row), Number(row.n));
    }

    const sheet = new CountSheet();
    let responses = 0;
    for await (const rows of responseBatches(trx, survey.slug, batch)) {
      const ids = rows.map((r) => r.id);
      const valueRows = await trx
        .selectFrom('response_values')
        .select(['response_id', 'question_id', 'value'])
        .where('response_id', 'in', ids)
        .execute();
      const pageRows = await trx
        .selectFrom('response_pages')
        .select(['response_id', 'page_id'])
        .where('response_id', 'in', ids)
        .execute();
      const valuesBy = new Map<string, { question_id: string; value: string }[]>();
      for (const v of valueRows) {
        const list = valuesBy.get(v.response_id);
        if (list) list.push(v);
        else valuesBy.set(v.response_id, [v]);
      }
      const pagesBy = new Map<string, string[]>();
      for (const p of pageRows) {
        const list = pagesBy.get(p.response_id);
        if (list) list.push(p.page_id);
        else pagesBy.set(p.response_id, [p.page_id]);
      }
      for (const row of rows) {
        const values = valuesFromRows(survey, valuesBy.get(row.id) ?? []);
        sheet.add(dimsOf(survey, row, values), metricsOf(survey, row.channel, values, pagesBy.get(row.id) ?? []), 1);
      }
      responses += rows.length;
    }

    let changed = false;
    let recounted = 0;
    for (const { table, dims } of ROLLUPS) {
      for (const row of sheet.rowsOf(table)) {
        recounted++;
        if (kept.get(countKey(table, dims, row)) !== row.n) changed = true;
      }
    }
    if (recounted !== kept.size) changed = true;
    await sheet.write(trx);
    return { responses, changed };
  });
}

/** A count row's table, dimensions and metric as one string, to compare counts kept with counts recounted. */
function countKey(table: CountsTable, dims: readonly DimName[], row: CountRow): string {
  return [table, ...dims.map((d) => String(row[d])), row.metric].join('\u0000');
}
