import type { Kysely } from 'kysely';
import { clusteredByKey } from '../src/db/dialect.ts';

// Frozen: never edit a migration that has shipped; add a new one.

// A report sums a rollup's counts by metric and status (see sumCounts in
// src/analysis/report.ts). Keyed as in 06, dimensions first, report_totals and
// report_days kept each metric's rows apart, so SQLite sorted every row a
// report read (22,000 for an unfiltered report at 1M responses, each also
// looked up from the key's index in the table): about 10 ms, most of the
// report's time. Keyed here by survey, metric and status first, their rows are
// read in the order they are summed, the other dimensions filtered on the way,
// with nothing to sort: about 3 ms. They are clustered by their key (on
// SQLite WITHOUT ROWID, see src/db/dialect.ts): one B-tree read instead of
// two, and a count upsert touches one B-tree instead of two (a little cheaper). A date
// filter now reads every day of the survey rather than the days in range, but
// unsorted (for a month's survey and a fortnight, 4 ms instead of 9). The
// upserts' conflict targets are the same sets of columns, so what writes the
// counts is unchanged. PostgreSQL sums by hashing, whatever the key's order:
// its keys change only to keep both engines alike. Both engines rebuild the
// tables the same way (a new table, the rows copied, the old one dropped). report_counts, for date
// filters with channel or area, keeps its layout.

const TOTALS = ['survey', 'status', 'channel', 'area', 'flagged', 'metric'] as const;
const DAYS = ['survey', 'status', 'day', 'flagged', 'metric'] as const;
const TOTALS_BY_METRIC = ['survey', 'metric', 'status', 'channel', 'area', 'flagged'];
const DAYS_BY_METRIC = ['survey', 'metric', 'status', 'day', 'flagged'];
// The keys of 06, to go back down to.
const TOTALS_06 = [...TOTALS];
const DAYS_06 = ['survey', 'day', 'status', 'flagged', 'metric'];

export async function up(db: Kysely<any>): Promise<void> {
  await atomically(db, async (trx) => {
    await rekey(trx, 'report_totals', TOTALS_BY_METRIC, 'report_totals_by_metric_pk', true);
    await rekey(trx, 'report_days', DAYS_BY_METRIC, 'report_days_by_metric_pk', true);
  });
}

export async function down(db: Kysely<any>): Promise<void> {
  await atomically(db, async (trx) => {
    await rekey(trx, 'report_totals', TOTALS_06, 'report_totals_pk', false);
    await rekey(trx, 'report_days', DAYS_06, 'report_days_pk', false);
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

/**
 * Gives a rollup a new primary key, keeping its rows: neither engine can
 * change a key in place the same way, so make the new table, copy, swap. The
 * key's constraint takes a name the old table's does not have (PostgreSQL
 * names the key's index after it, and index names are unique).
 */
async function rekey(
  db: Kysely<any>,
  table: 'report_totals' | 'report_days',
  key: string[],
  constraint: string,
  clustered: boolean,
) {
  const rebuilt = `${table}_rekeyed`;
  const columns = table === 'report_totals' ? TOTALS : DAYS;
  const create = columns
    .reduce(
      (builder, column) => builder.addColumn(column, COLUMN_TYPES[column], (col) => col.notNull()),
      db.schema.createTable(rebuilt),
    )
    .addColumn('n', 'bigint', (col) => col.notNull())
    // The builder types its columns as they are added; these are the ones above.
    .addPrimaryKeyConstraint(constraint, key as never[]);
  await (clustered ? clusteredByKey(db, create) : create).execute();
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
