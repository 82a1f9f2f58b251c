import type { Kysely, Transaction } from 'kysely';
import { isSqlite } from '../db/dialect.ts';
import { reusable } from '../db/reusable.ts';
import type { Database } from '../db/schema.ts';
import type { Contribution, Dims } from './metrics.ts';
import { type CountsTable, type DimName, ROLLUPS } from './tables.ts';

type CountRow = Partial<Dims> & { metric: string; n: number };

/**
 * Moves of responses' counts, added up in memory, then written to every
 * rollup in one go: the one way the running counts change (a page saved, an
 * import, a purge, a recount).
 */
export class CountSheet {
  /** Per rollup, its rows by their dimensions' values (joined) and then by metric. */
  private readonly tables = new Map<CountsTable, Map<string, Map<string, CountRow>>>(
    ROLLUPS.map((r) => [r.table, new Map()]),
  );
  /** What was added to which row, in order, while a journal is kept (see mark). */
  private journal: { row: CountRow; n: number }[] | undefined;
  /** Surveys whose responses changed: their survey_changes counter moves when the sheet is written. */
  private readonly touched = new Set<string>();

  /** Marks a survey's responses as changed even where no count moves (an excluded response saved). */
  touch(survey: string) {
    this.touched.add(survey);
  }

  /** Adds `sign` times the metrics under the dimensions (1 for a new response, -1 for an erased one). */
  add(dims: Dims, metrics: readonly string[], sign: number) {
    for (const rollup of ROLLUPS) this.addTo(rollup, dims, metrics, sign);
  }

  /**
   * Moves a response from what it counted for before to what it counts for
   * now (null: nothing, for a new or an erased response). Where a rollup
   * keeps the same dimensions for both, only the metrics that changed move.
   */
  record(before: Contribution | null, after: Contribution | null) {
    if (!before || !after) {
      if (before) this.add(before.dims, before.metrics, -1);
      if (after) this.add(after.dims, after.metrics, 1);
      return;
    }
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

  /** Starts keeping a journal of what is added and returns where it stands: undo(mark) takes back what came since. */
  mark(): number {
    this.journal ??= [];
    return this.journal.length;
  }

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

  /**
   * Adds the sheet's counts to those kept. Rows go in one order in every
   * transaction, so two writers on PostgreSQL wait for each other rather than
   * deadlock.
   */
  async write(db: Kysely<Database> | Transaction<Database>) {
    // SQLite: statements of a few sizes, each prepared once; PostgreSQL: as few round trips as possible.
    const sqlite = isSqlite(db as Kysely<unknown>);
    for (const [table, add] of ADD_COUNTS) {
      const rows = this.rowsOf(table);
      const parts = sqlite ? chunks(rows.length) : slices(rows.length, 1000);
      for (const [from, to] of parts) await add(db, rows.slice(from, to));
    }
    for (const survey of [...this.touched].sort()) await moveVersion(db, survey);
  }

  private addTo({ table, dims: kept }: (typeof ROLLUPS)[number], dims: Dims, metrics: readonly string[], n: number) {
    this.touched.add(dims.survey);
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
        row = { metric: m, n: 0 };
        for (const d of kept) (row as Record<string, unknown>)[d] = dims[d];
        rows.set(m, row);
      }
      row.n += n;
      this.journal?.push({ row, n });
    }
  }
}

/** The metrics in `before` and not in `after` (gone), and the other way about (came), as multisets. */
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
 * Adds rows of counts to a rollup's, compiled once per number of rows (see
 * reusable): every row has its metric, its count and the rollup's dimensions,
 * none null.
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

const moveVersion = reusable((db: Kysely<Database>, survey: string) =>
  db
    .insertInto('survey_changes')
    .values({ survey, version: 1 })
    .onConflict((oc) => oc.column('survey').doUpdateSet((eb) => ({ version: eb('survey_changes.version', '+', 1) }))),
);

/** A survey's changes counter: it moves whenever its responses or their counts change. */
export async function surveyVersion(db: Kysely<Database> | Transaction<Database>, survey: string): Promise<number> {
  const row = await db.selectFrom('survey_changes').select('version').where('survey', '=', survey).executeTakeFirst();
  return Number(row?.version ?? 0);
}

/** [from, to) of `count` rows in slices of `size`. */
function slices(count: number, size: number): [number, number][] {
  const out: [number, number][] = [];
  for (let at = 0; at < count; at += size) out.push([at, Math.min(count, at + size)]);
  return out;
}

/** Most count rows in one statement on SQLite. */
const CHUNK_ROWS = 32;

/** `count` rows in statements of CHUNK_ROWS rows and then of powers of two: at most six sizes, each prepared once. */
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
