import { type CreateTableBuilder, type Kysely, SqliteAdapter, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.

// Two changes to the running counts of 06 (see src/analysis/counts.ts), for
// the speed of both their readers and their writers.
//
// A fourth, smallest rollup, report_summary: the counts by status and flag
// alone (a few thousand rows at any number of responses), which is all an
// unfiltered report, or one filtered by status or flag, needs. Without it such
// a report summed report_totals (22,000 rows at 1M responses), sorting them by
// metric first: about 10 ms, most of the report's time.
//
// report_totals and report_days keep 06's keys, dimensions first, and are
// clustered by them (on SQLite WITHOUT ROWID): one
// B-tree to read and write instead of the table and its key's index. Keyed
// dimensions first, the rows one page save moves (every metric of one
// response, under its status, channel, area, day and flag) lie side by side
// on a page or two; keyed metric first they were spread over dozens, each
// written to the log at every save (measured: 12% fewer whole journeys a
// second). report_counts, for date filters with channel or area, keeps its
// layout. Both engines rebuild the tables the same way (a new table, the rows
// copied, the old one dropped); on PostgreSQL the layout is as before.

const TOTALS = ['survey', 'status', 'channel', 'area', 'flagged', 'metric'] as const;
const DAYS_COLUMNS = ['survey', 'status', 'day', 'flagged', 'metric'] as const;
const DAYS_KEY = ['survey', 'day', 'status', 'flagged', 'metric'];
const SUMMARY = ['survey', 'status', 'flagged', 'metric'] as const;

export async function up(db: Kysely<any>): Promise<void> {
  await atomically(db, async (trx) => {
    await rebuild(trx, 'report_totals', TOTALS, [...TOTALS], 'report_totals_clustered_pk', true);
    await rebuild(trx, 'report_days', DAYS_COLUMNS, DAYS_KEY, 'report_days_clustered_pk', true);
    await create(trx, 'report_summary', SUMMARY, [...SUMMARY], 'report_summary_pk', true);
    await trx
      .insertInto('report_summary')
      .columns([...SUMMARY, 'n'])
      .expression(
        trx
          .selectFrom('report_totals')
          .select([...SUMMARY, (eb) => eb.fn.sum('n').as('n')])
          .groupBy([...SUMMARY]),
      )
      .execute();
  });
}

export async function down(db: Kysely<any>): Promise<void> {
  await atomically(db, async (trx) => {
    await trx.schema.dropTable('report_summary').execute();
    await rebuild(trx, 'report_totals', TOTALS, [...TOTALS], 'report_totals_pk', false);
    await rebuild(trx, 'report_days', DAYS_COLUMNS, DAYS_KEY, 'report_days_pk', false);
  });
}

/**
 * In one transaction: Kysely runs migrations in one on PostgreSQL, but not on
 * SQLite, where a rebuild stopped half-way would otherwise lose a table.
 */
async function atomically(db: Kysely<any>, work: (trx: Kysely<any>) => Promise<void>) {
  if (db.isTransaction) await work(db);
  else await db.transaction().execute(work);
}

/** A table of counts: the columns given (all not null), then n; its primary key named. */
async function create(
  db: Kysely<any>,
  table: string,
  columns: readonly (keyof typeof COLUMN_TYPES)[],
  key: string[],
  constraint: string,
  clustered: boolean,
) {
  const builder = columns
    .reduce(
      (builder, column) => builder.addColumn(column, COLUMN_TYPES[column], (col) => col.notNull()),
      db.schema.createTable(table),
    )
    .addColumn('n', 'bigint', (col) => col.notNull())
    // The builder types its columns as they are added; these are the ones above.
    .addPrimaryKeyConstraint(constraint, key as never[]);
  await (clustered ? clusteredByKey(db, builder) : builder).execute();
}

/**
 * Rebuilds a rollup, keeping its rows: neither engine can cluster a table in
 * place the same way, so make the new table, copy, swap. The key's constraint
 * takes a name the old table's does not have (PostgreSQL names the key's
 * index after it, and index names are unique).
 */
async function rebuild(
  db: Kysely<any>,
  table: 'report_totals' | 'report_days',
  columns: readonly (keyof typeof COLUMN_TYPES)[],
  key: string[],
  constraint: string,
  clustered: boolean,
) {
  const rebuilt = `${table}_rebuilt`;
  await create(db, rebuilt, columns, key, constraint, clustered);
  await db
    .insertInto(rebuilt)
    .columns([...columns, 'n'])
    .expression(db.selectFrom(table).select([...columns, 'n']))
    .execute();
  await db.schema.dropTable(table).execute();
  await db.schema.alterTable(rebuilt).renameTo(table).execute();
}

const COLUMN_TYPES = {
  survey: 'varchar(64)',
  status: 'varchar(16)',
  channel: 'varchar(32)',
  area: 'varchar(64)',
  day: 'varchar(10)',
  flagged: 'integer',
  metric: 'varchar(200)',
} as const;

/** A table stored as its primary key's own B-tree: WITHOUT ROWID on SQLite; PostgreSQL has no such option. */
function clusteredByKey<T extends CreateTableBuilder<string, string>>(db: Kysely<any>, table: T): T {
  return db.getExecutor().adapter instanceof SqliteAdapter ? (table.modifyEnd(sql`without rowid`) as T) : table;
}
