import type { Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.

export async function up(db: Kysely<any>): Promise<void> {
  // Running counts of the analysis, per day the response was started...
  await db.schema
    .createTable('report_counts')
    .addColumn('survey', 'varchar(64)', (col) => col.notNull())
    .addColumn('status', 'varchar(16)', (col) => col.notNull())
    .addColumn('channel', 'varchar(32)', (col) => col.notNull())
    .addColumn('area', 'varchar(64)', (col) => col.notNull())
    .addColumn('day', 'varchar(10)', (col) => col.notNull())
    .addColumn('flagged', 'integer', (col) => col.notNull())
    .addColumn('metric', 'varchar(200)', (col) => col.notNull())
    .addColumn('n', 'bigint', (col) => col.notNull())
    .addPrimaryKeyConstraint('report_counts_pk', ['survey', 'status', 'channel', 'area', 'day', 'flagged', 'metric'])
    .execute();
  await db.schema.createIndex('report_counts_day').on('report_counts').columns(['survey', 'day']).execute();
  // ...and over all days, for every report without a date filter.
  await db.schema
    .createTable('report_totals')
    .addColumn('survey', 'varchar(64)', (col) => col.notNull())
    .addColumn('status', 'varchar(16)', (col) => col.notNull())
    .addColumn('channel', 'varchar(32)', (col) => col.notNull())
    .addColumn('area', 'varchar(64)', (col) => col.notNull())
    .addColumn('flagged', 'integer', (col) => col.notNull())
    .addColumn('metric', 'varchar(200)', (col) => col.notNull())
    .addColumn('n', 'bigint', (col) => col.notNull())
    .addPrimaryKeyConstraint('report_totals_pk', ['survey', 'status', 'channel', 'area', 'flagged', 'metric'])
    .execute();
  // ...and per day without channel or area, for reports filtered by date alone.
  await db.schema
    .createTable('report_days')
    .addColumn('survey', 'varchar(64)', (col) => col.notNull())
    .addColumn('status', 'varchar(16)', (col) => col.notNull())
    .addColumn('day', 'varchar(10)', (col) => col.notNull())
    .addColumn('flagged', 'integer', (col) => col.notNull())
    .addColumn('metric', 'varchar(200)', (col) => col.notNull())
    .addColumn('n', 'bigint', (col) => col.notNull())
    .addPrimaryKeyConstraint('report_days_pk', ['survey', 'day', 'status', 'flagged', 'metric'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('report_days').execute();
  await db.schema.dropTable('report_totals').execute();
  await db.schema.dropTable('report_counts').execute();
}
